package dev.tokenwise.providers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.tokenwise.core.config.ConfigException;
import dev.tokenwise.core.config.ProviderConfig;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.providers.anthropic.AnthropicAdapter;
import dev.tokenwise.providers.azure.AzureOpenAiAdapter;
import dev.tokenwise.providers.gemini.GeminiAdapter;
import dev.tokenwise.providers.openai.OpenAiAdapter;
import java.net.URI;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ProviderAdaptersTest {

    private static ProviderConfig provider(String type, String apiKey, Map<String, String> options) {
        return new ProviderConfig("p", type, URI.create("https://example.test/v1"), apiKey, null,
                Duration.ofSeconds(5), Duration.ofSeconds(120), 64, options);
    }

    @Test
    void choosesTheAdapterByProviderType() {
        assertInstanceOf(OpenAiAdapter.class, ProviderAdapters.create(provider("openai", "sk", Map.of())));
        assertInstanceOf(OpenAiAdapter.class, ProviderAdapters.create(provider("openai", null, Map.of())),
                "local OpenAI-compatible servers need no key");
        assertInstanceOf(OpenAiAdapter.class, ProviderAdapters.create(provider("simulator", null, Map.of())));
        assertInstanceOf(AnthropicAdapter.class, ProviderAdapters.create(provider("anthropic", "sk-ant", Map.of())));
        assertInstanceOf(AzureOpenAiAdapter.class, ProviderAdapters.create(
                provider("azure_openai", "k", Map.of("api_version", "2024-10-21"))));
        assertInstanceOf(GeminiAdapter.class, ProviderAdapters.create(provider("gemini", "AIza", Map.of())));
    }

    @Test
    void passesTheAzureApiVersionToTheDeploymentUrl() {
        assertEquals("/openai/deployments/prod/chat/completions?api-version=2024-10-21",
                ProviderAdapters.create(provider("azure_openai", "k", Map.of("api_version", "2024-10-21")))
                        .upstreamPath(Endpoint.CHAT_COMPLETIONS, "prod"));
    }

    @Test
    void refusesAzureWithoutApiVersionAndUnknownTypes() {
        assertEquals("providers.p.api_version: missing (required for type azure_openai, e.g. 2024-10-21)",
                assertThrows(ConfigException.class,
                        () -> ProviderAdapters.create(provider("azure_openai", "k", Map.of()))).getMessage());
        assertEquals("providers.p.type: 'bedrock' (expected one of: openai, anthropic, azure_openai, gemini, simulator)",
                assertThrows(ConfigException.class,
                        () -> ProviderAdapters.create(provider("bedrock", "k", Map.of()))).getMessage());
    }
}
