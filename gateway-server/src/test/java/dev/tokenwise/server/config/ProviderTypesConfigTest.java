package dev.tokenwise.server.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenwise.core.config.ConfigException;
import dev.tokenwise.core.config.GatewayConfig;
import dev.tokenwise.core.config.ProviderConfig;
import dev.tokenwise.core.model.ModelPrice;
import dev.tokenwise.core.spi.PriceCatalog;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The provider types beyond {@code openai} and {@code simulator}, and prices imported from a LiteLLM file. */
class ProviderTypesConfigTest {

    private static final ModelPrice CATALOG_SONNET = ModelPrice.of(3_000_000_000L, 15_000_000_000L);
    private static final PriceCatalog CATALOG = model -> Optional.ofNullable(
            Map.of("claude-sonnet-4-5", CATALOG_SONNET).get(model));

    @TempDir
    Path dir;

    @BeforeEach
    void writeCatalogBesideConfig() throws Exception {
        // Without a pricing: section the loader reads prices.yaml beside the config; here that is CATALOG.
        Files.writeString(dir.resolve("prices.yaml"), "# stands for CATALOG");
    }

    private ConfigLoader.Loaded read(String yaml, Map<String, String> env) {
        return ConfigLoader.read(yaml, null, dir, env, file -> CATALOG);
    }

    private GatewayConfig parse(String yaml) {
        return read(yaml, Map.of("ANTHROPIC_API_KEY", "sk-ant", "AZURE_OPENAI_API_KEY", "az")).config();
    }

    private String error(String yaml) {
        return assertThrows(ConfigException.class, () -> parse(yaml)).getMessage();
    }

    @Test
    void anthropicDefaultsToAnthropicsBaseUrlAndTakesAnExplicitOne() {
        GatewayConfig config = parse("""
                providers:
                  claude: {type: anthropic, api_key: ${ANTHROPIC_API_KEY}}
                  proxy: {type: anthropic, base_url: 'http://127.0.0.1:9999/v1/', api_key: x}
                """);

        ProviderConfig claude = config.providers().get("claude");
        assertEquals("anthropic", claude.type());
        assertEquals("https://api.anthropic.com/v1", claude.baseUrl().toString());
        assertEquals("sk-ant", claude.apiKey());
        assertEquals("http://127.0.0.1:9999/v1", config.providers().get("proxy").baseUrl().toString());
    }

    @Test
    void geminiDefaultsToGooglesBaseUrlAndRequiresAnApiKey() {
        GatewayConfig config = read("providers: {google: {type: gemini, api_key: ${GEMINI_API_KEY}}}",
                Map.of("GEMINI_API_KEY", "AIza")).config();

        ProviderConfig google = config.providers().get("google");
        assertEquals("gemini", google.type());
        assertEquals("https://generativelanguage.googleapis.com/v1beta", google.baseUrl().toString());
        assertEquals("AIza", google.apiKey());
        assertEquals("providers.google.api_key: missing (required for type gemini, e.g. api_key: ${GEMINI_API_KEY})",
                error("providers: {google: {type: gemini}}"));
    }

    @Test
    void requiresAnApiKeyEntryForHostedApisButNotForOpenAiCompatibleServers() {
        assertEquals("providers.claude.api_key: missing (required for type anthropic, e.g. api_key: ${ANTHROPIC_API_KEY})",
                error("providers: {claude: {type: anthropic}}"));
        assertEquals("providers.az.api_key: missing (required for type azure_openai, e.g. api_key:"
                        + " ${AZURE_OPENAI_API_KEY})",
                error("providers: {az: {type: azure_openai, base_url: 'https://r.openai.azure.com', api_version: 2024-10-21}}"));

        ProviderConfig ollama = parse("providers: {ollama: {type: openai, base_url: 'http://127.0.0.1:11434/v1'}}")
                .providers().get("ollama");
        assertTrue(ollama.enabled());
        assertNull(ollama.apiKey());
    }

    @Test
    void disablesAnthropicWhoseKeyVariableIsUnset() {
        ConfigLoader.Loaded loaded = read("""
                providers: {claude: {type: anthropic, api_key: ${ANTHROPIC_API_KEY}}}
                models: [{name: claude-sonnet-4-5, provider: claude}]
                """, Map.of());

        assertFalse(loaded.config().providers().get("claude").enabled());
        assertEquals(List.of("Provider claude disabled: ANTHROPIC_API_KEY is not set; its model claude-sonnet-4-5"
                + " answers 404 until it is"), loaded.warnings());
    }

    @Test
    void readsAzureResourceEndpointAndApiVersion() {
        ProviderConfig azure = parse("""
                providers:
                  azure: {type: azure_openai, base_url: 'https://my-resource.openai.azure.com', api_key: ${AZURE_OPENAI_API_KEY},
                          api_version: 2024-10-21}
                models: [{name: gpt-4o, provider: azure, upstream_name: gpt-4o-prod}]
                """).providers().get("azure");

        assertEquals("azure_openai", azure.type());
        assertEquals("https://my-resource.openai.azure.com", azure.baseUrl().toString());
        assertEquals(Map.of("api_version", "2024-10-21"), azure.options());
        assertEquals("az", azure.apiKey());
    }

