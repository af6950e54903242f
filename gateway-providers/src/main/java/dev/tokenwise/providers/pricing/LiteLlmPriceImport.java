package dev.tokenwise.providers.pricing;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.tokenwise.core.config.ConfigException;
import dev.tokenwise.core.model.ModelPrice;
import dev.tokenwise.core.model.Rates;
import dev.tokenwise.core.model.ServiceTier;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.Objects;
import java.util.Set;

/**
 * Imports prices from the community price file of LiteLLM ({@code model_prices_and_context_window.json}), so
 * that prices can be kept current without a release of the gateway.
 *
 * <p>The file maps model ids to objects whose prices are USD <em>per token</em>:
 * <pre>{@code
 * "claude-sonnet-4-5": {"input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05,
 *     "cache_read_input_token_cost": 3e-07, "cache_creation_input_token_cost": 3.75e-06,
 *     "max_output_tokens": 64000, "litellm_provider": "anthropic", "mode": "chat"}
 * }</pre>
 * Each price is read from its JSON text as a {@link BigDecimal} (never a {@code double}, so {@code 3e-07} is
 * exactly three tenths of a micro-dollar) and moved to nano-USD per million tokens by {@code × 10^15}; the few
 * prices with more digits than that (LiteLLM derives some by multiplication, e.g. {@code 1.5000020000000002e-05})
 * are rounded half up to whole nano-USD per million tokens.
 *
 * <table>
 *   <caption>Fields read</caption>
 *   <tr><th>LiteLLM field</th><th>{@link ModelPrice} field</th><th>when absent</th></tr>
 *   <tr><td>{@code input_cost_per_token}</td><td>input</td><td>the entry is skipped</td></tr>
 *   <tr><td>{@code output_cost_per_token}</td><td>output</td><td>0 (embeddings)</td></tr>
 *   <tr><td>{@code cache_read_input_token_cost}, else {@code input_cost_per_token_cache_hit}</td>
 *       <td>cached input</td><td>the input price</td></tr>
 *   <tr><td>{@code cache_creation_input_token_cost}</td><td>cache write</td><td>the input price</td></tr>
 *   <tr><td>{@code output_cost_per_reasoning_token}</td><td>reasoning</td><td>the output price</td></tr>
 *   <tr><td>{@code cache_creation_input_token_cost_above_1hr}</td><td>1-hour cache write</td><td>the cache-write price</td></tr>
 *   <tr><td>{@code max_output_tokens}</td><td>max output tokens</td><td>0 (unknown)</td></tr>
 *   <tr><td>any of those with {@code _above_<N>k_tokens}</td><td>rates above a prompt of N x 1000 tokens</td>
 *       <td>the field's base price (a derived field derives from the tier's own input or output price)</td></tr>
 *   <tr><td>any of those with {@code _flex}, {@code _priority}, {@code _batches} (after {@code _above_...} if
 *       both)</td><td>the service tier's explicit rates</td><td>the standard price at the same input size</td></tr>
 *   <tr><td>{@code tiered_pricing} ({@code [{"range": [from, to], "input_cost_per_token": ...}, ...]})</td>
 *       <td>the bracket from 0 gives base prices the entry does not state, the others apply above their
 *       {@code from}</td><td>the base price</td></tr>
 *   <tr><td>{@code regional_processing_uplift_multiplier_<region>}</td><td>region uplift</td><td>none</td></tr>
 * </table>
 *
 * <p>Only entries whose {@code mode} is absent, {@code chat}, {@code completion}, {@code responses} or
 * {@code embedding} are imported (the gateway proxies nothing else); {@code sample_spec}, entries without a
 * per-token input price (flat or in their first bracket) and entries with a price that is not a number {@code >= 0}
 * are skipped. Not imported: {@code provider_specific_entry} (Anthropic's US-only inference and fast-mode factors,
 * whose meaning the file does not state), per-image, per-audio-token and per-query prices.
 *
 * <p>Ids are kept as written ({@code claude-sonnet-4-5}, {@code groq/llama-3.3-70b-versatile}). An id with a
 * provider prefix is also found by its last segment ({@code llama-3.3-70b-versatile}) unless an entry of that
 * name exists or other prefixed entries with that last segment are priced differently (resellers often are),
 * in which case only the full id finds it. Lookups otherwise follow {@link YamlPriceCatalog#find}.
 *
 * <pre>{@code
 * YamlPriceCatalog litellm = LiteLlmPriceImport.load(Path.of("model_prices_and_context_window.json"));
 * litellm.find("deepseek-chat"); // from "deepseek/deepseek-chat"
 * }</pre>
 */
