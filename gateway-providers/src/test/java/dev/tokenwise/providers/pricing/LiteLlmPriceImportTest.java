package dev.tokenwise.providers.pricing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenwise.core.config.ConfigException;
import dev.tokenwise.core.model.ModelPrice;
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

        assertEquals(new ModelPrice(3_000_000_000L, 15_000_000_000L, 300_000_000L, 3_750_000_000L,
                15_000_000_000L, 64_000), catalog.find("claude-sonnet-4-5").orElseThrow());
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
}
