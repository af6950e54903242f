package dev.tokenwise.providers.pricing;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.cfg.JsonNodeFeature;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.tokenwise.core.config.ConfigException;
import dev.tokenwise.core.model.ModelPrice;
import dev.tokenwise.core.model.Rates;
import dev.tokenwise.core.model.ServiceTier;
import dev.tokenwise.core.spi.PriceCatalog;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * A {@link PriceCatalog} read from a YAML file of list prices in USD per million tokens, converted
 * exactly (through {@link BigDecimal}, never {@code double}) to nano-USD per million tokens.
 *
 * <pre>{@code
 * # USD per million tokens.
 * checked: 2026-11-28
 * models:
 *   gpt-4o-mini: {input_per_mtok: 0.15, output_per_mtok: 0.60, cached_input_per_mtok: 0.075, max_output_tokens: 16384}
 * }</pre>
 *
 * The fields of a price are those of {@link #parsePrice(Map, String)}: base rates, input-size tiers, service tiers,
 * region uplifts and the date the entry was checked (the file's {@code checked:} when it names none). {@link #find} tries the exact
 * id, then the id without a trailing date ({@code gpt-4o-mini-2024-07-18}, {@code gpt-4-0613}), then
 * both again without a provider prefix ({@code openai/gpt-4o}); a dated snapshot priced differently
 * from its alias is listed under its full id and wins.
 *
 * <pre>{@code
 * PriceCatalog catalog = YamlPriceCatalog.load(Path.of("config/prices.yaml"));
 * long costNanos = catalog.find("gpt-4o-mini-2024-07-18").map(p -> p.costNanos(usage)).orElse(0L);
 * }</pre>
 */
public final class YamlPriceCatalog implements PriceCatalog {

    /** Required: USD per million uncached prompt tokens. */
    public static final String INPUT = "input_per_mtok";
    /** Required: USD per million completion tokens. */
    public static final String OUTPUT = "output_per_mtok";
    /** USD per million prompt tokens read from cache; defaults to {@value #INPUT}. */
    public static final String CACHED_INPUT = "cached_input_per_mtok";
    /** USD per million prompt tokens written to cache; defaults to {@value #INPUT}. */
    public static final String CACHE_WRITE = "cache_write_per_mtok";
    /** USD per million reasoning tokens; defaults to {@value #OUTPUT}. */
    public static final String REASONING = "reasoning_per_mtok";
    /** USD per million prompt tokens written to cache for one hour; defaults to {@value #CACHE_WRITE}. */
    public static final String CACHE_WRITE_1H = "cache_write_1h_per_mtok";
    /** The model's output cap in tokens; defaults to 0, unknown. */
    public static final String MAX_OUTPUT_TOKENS = "max_output_tokens";
    /** Input-size tiers: a map of prompt-token threshold to rates that apply above it. */
    public static final String ABOVE_INPUT = "above_input_tokens";
    /** Service tiers: a map of {@code flex}, {@code priority} or {@code batch} to {@code {multiplier: x}} or rates. */
    public static final String SERVICE_TIERS = "service_tiers";
    /** A service tier's multiplier of the standard rates. */
    public static final String MULTIPLIER = "multiplier";
    /** Region uplifts: a map of region name to multiplier. */
    public static final String REGIONS = "regions";
    /** The date the entry was checked against the provider, e.g. {@code 2026-11-28}. */
    public static final String CHECKED = "checked";

    private static final List<String> RATE_FIELDS = List.of(INPUT, OUTPUT, CACHED_INPUT, CACHE_WRITE, CACHE_WRITE_1H,
            REASONING);
    private static final Set<String> FIELDS = Set.of(INPUT, OUTPUT, CACHED_INPUT, CACHE_WRITE, CACHE_WRITE_1H, REASONING,
            MAX_OUTPUT_TOKENS, ABOVE_INPUT, SERVICE_TIERS, REGIONS, CHECKED);
    private static final Set<String> TIER_FIELDS = Set.of(INPUT, OUTPUT, CACHED_INPUT, CACHE_WRITE, CACHE_WRITE_1H,
            REASONING, ABOVE_INPUT);
    private static final Set<String> TOP_LEVEL_KEYS = Set.of("checked", "models");
    private static final String PRICE_EXPECTED = "a decimal number of USD per million tokens, >= 0, at most 9 decimals";

    private static final YAMLMapper MAPPER = YAMLMapper.builder()
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
            // Keep 0.60 as written, so that errors quote the file.
            .configure(JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES, false)
            .build();

    private static final YamlPriceCatalog EMPTY = new YamlPriceCatalog(Map.of(), null);

    private final Map<String, ModelPrice> prices;
    private final LocalDate checked;

    /** A catalog of the given prices (a copy, in iteration order), e.g. for tests. */
    public YamlPriceCatalog(Map<String, ModelPrice> prices) {
        this(prices, null);
    }

    private YamlPriceCatalog(Map<String, ModelPrice> prices, LocalDate checked) {
        Objects.requireNonNull(prices, "prices");
        Map<String, ModelPrice> copy = new LinkedHashMap<>();
        prices.forEach((model, price) -> copy.put(Objects.requireNonNull(model, "model"),
                Objects.requireNonNull(price, () -> "price of " + model)));
        this.prices = Collections.unmodifiableMap(copy);
        this.checked = checked;
    }

    /** A catalog that knows no model. */
    public static YamlPriceCatalog empty() {
        return EMPTY;
    }

    /**
     * Reads a price file.
     *
     * @throws ConfigException when the file cannot be read or a price is invalid; the message names
     *         the file, the model and the field, e.g. {@code "config/prices.yaml: models.gpt-4o.output_per_mtok: missing ..."}
     */
    public static YamlPriceCatalog load(Path file) {
        Objects.requireNonNull(file, "file");
        JsonNode root;
        try {
            root = MAPPER.readTree(Files.readAllBytes(file));
        } catch (JacksonException e) {
            throw new ConfigException(file + ": invalid YAML (" + e.getOriginalMessage() + ")", e);
        } catch (IOException e) {
            throw new ConfigException(file + ": cannot read (" + e + ")", e);
        }
        if (root == null || root.isMissingNode() || root.isNull()) {
            throw new ConfigException(file + ": empty (expected: a map with 'models')");
        }
        if (!root.isObject()) {
            throw new ConfigException(file + ": not a map (expected: a map with 'models')");
        }
        for (Map.Entry<String, JsonNode> entry : root.properties()) {
            String key = entry.getKey();
            if (!TOP_LEVEL_KEYS.contains(key)) {
                throw new ConfigException(file + ": " + key + ": unknown key (expected one of: checked, models)");
            }
        }
        LocalDate checked = null;
        JsonNode checkedNode = root.get("checked");
        if (checkedNode != null && !checkedNode.isNull()) {
            try {
                checked = LocalDate.parse(checkedNode.asText());
            } catch (DateTimeParseException e) {
                throw new ConfigException(file + ": checked: " + checkedNode.asText() + " (expected: a date like 2026-11-28)", e);
            }
        }
        JsonNode models = root.get("models");
        if (models == null || models.isNull()) {
            throw new ConfigException(file + ": models: missing (expected: a map of model id to prices)");
        }
        if (!models.isObject()) {
            throw new ConfigException(file + ": models: not a map (expected: a map of model id to prices)");
        }
        Map<String, ModelPrice> prices = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> entry : models.properties()) {
            String model = entry.getKey();
            if (model.isBlank()) {
                throw new ConfigException(file + ": models: blank model id");
            }
            ModelPrice price = parsePrice(entry.getValue(), file + ": models." + model);
            prices.put(model, price.checked() == null && checked != null ? price.checkedOn(checked) : price);
        }
        return new YamlPriceCatalog(prices, checked);
    }

    /**
     * Parses one price from its fields, as written in {@code prices.yaml} and in inline {@code price:} blocks of the
     * gateway configuration, in USD per million tokens:
     * <ul>
     *   <li>{@value #INPUT} and {@value #OUTPUT} (required), {@value #CACHED_INPUT} and {@value #CACHE_WRITE}
     *       (default: the input price), {@value #CACHE_WRITE_1H} (default: the cache-write price),
     *       {@value #REASONING} (default: the output price), and {@value #MAX_OUTPUT_TOKENS} (default 0, unknown);</li>
     *   <li>{@value #ABOVE_INPUT}: {@code {200000: {input_per_mtok: 2.50, output_per_mtok: 15.00, ...}}}, rates
     *       (with the same fields and defaults) that apply to every token of a call whose prompt is above the
     *       threshold;</li>
     *   <li>{@value #SERVICE_TIERS}: {@code {flex: {multiplier: 0.5}, priority: {input_per_mtok: ..., ...}}}, for
     *       {@code flex}, {@code priority} and {@code batch}: a multiplier of the standard rates (at every input size),
     *       or explicit rates with their own {@value #ABOVE_INPUT};</li>
     *   <li>{@value #REGIONS}: {@code {eu: 1.1}}, uplifts a model served from that region pays (a model names its region
     *       in the gateway configuration);</li>
     *   <li>{@value #CHECKED}: the date the entry was checked against the provider's page.</li>
     * </ul>
     * Prices may be {@link BigDecimal}s, integers or numeric strings; a {@code Double} (from a mapper without
     * {@code USE_BIG_DECIMAL_FOR_FLOATS}) is read through its shortest decimal form, which is the text that was written
     * for any price of up to 15 significant digits. Nested maps may be {@code Map}s or JSON objects.
     *
     * @param fields the field map; {@code null} is reported as missing
     * @param where the key path to name in errors, e.g. {@code "models[gpt-4o].price"}
     * @throws ConfigException naming {@code where} and the field, e.g.
     *         {@code "models[gpt-4o].price.input_per_mtok: -1 (expected: ...)"}
     */
    public static ModelPrice parsePrice(Map<String, ?> fields, String where) {
        Objects.requireNonNull(where, "where");
        if (fields == null) {
            throw new ConfigException(where + ": missing (expected: a map with " + INPUT + " and " + OUTPUT + ")");
        }
        allowOnly(fields, FIELDS, where);
        Rates base = rates(fields, where);
        long maxOutput = maxOutputTokens(fields.get(MAX_OUTPUT_TOKENS), where + "." + MAX_OUTPUT_TOKENS);
        List<ModelPrice.AboveInput> above = aboveInput(fields.get(ABOVE_INPUT), where + "." + ABOVE_INPUT);
        Map<ServiceTier, ModelPrice.TierPrice> tiers = serviceTiers(fields.get(SERVICE_TIERS), where + "." + SERVICE_TIERS);
        Map<String, Long> regions = regions(fields.get(REGIONS), where + "." + REGIONS);
        LocalDate checked = date(fields.get(CHECKED), where + "." + CHECKED);
        return new ModelPrice(base, maxOutput, above, tiers, regions, null, checked);
    }

    /** The rates of a price or tier block: input and output required, the others defaulted. */
    private static Rates rates(Map<String, ?> fields, String where) {
        long input = requiredPrice(fields, INPUT, where);
        long output = requiredPrice(fields, OUTPUT, where);
        long cacheWrite = optionalPrice(fields, CACHE_WRITE, where, input);
        return new Rates(input, output, optionalPrice(fields, CACHED_INPUT, where, input), cacheWrite,
                optionalPrice(fields, CACHE_WRITE_1H, where, cacheWrite), optionalPrice(fields, REASONING, where, output));
    }

    private static List<ModelPrice.AboveInput> aboveInput(Object value, String where) {
        if (value == null) {
            return List.of();
        }
        Map<String, Object> thresholds = map(value, where, "a map of prompt-token threshold to rates, e.g. {200000: {"
                + INPUT + ": 2.50, " + OUTPUT + ": 15.00}}");
        List<ModelPrice.AboveInput> tiers = new ArrayList<>();
        for (Map.Entry<String, Object> e : thresholds.entrySet()) {
            String at = where + "." + e.getKey();
            long threshold;
            try {
                threshold = Long.parseLong(e.getKey().strip().replace("_", ""));
            } catch (NumberFormatException notANumber) {
                threshold = -1;
            }
            if (threshold <= 0) {
                throw new ConfigException(at + ": not a threshold (expected: a whole number of prompt tokens > 0)");
            }
            Map<String, Object> fields = map(e.getValue(), at, "a map with " + INPUT + " and " + OUTPUT);
            allowOnly(fields, RATE_FIELDS, at);
            tiers.add(new ModelPrice.AboveInput(threshold, rates(fields, at)));
        }
        return tiers;
    }

    private static Map<ServiceTier, ModelPrice.TierPrice> serviceTiers(Object value, String where) {
        Map<ServiceTier, ModelPrice.TierPrice> tiers = new EnumMap<>(ServiceTier.class);
        if (value == null) {
            return tiers;
        }
        Map<String, Object> byName = map(value, where, "a map of flex, priority or batch to {" + MULTIPLIER
                + ": 0.5} or rates");
        for (Map.Entry<String, Object> e : byName.entrySet()) {
            String at = where + "." + e.getKey();
            ServiceTier tier = ServiceTier.ofLabel(e.getKey());
            if (tier == null || tier == ServiceTier.STANDARD) {
                throw new ConfigException(at + ": unknown service tier (expected one of: flex, priority, batch; the"
                        + " standard tier is the base price)");
            }
            Map<String, Object> fields = map(e.getValue(), at, "{" + MULTIPLIER + ": 0.5} or a map of rates");
            if (fields.containsKey(MULTIPLIER)) {
                if (fields.size() != 1) {
                    throw new ConfigException(at + ": " + MULTIPLIER + " and rates together (expected: one or the other)");
                }
                tiers.put(tier, ModelPrice.TierPrice.multiplier(multiplier(fields.get(MULTIPLIER), at + "." + MULTIPLIER)));
            } else {
                allowOnly(fields, TIER_FIELDS, at);
                tiers.put(tier, ModelPrice.TierPrice.explicit(rates(fields, at),
                        aboveInput(fields.get(ABOVE_INPUT), at + "." + ABOVE_INPUT)));
            }
        }
        return tiers;
    }

    private static Map<String, Long> regions(Object value, String where) {
        Map<String, Long> regions = new LinkedHashMap<>();
        if (value == null) {
            return regions;
        }
        for (Map.Entry<String, Object> e : map(value, where, "a map of region to multiplier, e.g. {eu: 1.1}").entrySet()) {
            if (e.getKey().isBlank()) {
                throw new ConfigException(where + ": blank region name");
            }
            regions.put(e.getKey(), multiplier(e.getValue(), where + "." + e.getKey()));
        }
        return regions;
    }

    private static long multiplier(Object value, String key) {
        BigDecimal m = decimal(value);
        if (m != null) {
            try {
                return ModelPrice.multiplierToPpm(m);
            } catch (IllegalArgumentException e) {
                // reported below
            }
        }
        throw new ConfigException(key + ": " + value + " (expected: a multiplier > 0 with at most 6 decimals, e.g. 0.5)");
    }

    private static LocalDate date(Object value, String key) {
        if (value == null) {
            return null;
        }
        if (value instanceof LocalDate d) {
            return d;
        }
        try {
            return LocalDate.parse(String.valueOf(value).strip());
        } catch (DateTimeParseException e) {
            throw new ConfigException(key + ": " + value + " (expected: a date like 2026-11-28)", e);
        }
    }

    private static void allowOnly(Map<String, ?> fields, java.util.Collection<String> allowed, String where) {
        for (String key : fields.keySet()) {
            if (!allowed.contains(key)) {
                throw new ConfigException(where + "." + key + ": unknown field (expected one of: "
                        + String.join(", ", allowed.stream().sorted().toList()) + ")");
            }
        }
    }

    /** A nested map, from a {@code Map} or a JSON object; anything else is reported as not {@code expected}. */
    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object value, String where, String expected) {
        if (value instanceof Map<?, ?> m) {
            Map<String, Object> copy = new LinkedHashMap<>();
            m.forEach((k, v) -> copy.put(String.valueOf(k), v));
            return copy;
        }
        if (value instanceof JsonNode node && node.isObject()) {
            return plain(node);
        }
        throw new ConfigException(where + ": " + value + " (expected: " + expected + ")");
    }

    /** An object node's members as scalars ({@code BigDecimal}s, strings) and nested {@code JsonNode}s. */
    private static Map<String, Object> plain(JsonNode node) {
        Map<String, Object> fields = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            JsonNode value = e.getValue();
            fields.put(e.getKey(), value.isNumber() ? value.numberValue() : value.isNull() ? null
                    : value.isTextual() ? value.asText() : value);
        }
        return fields;
    }

    /** Like {@link #parsePrice(Map, String)} for a JSON/YAML tree node (an object of the same fields). */
    public static ModelPrice parsePrice(JsonNode node, String where) {
        Objects.requireNonNull(where, "where");
        if (node == null || node.isNull() || node.isMissingNode()) {
            return parsePrice((Map<String, ?>) null, where);
        }
        if (!node.isObject()) {
            throw new ConfigException(where + ": " + node + " (expected: a map with " + INPUT + " and " + OUTPUT + ")");
        }
        return parsePrice(plain(node), where);
    }

    @Override
    public Optional<ModelPrice> find(String model) {
        if (model == null || prices.isEmpty()) {
            return Optional.empty();
        }
        ModelPrice price = findUndecorated(model);
        if (price == null) {
            int slash = model.lastIndexOf('/');
            if (slash >= 0 && slash < model.length() - 1) {
                price = findUndecorated(model.substring(slash + 1));
            }
        }
        return Optional.ofNullable(price);
    }

    /** All prices by model id, in file order. */
    public Map<String, ModelPrice> prices() {
        return prices;
    }

    /** The date the file says its prices were checked, if it says. */
    public Optional<LocalDate> checked() {
        return Optional.ofNullable(checked);
    }

    private ModelPrice findUndecorated(String model) {
        ModelPrice price = prices.get(model);
        if (price == null) {
            String undated = withoutDateSuffix(model);
            if (undated != null) {
                price = prices.get(undated);
            }
        }
        return price;
    }

    /**
     * {@code model} without a trailing {@code -YYYY-MM-DD} or {@code -MMDD} snapshot date, or
     * {@code null} if it has none.
     */
    static String withoutDateSuffix(String model) {
        int n = model.length();
        // -YYYY-MM-DD, as in gpt-4o-mini-2024-07-18
        if (n > 11 && model.charAt(n - 11) == '-' && model.charAt(n - 6) == '-' && model.charAt(n - 3) == '-'
                && number(model, n - 10, n - 6) >= 0 && isMonthDay(number(model, n - 5, n - 3), number(model, n - 2, n))) {
            return model.substring(0, n - 11);
        }
        // -MMDD, as in gpt-4-0613 or gpt-3.5-turbo-0125
        if (n > 5 && model.charAt(n - 5) == '-' && isMonthDay(number(model, n - 4, n - 2), number(model, n - 2, n))) {
            return model.substring(0, n - 5);
        }
        return null;
    }

    private static boolean isMonthDay(int month, int day) {
        return month >= 1 && month <= 12 && day >= 1 && day <= 31;
    }

    /** The decimal number in {@code s[from, to)}, or -1 if it is not all digits. */
    private static int number(String s, int from, int to) {
        int value = 0;
        for (int i = from; i < to; i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            value = value * 10 + (c - '0');
        }
        return value;
    }

    private static long requiredPrice(Map<String, ?> fields, String field, String where) {
        Object value = fields.get(field);
        if (value == null) {
            throw new ConfigException(where + "." + field + ": missing (expected: " + PRICE_EXPECTED + ")");
        }
        return nanosPerMtok(value, where + "." + field);
    }

    private static long optionalPrice(Map<String, ?> fields, String field, String where, long defaultNanos) {
        Object value = fields.get(field);
        return value == null ? defaultNanos : nanosPerMtok(value, where + "." + field);
    }

    private static long nanosPerMtok(Object value, String key) {
        BigDecimal usd = decimal(value);
        if (usd == null) {
            throw new ConfigException(key + ": " + value + " (expected: " + PRICE_EXPECTED + ")");
        }
        try {
            return ModelPrice.usdPerMtokToNanos(usd);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(key + ": " + usd.toPlainString() + " (expected: " + PRICE_EXPECTED + ")", e);
        }
    }

    private static long maxOutputTokens(Object value, String key) {
        if (value == null) {
            return 0;
        }
        BigDecimal tokens = decimal(value);
        try {
            if (tokens != null && tokens.signum() >= 0) {
                return tokens.longValueExact();
            }
        } catch (ArithmeticException e) {
            // not a whole number, or too large: reported below
        }
        throw new ConfigException(key + ": " + value + " (expected: a whole number of tokens >= 0, 0 if unknown)");
    }

    private static BigDecimal decimal(Object value) {
        if (value instanceof BigDecimal d) {
            return d;
        }
        if (value instanceof BigInteger i) {
            return new BigDecimal(i);
        }
        if (value instanceof Integer || value instanceof Long || value instanceof Short || value instanceof Byte) {
            return BigDecimal.valueOf(((Number) value).longValue());
        }
        if (value instanceof Double d) {
            return Double.isFinite(d) ? new BigDecimal(Double.toString(d)) : null;
        }
        if (value instanceof Float f) {
            return Float.isFinite(f) ? new BigDecimal(Float.toString(f)) : null;
        }
        if (value instanceof String s) {
            try {
                return new BigDecimal(s.strip());
            } catch (NumberFormatException e) {
                return null;
            }
        }
        return null;
    }
}
