package dev.tokenwise.server.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenwise.core.config.BudgetPeriod;
import dev.tokenwise.core.config.GatewayConfig;
import dev.tokenwise.core.config.KeyConfig;
import dev.tokenwise.core.config.ProviderConfig;
import dev.tokenwise.core.config.TeamConfig;
import dev.tokenwise.core.model.ModelPrice;
import dev.tokenwise.core.spi.PriceCatalog;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The config the product ships must load as it is, with or without provider keys. */
class ShippedConfigTest {

    /** Stands in for config/prices.yaml (its reader lives in gateway-providers): knows every shipped model. */
    private static final PriceCatalog CATALOG = model -> Optional.of(ModelPrice.of(150_000_000, 600_000_000));

    /** Maven runs tests in the module directory, an IDE often in the repository root: look upwards. */
    static Path shippedConfig() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path candidate = dir.resolve("config").resolve("gateway.yaml");
            if (Files.isRegularFile(candidate)) {
                return candidate;
            }
        }
        throw new AssertionError("config/gateway.yaml not found above " + Path.of("").toAbsolutePath());
    }

    @Test
    void shippedConfigParsesWithEmptyEnvironment() {
        List<Path> catalogs = new ArrayList<>();
        ConfigLoader.Loaded loaded = ConfigLoader.read(shippedConfig(), Map.of(), file -> {
            catalogs.add(file);
            return CATALOG;
        });
        GatewayConfig config = loaded.config();

        assertEquals(List.of(shippedConfig().getParent().resolve("prices.yaml")), catalogs,
                "the shipped config is priced by config/prices.yaml");
        assertTrue(config.models().values().stream().allMatch(m -> m.price() != null));

        assertEquals("127.0.0.1", config.server().host());
        assertEquals(8080, config.server().port());
        assertEquals(33_554_432, config.server().maxRequestBytes());
        assertNull(config.adminKey(), "an unset TOKENWISE_ADMIN_KEY disables the admin API");
        assertEquals("data/tokenwise.db", config.storagePath());

        ProviderConfig openai = config.providers().get("openai");
        assertFalse(openai.enabled());
        assertNull(openai.apiKey());
        assertEquals("api_key is empty (set OPENAI_API_KEY)", openai.disabledReason());
        assertEquals("https://api.openai.com/v1", openai.baseUrl().toString());
        ProviderConfig sim = config.providers().get("sim");
        assertTrue(sim.enabled());
        assertEquals("simulator", sim.type());
        assertNull(sim.baseUrl());
        assertEquals("15", sim.options().get("chunk_delay_ms"));
        // sim-small and sim-large have skill on the builtin eval suite, so tokenwise eval prints a real table.
        var skills = dev.tokenwise.providers.simulator.SimulatorSettings.fromOptions("sim", sim.options()).skills();
        assertEquals(0.78, skills.get("sim-small").normal().accuracy());
        assertEquals(0.96, skills.get("sim-large").normal().accuracy());
        assertFalse(skills.containsKey("sim-embed"));

        assertEquals(List.of("gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "text-embedding-3-small",
                "sim-small", "sim-large", "sim-embed"), List.copyOf(config.models().keySet()));

        TeamConfig demo = config.teams().get(0);
        assertEquals("demo", demo.name());
        assertEquals(5_000_000_000L, demo.budget().limitNanos());
        assertEquals(BudgetPeriod.DAILY, demo.budget().period());
        KeyConfig key = demo.keys().get(0);
        assertEquals(dev.tokenwise.core.auth.KeyHashes.sha256Hex("tw-demo-key"), key.keyHash());
        assertEquals(List.of(), key.models());

        assertEquals(List.of("Provider openai disabled: OPENAI_API_KEY is not set; its models"
                + " (gpt-4o-mini, gpt-4o, gpt-4.1-mini, text-embedding-3-small) answer 404 until it is"),
                loaded.warnings());
    }

    @Test
    void shippedConfigEnablesOpenAiAndTakesKeysFromEnvironment() {
        GatewayConfig config = ConfigLoader.load(shippedConfig(), Map.of("OPENAI_API_KEY", "sk-test",
                "TOKENWISE_ADMIN_KEY", "admin-secret", "TOKENWISE_DEMO_KEY", "tw-real"), file -> CATALOG);

        assertTrue(config.providers().get("openai").enabled());
        assertEquals("sk-test", config.providers().get("openai").apiKey());
        assertEquals("admin-secret", config.adminKey());
        assertEquals(dev.tokenwise.core.auth.KeyHashes.sha256Hex("tw-real"), config.teams().get(0).keys().get(0).keyHash());
    }
}
