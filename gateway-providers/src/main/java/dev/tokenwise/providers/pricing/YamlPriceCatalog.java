package dev.tokenwise.providers.pricing;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.cfg.JsonNodeFeature;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.tokenwise.core.config.ConfigException;
import dev.tokenwise.core.model.ModelPrice;
import dev.tokenwise.core.spi.PriceCatalog;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.time.format.DateTimeParseException;
import java.util.Collections;
import java.util.LinkedHashMap;
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
 * The fields of a price are those of {@link #parsePrice(Map, String)}. {@link #find} tries the exact
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
    /** The model's output cap in tokens; defaults to 0, unknown. */
    public static final String MAX_OUTPUT_TOKENS = "max_output_tokens";

    private static final Set<String> FIELDS = Set.of(INPUT, OUTPUT, CACHED_INPUT, CACHE_WRITE, REASONING, MAX_OUTPUT_TOKENS);
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
            prices.put(model, parsePrice(entry.getValue(), file + ": models." + model));
        }
        return new YamlPriceCatalog(prices, checked);
    }

    /**
     * Parses one price from its fields, as written in {@code prices.yaml} and in inline {@code price:}
     * blocks of the gateway configuration: {@value #INPUT} and {@value #OUTPUT} (required),
     * {@value #CACHED_INPUT} and {@value #CACHE_WRITE} (default: the input price), {@value #REASONING}
     * (default: the output price) in USD per million tokens, and {@value #MAX_OUTPUT_TOKENS} (default 0,
     * unknown). Prices may be {@link BigDecimal}s, integers or numeric strings; a {@code Double} (from a
     * mapper without {@code USE_BIG_DECIMAL_FOR_FLOATS}) is read through its shortest decimal form,
     * which is the text that was written for any price of up to 15 significant digits.
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
        for (String key : fields.keySet()) {
            if (!FIELDS.contains(key)) {
                throw new ConfigException(where + "." + key + ": unknown field (expected one of: " + INPUT + ", "
                        + OUTPUT + ", " + CACHED_INPUT + ", " + CACHE_WRITE + ", " + REASONING + ", " + MAX_OUTPUT_TOKENS + ")");
            }
        }
        long input = requiredPrice(fields, INPUT, where);
        long output = requiredPrice(fields, OUTPUT, where);
        long cachedInput = optionalPrice(fields, CACHED_INPUT, where, input);
        long cacheWrite = optionalPrice(fields, CACHE_WRITE, where, input);
        long reasoning = optionalPrice(fields, REASONING, where, output);
        long maxOutput = maxOutputTokens(fields.get(MAX_OUTPUT_TOKENS), where + "." + MAX_OUTPUT_TOKENS);
        return new ModelPrice(input, output, cachedInput, cacheWrite, reasoning, maxOutput);
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
        Map<String, Object> fields = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            JsonNode value = e.getValue();
            fields.put(e.getKey(), value.isNumber() ? value.numberValue() : value.isNull() ? null : value.isTextual() ? value.asText() : value);
        }
        return parsePrice(fields, where);
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
