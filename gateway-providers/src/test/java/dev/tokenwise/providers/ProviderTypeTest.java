package dev.tokenwise.providers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenwise.core.config.ConfigException;
import dev.tokenwise.core.config.ProviderConfig;
import dev.tokenwise.core.model.Endpoint;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Every provider type is registered once in {@link ProviderType}: its adapter, its config rules and its docs. */
class ProviderTypeTest {

    /** docs/configuration.md, read from the module directory Maven runs the tests in. */
    private static String configurationDoc() throws Exception {
        Path doc = Path.of("..", "docs", "configuration.md");
        if (!Files.exists(doc)) {
            doc = Path.of("docs", "configuration.md");
        }
        return Files.readString(doc);
    }

    /** The smallest config of {@code type} that its own rules accept. */
    private static ProviderConfig minimal(ProviderType type) {
        Map<String, String> options = new LinkedHashMap<>();
        for (String key : type.requiredOptions()) {
            options.put(key, "2024-10-21");
        }
        URI baseUrl = switch (type.baseUrl()) {
            case FORBIDDEN -> null;
            case OPTIONAL -> URI.create(type.defaultBaseUrl());
            case REQUIRED -> URI.create(type.baseUrlExample());
        };
        return new ProviderConfig("p", type.label(), baseUrl, type.apiKeyRequired() ? "k" : null, null,
                Duration.ofSeconds(5), Duration.ofSeconds(120), 64, options);
    }

    @Test
    void everyRegisteredTypeBuildsAnAdapterThatSpeaksChat() {
        for (ProviderType type : ProviderType.values()) {
            var adapter = ProviderAdapters.create(minimal(type));
            assertNotNull(adapter, type.label());
            assertTrue(adapter.supports(Endpoint.CHAT_COMPLETIONS), type.label() + " serves chat completions");
        }
    }

    @Test
    void everyRegisteredTypeIsDocumentedInTheConfigurationReference() throws Exception {
        String doc = configurationDoc();
        String typeRow = doc.lines().filter(l -> l.startsWith("| `type` |")).findFirst().orElseThrow();
        String baseUrlRow = doc.lines().filter(l -> l.startsWith("| `base_url` |")).findFirst().orElseThrow();
        for (ProviderType type : ProviderType.values()) {
            assertTrue(typeRow.contains("`" + type.label() + "`"), type.label() + " is listed in the type row");
            assertTrue(doc.contains("`type: " + type.label() + "`"), type.label() + " has a paragraph");
            if (type.baseUrl() == ProviderType.BaseUrl.OPTIONAL) {
                assertTrue(baseUrlRow.contains("`" + type.defaultBaseUrl() + "` for `" + type.label() + "`"),
                        type.label() + "'s default base URL is documented");
            }
            for (String option : type.requiredOptions()) {
                assertTrue(doc.contains("| `" + option + "` |") && doc.contains("required for `" + type.label() + "`"),
                        type.label() + "'s option " + option + " is documented");
            }
        }
    }

    @Test
    void namesTheKeyVariableOfEachHostedType() {
        assertEquals("ANTHROPIC_API_KEY", ProviderType.ANTHROPIC.keyVariable());
        assertEquals("AZURE_OPENAI_API_KEY", ProviderType.AZURE_OPENAI.keyVariable());
        assertEquals("GEMINI_API_KEY", ProviderType.GEMINI.keyVariable());
        assertEquals("OPENAI_API_KEY", ProviderType.OPENAI.keyVariable());
    }

    @Test
    void parsesLabelsAndRefusesUnknownOnesListingTheRegisteredTypes() {
        assertEquals(ProviderType.AZURE_OPENAI, ProviderType.parse("azure_openai", "providers.p.type"));
        assertEquals("providers.p.type: 'bedrock' (expected one of: openai, anthropic, azure_openai, gemini, simulator)",
                assertThrows(ConfigException.class, () -> ProviderType.parse("bedrock", "providers.p.type"))
                        .getMessage());
    }
}
