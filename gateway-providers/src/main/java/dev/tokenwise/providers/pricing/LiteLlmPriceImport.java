package dev.tokenwise.providers.pricing;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.tokenwise.core.config.ConfigException;
import dev.tokenwise.core.model.ModelPrice;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
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
 *   <tr><td>{@code max_output_tokens}</td><td>max output tokens</td><td>0 (unknown)</td></tr>
 * </table>
 *
 * <p>Only entries whose {@code mode} is absent, {@code chat}, {@code completion}, {@code responses} or
 * {@code embedding} are imported (the gateway proxies nothing else); {@code sample_spec}, entries without a
 * per-token input price and entries with a price that is not a number {@code >= 0} are skipped. Tiered prices
 * ({@code *_above_200k_tokens}), 1-hour cache writes, batch and priority prices are not modelled.
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

    /** The price of one entry, or {@code null} when it is not an importable per-token price. */
    static ModelPrice price(JsonNode entry) {
        if (entry == null || !entry.isObject()) {
            return null;
        }
        JsonNode mode = entry.get("mode");
        if (mode != null && !mode.isNull() && !MODES.contains(mode.asText())) {
            return null;
        }
        Long input = nanosPerMtok(entry.get(INPUT));
        if (input == null) {
            return null;
        }
        Long output = optional(entry, OUTPUT, 0L);
        Long cacheRead = optional(entry, CACHE_READ, null);
        if (cacheRead == null) {
            cacheRead = optional(entry, CACHE_HIT, input);
        }
        Long cacheWrite = optional(entry, CACHE_WRITE, input);
        Long reasoning = output == null ? null : optional(entry, REASONING, output);
        if (output == null || cacheRead == null || cacheWrite == null || reasoning == null) {
            return null;
        }
        JsonNode maxOutput = entry.get(MAX_OUTPUT_TOKENS);
        long maxOutputTokens = maxOutput != null && maxOutput.canConvertToExactIntegral() && maxOutput.asLong() > 0
                ? maxOutput.asLong() : 0;
        return new ModelPrice(input, output, cacheRead, cacheWrite, reasoning, maxOutputTokens);
    }

    /** {@code fallback} when the field is absent or null, {@code null} when it is present but invalid. */
    private static Long optional(JsonNode entry, String field, Long fallback) {
        JsonNode value = entry.get(field);
        return value == null || value.isNull() ? fallback : nanosPerMtok(value);
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
