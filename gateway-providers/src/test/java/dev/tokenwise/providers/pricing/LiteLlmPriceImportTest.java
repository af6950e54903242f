package dev.tokenwise.providers.pricing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenwise.core.config.ConfigException;
import dev.tokenwise.core.model.ModelPrice;
import dev.tokenwise.core.model.Rates;
import dev.tokenwise.core.model.ServiceTier;
import dev.tokenwise.core.model.TokenUsage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LiteLlmPriceImportTest {

    /** Entries in the shape of LiteLLM's model_prices_and_context_window.json. */
    private static final String FILE = """
            {
              "sample_spec": {
                "input_cost_per_token": 0.0,
                "output_cost_per_token": 0.0,
                "litellm_provider": "one of https://docs.litellm.ai/docs/providers",
                "max_output_tokens": "max output tokens, if the provider specifies it. if not default to max_tokens",
                "mode": "one of: chat, embedding, completion, image_generation, audio_transcription, audio_speech"
              },
              "claude-sonnet-4-5": {
                "cache_creation_input_token_cost": 3.75e-06,
                "cache_creation_input_token_cost_above_1hr": 6e-06,
                "cache_read_input_token_cost": 3e-07,
                "input_cost_per_token": 3e-06,
                "input_cost_per_token_above_200k_tokens": 6e-06,
                "litellm_provider": "anthropic",
                "max_input_tokens": 200000,
                "max_output_tokens": 64000,
                "max_tokens": 64000,
                "mode": "chat",
                "output_cost_per_token": 1.5e-05,
                "supports_prompt_caching": true
              },
              "deepseek/deepseek-reasoner": {
                "input_cost_per_token": 2.8e-07,
                "input_cost_per_token_cache_hit": 2.8e-08,
                "litellm_provider": "deepseek",
                "max_output_tokens": 65536,
                "mode": "chat",
                "output_cost_per_token": 4.2e-07
              },
              "groq/llama-3.3-70b-versatile": {
                "input_cost_per_token": 5.9e-07, "litellm_provider": "groq", "max_output_tokens": 32768,
                "mode": "chat", "output_cost_per_token": 7.9e-07
              },
              "together_ai/openai/gpt-oss-120b": {"input_cost_per_token": 1.5e-07, "output_cost_per_token": 6e-07, "mode": "chat"},
              "groq/openai/gpt-oss-120b": {"input_cost_per_token": 1.5e-07, "output_cost_per_token": 7.5e-07, "mode": "chat"},
              "databricks/databricks-meta-llama-3-1-8b-instruct": {
                "input_cost_per_token": 1.5000999999999998e-07,
                "output_cost_per_token": 4.5003000000000007e-07,
                "mode": "chat"
              },
              "amazon.nova-2-pro-preview-20251202-v1:0": {
                "cache_read_input_token_cost": 5.46875e-07, "input_cost_per_token": 2.1875e-06,
                "output_cost_per_token": 1.75e-05, "mode": "chat", "max_output_tokens": 64000
              },
              "o3-mini": {"input_cost_per_token": 1.1e-06, "output_cost_per_token": 4.4e-06,
                          "output_cost_per_reasoning_token": 4.4e-06, "cache_read_input_token_cost": 5.5e-07},
              "text-embedding-3-small": {"input_cost_per_token": 2e-08, "mode": "embedding", "max_input_tokens": 8191},
              "dall-e-3": {"litellm_provider": "openai", "mode": "image_generation", "output_cost_per_image": 0.04},
              "gpt-4o-transcribe": {"input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05, "mode": "audio_transcription"},
              "broken-model": {"input_cost_per_token": "free", "output_cost_per_token": 1e-06, "mode": "chat"},
              "negative-model": {"input_cost_per_token": -1e-06, "output_cost_per_token": 1e-06, "mode": "chat"}
            }
            """;

    @TempDir
    Path dir;

    private YamlPriceCatalog load() throws Exception {
        return LiteLlmPriceImport.load(Files.writeString(dir.resolve("model_prices_and_context_window.json"), FILE));
    }

    @Test
    void convertsPerTokenUsdExactlyToNanosPerMillionTokens() throws Exception {
        YamlPriceCatalog catalog = load();

        ModelPrice sonnet = catalog.find("claude-sonnet-4-5").orElseThrow();
        assertEquals(new Rates(3_000_000_000L, 15_000_000_000L, 300_000_000L, 3_750_000_000L, 6_000_000_000L,
                15_000_000_000L), sonnet.base());
        assertEquals(64_000, sonnet.maxOutputTokens());
        assertEquals(6_000_000_000L, sonnet.rates(200_001, null).inputNanosPerMtok(), "input above 200k");
        // 5.46875e-07 USD per token is $0.546875 per Mtok: exact, where a double would drift.
        assertEquals(new ModelPrice(2_187_500_000L, 17_500_000_000L, 546_875_000L, 2_187_500_000L,
                17_500_000_000L, 64_000), catalog.find("amazon.nova-2-pro-preview-20251202-v1:0").orElseThrow());
        assertEquals(new ModelPrice(1_100_000_000L, 4_400_000_000L, 550_000_000L, 1_100_000_000L, 4_400_000_000L, 0),
                catalog.find("o3-mini").orElseThrow());
    }

    @Test
    void roundsPricesWithMoreThanNanoPrecisionHalfUp() throws Exception {
        // 1.5000999999999998e-07 × 10^15 = 150009999.99999998 -> 150010000
        assertEquals(new ModelPrice(150_010_000L, 450_030_000L, 150_010_000L, 150_010_000L, 450_030_000L, 0),
                load().find("databricks/databricks-meta-llama-3-1-8b-instruct").orElseThrow());
    }

    @Test
    void readsDeepSeekCacheHitPriceAsCachedInput() throws Exception {
        assertEquals(new ModelPrice(280_000_000L, 420_000_000L, 28_000_000L, 280_000_000L, 420_000_000L, 65_536),
                load().find("deepseek-reasoner").orElseThrow());
    }

    @Test
    void findsPrefixedEntriesByTheirShortIdOnlyWhenUnambiguous() throws Exception {
        YamlPriceCatalog catalog = load();

        assertEquals(590_000_000L, catalog.find("llama-3.3-70b-versatile").orElseThrow().inputNanosPerMtok());
        assertEquals(590_000_000L, catalog.find("groq/llama-3.3-70b-versatile").orElseThrow().inputNanosPerMtok());
        assertEquals(Optional.empty(), catalog.find("gpt-oss-120b"), "two resellers price it differently");
        assertEquals(750_000_000L, catalog.find("groq/openai/gpt-oss-120b").orElseThrow().outputNanosPerMtok());
    }

    @Test
    void importsEmbeddingsWithoutOutputPriceAndSkipsWhatTheGatewayDoesNotProxy() throws Exception {
        YamlPriceCatalog catalog = load();

        assertEquals(ModelPrice.of(20_000_000L, 0), catalog.find("text-embedding-3-small").orElseThrow());
        assertFalse(catalog.prices().containsKey("sample_spec"));
        assertFalse(catalog.prices().containsKey("dall-e-3"));
        assertFalse(catalog.prices().containsKey("gpt-4o-transcribe"));
        assertFalse(catalog.prices().containsKey("broken-model"));
        assertFalse(catalog.prices().containsKey("negative-model"));
    }

    @Test
    void reportsAFileThatIsNotAPriceMap() throws Exception {
        Path notJson = Files.writeString(dir.resolve("broken.json"), "{\"a\": ");
        ConfigException e = assertThrows(ConfigException.class, () -> LiteLlmPriceImport.load(notJson));
        assertTrue(e.getMessage().startsWith(notJson + ": invalid JSON"), e.getMessage());

        Path array = Files.writeString(dir.resolve("array.json"), "[1, 2]");
        assertTrue(assertThrows(ConfigException.class, () -> LiteLlmPriceImport.load(array)).getMessage()
                .contains("not a JSON object"));

        Path missing = dir.resolve("missing.json");
        assertTrue(assertThrows(ConfigException.class, () -> LiteLlmPriceImport.load(missing)).getMessage()
                .startsWith(missing + ": cannot read"));
    }

    // ---------------------------------------------------------------- the real file's tier fields

    /** Entries of LiteLLM's own file, as stored in src/test/resources/litellm (see the README there). */
    private static YamlPriceCatalog excerpt() throws Exception {
        return LiteLlmPriceImport.load(Path.of(LiteLlmPriceImportTest.class.getResource("/litellm/model_prices_excerpt.json").toURI()));
    }

    @Test
    void carriesTheLongContextFlexPriorityBatchAndRegionalPricesOfAnOpenAiEntry() throws Exception {
        ModelPrice gpt = excerpt().find("gpt-5.4").orElseThrow();
        TokenUsage small = new TokenUsage(10_000, 2_000, 0, 1_000, 0);
        // standard: 8,000 x $2.50 + 2,000 x $0.25 + 1,000 x $15 per Mtok = $0.0355
        assertEquals(35_500_000L, gpt.costNanos(small, ServiceTier.STANDARD));
        // flex (cache_read_input_token_cost_flex is 1.3e-07 in the file): 8,000 x 1.25 + 2,000 x 0.13 + 1,000 x 7.50
        assertEquals(17_760_000L, gpt.costNanos(small, ServiceTier.FLEX));
        // priority: 8,000 x 5 + 2,000 x 0.50 + 1,000 x 30 = $0.071
        assertEquals(71_000_000L, gpt.costNanos(small, ServiceTier.PRIORITY));
        // batches (no cached price of its own: the standard one): 8,000 x 1.25 + 2,000 x 0.25 + 1,000 x 7.50
        assertEquals(18_000_000L, gpt.costNanos(small, ServiceTier.BATCH));
        // above 272k: 300,000 x $5 + 1,000 x $22.50 = $1.5225
        assertEquals(1_522_500_000L, gpt.costNanos(TokenUsage.of(300_000, 1_000), ServiceTier.STANDARD));
        assertEquals(java.util.Map.of("eu", 1_100_000L, "us", 1_100_000L), gpt.regionUpliftPpm());
        assertEquals(128_000, gpt.maxOutputTokens());
    }

    @Test
    void carriesAnthropicLongContextAndOneHourCacheWrites() throws Exception {
        YamlPriceCatalog catalog = excerpt();
        ModelPrice opus = catalog.find("claude-opus-4-7").orElseThrow();
        assertEquals(new Rates(5_000_000_000L, 25_000_000_000L, 500_000_000L, 6_250_000_000L, 10_000_000_000L,
                25_000_000_000L), opus.base());
        ModelPrice sonnet = catalog.find("claude-sonnet-4-20250514").orElseThrow();
        // 250,000 prompt tokens (above 200k): 10,000 plain at $6, 200,000 read at $0.60, 40,000 written of which
        // 10,000 for an hour; 1,000 out at $22.50. The file has no 1-hour price above 200k: the base $6 applies.
        // 10,000 x 6 + 200,000 x 0.6 + 30,000 x 7.5 + 10,000 x 6 + 1,000 x 22.5 = 60,000 + 120,000 + 225,000 + 60,000
        // + 22,500 micro-USD = $0.4875
        assertEquals(487_500_000L, sonnet.costNanos(new TokenUsage(250_000, 200_000, 40_000, 1_000, 0, 10_000)));
    }

    @Test
    void carriesGeminiLongContextAndPriorityPricesAboveTheThreshold() throws Exception {
        YamlPriceCatalog catalog = excerpt();
        // gemini-2.5-pro above 200k: 200,000 x $2.50 + 50,000 x $0.25 + 1,000 x $15 = $0.5275
        assertEquals(527_500_000L, catalog.find("gemini-2.5-pro").orElseThrow()
                .costNanos(new TokenUsage(250_000, 50_000, 0, 1_000, 0)));
        ModelPrice gemini3 = catalog.find("gemini-3-pro-preview").orElseThrow();
        // priority below 200k: 100,000 x $3.60 + 1,000 x $21.60 = $0.3816; above: 300,000 x $7.20 + 1,000 x $32.40
        assertEquals(381_600_000L, gemini3.costNanos(TokenUsage.of(100_000, 1_000), ServiceTier.PRIORITY));
        assertEquals(2_192_400_000L, gemini3.costNanos(TokenUsage.of(300_000, 1_000), ServiceTier.PRIORITY));
        // batch: 100,000 x $1 + 1,000 x $6 = $0.106
        assertEquals(106_000_000L, gemini3.costNanos(TokenUsage.of(100_000, 1_000), ServiceTier.BATCH));
    }

    @Test
    void readsTieredPricingBracketsByPromptSize() throws Exception {
        YamlPriceCatalog catalog = excerpt();
        ModelPrice plus = catalog.find("dashscope/qwen3.5-plus").orElseThrow();
        // up to 256k: 100,000 x $0.40 + 1,000 x $2.40 = $0.0424; above: 300,000 x $0.50 + 1,000 x $3 = $0.153
        assertEquals(42_400_000L, plus.costNanos(TokenUsage.of(100_000, 1_000)));
        assertEquals(153_000_000L, plus.costNanos(TokenUsage.of(300_000, 1_000)));
        ModelPrice vl = catalog.find("qwen3-vl-plus").orElseThrow();
        // three brackets: 10k at 0.2/1.6, 50k at 0.3/2.4, 200k at 0.6/4.8 (1,000 out each)
        assertEquals(2_000_000L + 1_600_000L, vl.costNanos(TokenUsage.of(10_000, 1_000)));
        assertEquals(15_000_000L + 2_400_000L, vl.costNanos(TokenUsage.of(50_000, 1_000)));
        assertEquals(120_000_000L + 4_800_000L, vl.costNanos(TokenUsage.of(200_000, 1_000)));
    }

    @Test
    void carriesPriorityAndBatchPricesOfAnOlderEntry() throws Exception {
        ModelPrice mini = excerpt().find("gpt-4o-mini").orElseThrow();
        TokenUsage usage = new TokenUsage(1_000, 400, 0, 500, 0);
        // standard 600 x 0.15 + 400 x 0.075 + 500 x 0.60 = $0.00042; priority 600 x 0.25 + 400 x 0.125 + 500 x 1
        assertEquals(420_000L, mini.costNanos(usage));
        assertEquals(700_000L, mini.costNanos(usage, ServiceTier.PRIORITY));
        // batches: 600 x 0.075 + 400 x 0.075 (no cached batch price: the standard one) + 500 x 0.30 = $0.000225
        assertEquals(225_000L, mini.costNanos(usage, ServiceTier.BATCH));
    }
}