    @Test
    void rejectsAzureWithoutBaseUrlOrApiVersion() {
        assertEquals("providers.azure.base_url: missing (required for type azure_openai, e.g."
                        + " https://my-resource.openai.azure.com)",
                error("providers: {azure: {type: azure_openai, api_key: k, api_version: 2024-10-21}}"));
        assertEquals("providers.azure.api_version: missing (required for type azure_openai, e.g. 2024-10-21)",
                error("providers: {azure: {type: azure_openai, base_url: 'https://r.openai.azure.com', api_key: k}}"));
        assertEquals("providers.azure.api_version: '2024-10-21&x=1' (expected: letters, digits, '.', '_' or '-',"
                        + " e.g. 2024-10-21)",
                error("providers: {azure: {type: azure_openai, base_url: 'https://r.openai.azure.com', api_key: k,"
                        + " api_version: '2024-10-21&x=1'}}"));
        assertEquals("providers.azure.deployment: unknown key (expected one of: type, base_url, api_key,"
                        + " connect_timeout_ms, read_timeout_ms, max_idle_connections, max_retries, retry_backoff_ms, retry_budget_percent, breaker_failures, breaker_cooldown_ms, first_byte_timeout_ms, total_timeout_ms, forward_client_org_headers, api_version)",
                error("providers: {azure: {type: azure_openai, base_url: 'https://r.openai.azure.com', api_key: k,"
                        + " api_version: 2024-10-21, deployment: x}}"));
    }

    @Test
    void rejectsApiVersionOnTypesThatTakeNone() {
        assertTrue(error("providers: {claude: {type: anthropic, api_key: k, api_version: 2024-10-21}}")
                .startsWith("providers.claude.api_version: unknown key"));
    }

    // ---- pricing.litellm

    private static final String LITELLM = """
            {
              "sample_spec": {"input_cost_per_token": 0.0, "mode": "one of: chat, embedding"},
              "claude-sonnet-4-5": {"input_cost_per_token": 9e-06, "output_cost_per_token": 9e-06, "mode": "chat"},
              "deepseek/deepseek-chat": {"input_cost_per_token": 2.8e-07, "input_cost_per_token_cache_hit": 2.8e-08,
                                         "output_cost_per_token": 4.2e-07, "max_output_tokens": 8192, "mode": "chat"},
              "mistral/mistral-large-2512": {"input_cost_per_token": 5e-07, "output_cost_per_token": 1.5e-06, "mode": "chat"}
            }
            """;

    @Test
    void pricesModelsTheCatalogLacksFromTheLiteLlmFile() throws Exception {
        Files.createDirectories(dir.resolve("prices"));
        Files.writeString(dir.resolve("prices/litellm.json"), LITELLM);

        GatewayConfig config = parse("""
                pricing: {catalog: prices.yaml, litellm: prices/litellm.json}
                providers:
                  claude: {type: anthropic, api_key: k}
                  deepseek: {type: openai, base_url: 'https://api.deepseek.com', api_key: k}
                  mistral: {type: openai, base_url: 'https://api.mistral.ai/v1', api_key: k}
                models:
                  - {name: claude-sonnet-4-5, provider: claude}
                  - {name: deepseek-chat, provider: deepseek}
                  - {name: large, provider: mistral, upstream_name: mistral-large-2512}
                """);

        assertSame(CATALOG_SONNET, config.models().get("claude-sonnet-4-5").price(), "the catalog wins");
        assertEquals(new ModelPrice(280_000_000L, 420_000_000L, 28_000_000L, 280_000_000L, 420_000_000L, 8_192),
                config.models().get("deepseek-chat").price());
        assertEquals(ModelPrice.of(500_000_000L, 1_500_000_000L), config.models().get("large").price());
    }

    @Test
    void warnsWhenTheLiteLlmFileIsMissingAndFailsWhenItIsBroken() throws Exception {
        ConfigLoader.Loaded loaded = read("""
                pricing: {litellm: nowhere.json}
                providers: {claude: {type: anthropic, api_key: k}}
                models: [{name: claude-x, provider: claude}]
                """, Map.of());
        assertEquals(List.of("pricing.litellm: " + dir.resolve("nowhere.json") + " not found; models are priced from"
                        + " the catalog and their price: blocks only",
                "model claude-x has no price: its calls are refused (model_not_priced) until it has one, or pricing.allow_unpriced is true"), loaded.warnings());

        Path broken = Files.writeString(dir.resolve("broken.json"), "[]");
        String message = error("pricing: {litellm: broken.json}");
        assertTrue(message.startsWith("pricing.litellm: " + broken + ": not a JSON object"), message);
        assertEquals("pricing.lite_llm: unknown key (expected one of: catalog, litellm, allow_unpriced, unpriced_reserve_usd, stale_after_days)",
                error("pricing: {lite_llm: x.json}"));
    }
}