public final class LiteLlmPriceImport {
    static final String INPUT = "input_cost_per_token";
    static final String OUTPUT = "output_cost_per_token";
    static final String CACHE_READ = "cache_read_input_token_cost";
    static final String CACHE_HIT = "input_cost_per_token_cache_hit";
    static final String CACHE_WRITE = "cache_creation_input_token_cost";
    static final String REASONING = "output_cost_per_reasoning_token";
    static final String MAX_OUTPUT_TOKENS = "max_output_tokens";
    static final String CACHE_WRITE_1H = "cache_creation_input_token_cost_above_1hr";
    static final String TIERED_PRICING = "tiered_pricing";
    static final String REGION_UPLIFT_PREFIX = "regional_processing_uplift_multiplier_";

    private static final Set<String> MODES = Set.of("chat", "completion", "responses", "embedding");
    /** USD per token to nano-USD per million tokens: 10^9 nano-USD per USD × 10^6 tokens. */
    private static final int SCALE = 15;

    private static final JsonMapper MAPPER = JsonMapper.builder()
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .build();

    private LiteLlmPriceImport() {
    }

    /**
     * Reads a LiteLLM price file. Reading the whole file (about 1.5 MB) takes a few tens of milliseconds, so
     * call it at start-up, never on an event loop.
     *
     * @throws ConfigException when the file cannot be read or is not a JSON object of model entries
     */
    public static YamlPriceCatalog load(Path json) {
        Objects.requireNonNull(json, "json");
        try (InputStream in = Files.newInputStream(json)) {
            return parse(MAPPER.readTree(in), json.toString());
        } catch (JacksonException e) {
            throw new ConfigException(json + ": invalid JSON (" + e.getOriginalMessage() + ")", e);
        } catch (IOException e) {
            throw new ConfigException(json + ": cannot read (" + e + ")", e);
        }
    }

    /** Reads the entries of a parsed price file; {@code source} names it in errors. */
    static YamlPriceCatalog parse(JsonNode root, String source) {
        if (root == null || !root.isObject()) {
            throw new ConfigException(source + ": not a JSON object (expected: a map of model id to prices,"
                    + " as in LiteLLM's model_prices_and_context_window.json)");
        }
        Map<String, ModelPrice> prices = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> entry : root.properties()) {
            String model = entry.getKey();
            if ("sample_spec".equals(model) || model.isBlank()) {
                continue;
            }
            ModelPrice price = price(entry.getValue());
            if (price != null) {
                prices.put(model, price);
            }
        }
        prices.putAll(aliases(prices));
        return new YamlPriceCatalog(prices);
    }

    /** Short ids for prefixed ones ({@code groq/x} as {@code x}), when unambiguous and not taken. */
    private static Map<String, ModelPrice> aliases(Map<String, ModelPrice> prices) {
        Map<String, ModelPrice> aliases = new LinkedHashMap<>();
        Map<String, Boolean> ambiguous = new HashMap<>();
        for (Map.Entry<String, ModelPrice> e : prices.entrySet()) {
            String id = e.getKey();
            int slash = id.lastIndexOf('/');
            if (slash < 0 || slash == id.length() - 1) {
                continue;
            }
            String shortId = id.substring(slash + 1);
            if (prices.containsKey(shortId) || ambiguous.containsKey(shortId)) {
                continue;
            }
            ModelPrice earlier = aliases.putIfAbsent(shortId, e.getValue());
            if (earlier != null && !earlier.equals(e.getValue())) {
                aliases.remove(shortId);
                ambiguous.put(shortId, Boolean.TRUE);
            }
        }
        return aliases;
    }

    /**
     * A price field of an entry: its base name, the input-size threshold of its suffix {@code _above_<N>k_tokens}
     * (0 when none) and the service tier of its suffix {@code _flex}, {@code _priority} or {@code _batches}.
     */
    private static final Pattern PRICE_FIELD = Pattern.compile("(" + INPUT + "|" + OUTPUT + "|" + CACHE_READ + "|"
            + CACHE_HIT + "|" + CACHE_WRITE_1H + "|" + CACHE_WRITE + "|" + REASONING + ")"
            + "(?:_above_(\\d{1,9})k_tokens)?(?:_(flex|priority|batches))?");
    private static final Pattern REGION_UPLIFT = Pattern.compile(REGION_UPLIFT_PREFIX + "([a-z0-9_-]+)");

    /** The price fields of one schedule (a service tier's, at one input size), by base name. */
    private static final class Fields extends LinkedHashMap<String, Long> {
        private static final long serialVersionUID = 1L;
    }

    /** The price of one entry, or {@code null} when it is not an importable per-token price. */
    static ModelPrice price(JsonNode entry) {
        if (entry == null || !entry.isObject()) {
            return null;
        }
        JsonNode mode = entry.get("mode");
        if (mode != null && !mode.isNull() && !MODES.contains(mode.asText())) {
            return null;
        }
        // [service tier][threshold] -> fields; the standard tier is ServiceTier.STANDARD, no threshold 0.
        Map<ServiceTier, TreeMap<Long, Fields>> schedules = new EnumMap<>(ServiceTier.class);
        Map<String, Long> regions = new TreeMap<>();
        for (Map.Entry<String, JsonNode> field : entry.properties()) {
            String name = field.getKey();
            Matcher m = PRICE_FIELD.matcher(name);
            if (m.matches()) {
                JsonNode value = field.getValue();
                if (value == null || value.isNull()) {
                    continue;
                }
                Long nanos = nanosPerMtok(value);
                if (nanos == null) {
                    return null; // a price that is not a number >= 0: the entry cannot be trusted
                }
                long threshold = m.group(2) == null ? 0 : Long.parseLong(m.group(2)) * 1000;
                ServiceTier tier = m.group(3) == null ? ServiceTier.STANDARD
                        : "batches".equals(m.group(3)) ? ServiceTier.BATCH : ServiceTier.ofLabel(m.group(3));
                schedules.computeIfAbsent(tier, t -> new TreeMap<>()).computeIfAbsent(threshold, t -> new Fields())
                        .put(m.group(1), nanos);
                continue;
            }
            Matcher r = REGION_UPLIFT.matcher(name);
            if (r.matches() && field.getValue().isNumber()) {
                try {
                    regions.put(r.group(1), ModelPrice.multiplierToPpm(field.getValue().decimalValue()));
                } catch (IllegalArgumentException e) {
                    return null;
                }
            }
        }
        TreeMap<Long, Fields> standard = schedules.computeIfAbsent(ServiceTier.STANDARD, t -> new TreeMap<>());
        if (!tieredPricing(entry.get(TIERED_PRICING), standard)) {
            return null;
        }
        Fields baseFields = standard.get(0L);
        if (baseFields == null || !baseFields.containsKey(INPUT)) {
            return null;
        }
        Rates base = rates(baseFields);
        List<ModelPrice.AboveInput> above = new ArrayList<>();
        standard.forEach((threshold, fields) -> {
            if (threshold > 0) {
                above.add(new ModelPrice.AboveInput(threshold, rates(merged(baseFields, fields))));
            }
        });
        Map<ServiceTier, ModelPrice.TierPrice> tiers = new EnumMap<>(ServiceTier.class);
        schedules.forEach((tier, byThreshold) -> {
            if (tier == ServiceTier.STANDARD) {
                return;
            }
            // A tier's fields fall back to the standard ones at the same input size, as LiteLLM's cost calculator does.
            Fields tierBase = merged(baseFields, byThreshold.get(0L));
            List<ModelPrice.AboveInput> tierAbove = new ArrayList<>();
            byThreshold.forEach((threshold, fields) -> {
                if (threshold > 0) {
                    Fields standardThere = merged(baseFields, standard.get(threshold));
                    tierAbove.add(new ModelPrice.AboveInput(threshold, rates(merged(standardThere, fields))));
                }
            });
            tiers.put(tier, ModelPrice.TierPrice.explicit(rates(tierBase), tierAbove));
        });
        JsonNode maxOutput = entry.get(MAX_OUTPUT_TOKENS);
        long maxOutputTokens = maxOutput != null && maxOutput.canConvertToExactIntegral() && maxOutput.asLong() > 0
                ? maxOutput.asLong() : 0;
        return new ModelPrice(base, maxOutputTokens, above, tiers, regions, null, null);
    }

    /**
     * Adds the brackets of {@code tiered_pricing} ({@code [{"range": [0, 32000.0], "input_cost_per_token": ...}, ...]},
     * Alibaba's and ByteDance's prices by prompt size) to {@code standard}: the bracket starting at 0 gives the base
     * fields the entry does not state itself, the others apply above their start. {@code false} when a bracket is
     * not of that shape.
     */
    private static boolean tieredPricing(JsonNode brackets, TreeMap<Long, Fields> standard) {
        if (brackets == null || brackets.isNull()) {
            return true;
        }
        if (!brackets.isArray()) {
            return false;
        }
        for (JsonNode bracket : brackets) {
            JsonNode range = bracket.path("range");
            if (!range.isArray() || range.isEmpty() || !range.get(0).isNumber()) {
                return false;
            }
            long from;
            try {
                from = range.get(0).decimalValue().longValueExact();
            } catch (ArithmeticException e) {
                return false;
            }
            if (from < 0) {
                return false;
            }
            Fields fields = standard.computeIfAbsent(from, t -> new Fields());
            for (Map.Entry<String, JsonNode> field : bracket.properties()) {
                Matcher m = PRICE_FIELD.matcher(field.getKey());
                if (!m.matches() || m.group(2) != null || m.group(3) != null || field.getValue().isNull()) {
                    continue;
                }
                Long nanos = nanosPerMtok(field.getValue());
                if (nanos == null) {
                    return false;
                }
                if (from > 0 || !fields.containsKey(m.group(1))) {
                    fields.putIfAbsent(m.group(1), nanos);
                }
            }
        }
        return true;
    }

    /** {@code over}'s fields on top of {@code under}'s. */
    private static Fields merged(Fields under, Fields over) {
        Fields merged = new Fields();
        if (under != null) {
            merged.putAll(under);
        }
        if (over != null) {
            merged.putAll(over);
        }
        return merged;
    }

    /**
     * The rates of one schedule's fields (merged by the caller with those it falls back to): output 0 when not stated
     * (embeddings), cached input (LiteLLM's or DeepSeek's name) and cache writes at the input rate, 1-hour cache
     * writes at the cache-write rate, reasoning at the output rate.
     */
    private static Rates rates(Fields f) {
        long input = f.getOrDefault(INPUT, 0L);
        long output = f.getOrDefault(OUTPUT, 0L);
        long cached = f.containsKey(CACHE_READ) ? f.get(CACHE_READ) : f.getOrDefault(CACHE_HIT, input);
        long cacheWrite = f.getOrDefault(CACHE_WRITE, input);
        return new Rates(input, output, cached, cacheWrite, f.getOrDefault(CACHE_WRITE_1H, cacheWrite),
                f.getOrDefault(REASONING, output));
    }

    /** USD per token, exactly as written, in nano-USD per million tokens; {@code null} when not a number >= 0. */
    static Long nanosPerMtok(JsonNode usdPerToken) {
        if (usdPerToken == null || !usdPerToken.isNumber()) {
            return null;
        }
        BigDecimal usd = usdPerToken.decimalValue();
        if (usd.signum() < 0) {
            return null;
        }
        try {
            return usd.movePointRight(SCALE).setScale(0, RoundingMode.HALF_UP).longValueExact();
        } catch (ArithmeticException e) {
            return null; // beyond 9.2e18 nano-USD per Mtok: not a real price
        }
    }
}
