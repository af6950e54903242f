package dev.tokenwise.providers.pricing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenwise.core.config.ConfigException;
import dev.tokenwise.core.model.ModelPrice;
import dev.tokenwise.core.model.Rates;
import dev.tokenwise.core.model.ServiceTier;
import dev.tokenwise.core.model.TokenUsage;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.LocalDate;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class YamlPriceCatalogTest {

    /** The shipped catalog, relative to the module directory that surefire runs in. */
    private static final Path SHIPPED = Paths.get("..", "config", "prices.yaml");

    @TempDir
    Path dir;

    @Test
    void loadsTheShippedCatalog() {
        YamlPriceCatalog catalog = YamlPriceCatalog.load(SHIPPED);

        for (String model : List.of("gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "gpt-5",
                "gpt-5-mini", "gpt-5-nano", "o1", "o3", "o3-mini", "o4-mini", "gpt-3.5-turbo", "gpt-4-turbo",
                "text-embedding-3-small", "text-embedding-3-large", "text-embedding-ada-002",
                "sim-small", "sim-large", "sim-embed")) {
            assertTrue(catalog.find(model).isPresent(), model + " is missing");
        }
        assertEquals(Optional.of(LocalDate.of(2026, 11, 28)), catalog.checked());
        // $0.15 / $0.60 / cached $0.075 per Mtok; cache writes at the input price, reasoning at the output price.
        assertEquals(new Rates(150_000_000, 600_000_000, 75_000_000, 150_000_000, 150_000_000, 600_000_000),
                catalog.find("gpt-4o-mini").orElseThrow().base());
        assertEquals(new ModelPrice(20_000_000, 0, 20_000_000, 20_000_000, 0, 0),
                catalog.find("text-embedding-3-small").orElseThrow());
        assertEquals(new ModelPrice(2_500_000_000L, 10_000_000_000L, 1_250_000_000, 2_500_000_000L, 10_000_000_000L, 16_384),
                catalog.find("sim-large").orElseThrow());
    }

    @ParameterizedTest(name = "${0} per Mtok = {1} nano-USD")
    @CsvSource({"0.075, 75000000", "0.005, 5000000", "0.025, 25000000", "0.275, 275000000", "0.15, 150000000",
            "1.25, 1250000000", "60.00, 60000000000", "0.000000001, 1", "0, 0"})
    void convertsPricesToNanosExactly(String usdPerMtok, long nanos) {
        ModelPrice price = YamlPriceCatalog.parsePrice(Map.of("input_per_mtok", new BigDecimal(usdPerMtok),
                "output_per_mtok", new BigDecimal(usdPerMtok)), "test");

        assertEquals(nanos, price.inputNanosPerMtok());
        assertEquals(nanos, price.outputNanosPerMtok());
    }

    @Test
    void neverRoundsPricesThroughDouble() throws IOException {
        // 17 significant digits: through a double this would read 99999999.12345679 (and be rejected or rounded).
        Path file = write("models:\n  m: {input_per_mtok: 99999999.123456789, output_per_mtok: 0.1}\n");

        assertEquals(99_999_999_123_456_789L, YamlPriceCatalog.load(file).find("m").orElseThrow().inputNanosPerMtok());
    }

    @Test
    void readsShortestDecimalOfDoublesFromOtherMappers() {
        // A mapper without USE_BIG_DECIMAL_FOR_FLOATS yields Double 0.075, whose binary value is 0.07499999999999999722...
        ModelPrice price = YamlPriceCatalog.parsePrice(Map.of("input_per_mtok", 0.075, "output_per_mtok", 0.3), "test");

        assertEquals(75_000_000, price.inputNanosPerMtok());
        assertEquals(300_000_000, price.outputNanosPerMtok());
    }

    @Test
    void parsesJsonTreesWithTheSameRules() throws IOException {
        ObjectMapper json = new ObjectMapper();
        ModelPrice price = YamlPriceCatalog.parsePrice(json.readTree(
                "{\"input_per_mtok\": 3, \"output_per_mtok\": \"15.00\", \"cache_write_per_mtok\": 3.75,"
                        + " \"cached_input_per_mtok\": 0.30, \"max_output_tokens\": 64000}"), "models[claude].price");

        assertEquals(new ModelPrice(3_000_000_000L, 15_000_000_000L, 300_000_000, 3_750_000_000L, 15_000_000_000L, 64_000), price);
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
            "gpt-4o-mini-2024-07-18, gpt-4o-mini",
            "gpt-4.1-2025-04-14, gpt-4.1",
            "gpt-4.1-nano-2025-04-14, gpt-4.1-nano",
            "gpt-4-0613, gpt-4",
            "gpt-3.5-turbo-0125, gpt-3.5-turbo",
            "gpt-4-turbo-2024-04-09, gpt-4-turbo",
            "o3-2025-04-16, o3",
            "openai/gpt-4o, gpt-4o",
            "openai/gpt-4o-2024-08-06, gpt-4o",
            "gpt-4o-2024-05-13, gpt-4o-2024-05-13",
    })
    void findsDatedSnapshotsAndProviderPrefixedIds(String requested, String listed) {
        YamlPriceCatalog catalog = YamlPriceCatalog.load(SHIPPED);

        assertEquals(catalog.prices().get(listed), catalog.find(requested).orElseThrow());
    }

    @Test
    void prefersAListedSnapshotOverItsAlias() {
        YamlPriceCatalog catalog = YamlPriceCatalog.load(SHIPPED);

        assertEquals(5_000_000_000L, catalog.find("gpt-4o-2024-05-13").orElseThrow().inputNanosPerMtok());
        assertEquals(2_500_000_000L, catalog.find("gpt-4o-2024-08-06").orElseThrow().inputNanosPerMtok());
    }

    @ParameterizedTest
    @CsvSource({"gpt-4o-mini-2024", "gpt-4o-mini-9999", "gpt-4o-mini-20240718", "gpt-4o-mini-2024-13-18", "claude-unknown", "openai/", "gpt-4o-mini-2024-7-18"})
    void findsNothingForUnlistedIds(String model) {
        assertEquals(Optional.empty(), YamlPriceCatalog.load(SHIPPED).find(model));
    }

    @Test
    void emptyCatalogKnowsNoModel() {
        assertEquals(Optional.empty(), YamlPriceCatalog.empty().find("gpt-4o"));
        assertEquals(Optional.empty(), YamlPriceCatalog.empty().find(null));
    }

    @Test
    void servesPricesGivenAsAMap() {
        Map<String, ModelPrice> prices = new LinkedHashMap<>();
        prices.put("m", ModelPrice.of(1, 2));
        YamlPriceCatalog catalog = new YamlPriceCatalog(prices);
        prices.clear();

        assertEquals(Optional.of(ModelPrice.of(1, 2)), catalog.find("m"));
        assertEquals(Optional.of(ModelPrice.of(1, 2)), catalog.find("vendor/m-2025-01-01"));
    }

    // ---------------------------------------------------------------- tiers

    @Test
    void readsInputSizeServiceTierRegionAndCacheDurationPrices() throws IOException {
        Path file = write("""
                checked: 2026-11-28
                models:
                  gpt-5.4:
                    input_per_mtok: 2.50
                    output_per_mtok: 15.00
                    cached_input_per_mtok: 0.25
                    above_input_tokens:
                      272000: {input_per_mtok: 5.00, output_per_mtok: 22.50, cached_input_per_mtok: 0.50}
                    service_tiers:
                      flex: {multiplier: 0.5}
                      priority:
                        input_per_mtok: 5.00
                        output_per_mtok: 30.00
                        cached_input_per_mtok: 0.50
                        above_input_tokens: {272000: {input_per_mtok: 10.00, output_per_mtok: 45.00}}
                    regions: {eu: 1.1}
                  claude-sonnet-4-5: {input_per_mtok: 3, output_per_mtok: 15, cached_input_per_mtok: 0.30,
                                      cache_write_per_mtok: 3.75, cache_write_1h_per_mtok: 6, checked: 2026-12-01}
                """);
        YamlPriceCatalog catalog = YamlPriceCatalog.load(file);
        ModelPrice gpt = catalog.find("gpt-5.4").orElseThrow();
        TokenUsage small = new TokenUsage(10_000, 2_000, 0, 1_000, 0);
        // 8,000 x 2.50 + 2,000 x 0.25 + 1,000 x 15 = $0.0355; flex half; priority 8,000 x 5 + 2,000 x 0.5 + 1,000 x 30
        assertEquals(35_500_000L, gpt.costNanos(small, ServiceTier.STANDARD));
        assertEquals(17_750_000L, gpt.costNanos(small, ServiceTier.FLEX));
        assertEquals(71_000_000L, gpt.costNanos(small, ServiceTier.PRIORITY));
        // Above 272k on priority: 300,000 x 10 + 1,000 x 45 = $3.045
        assertEquals(3_045_000_000L, gpt.costNanos(TokenUsage.of(300_000, 1_000), ServiceTier.PRIORITY));
        // Region eu: 1,000 x 2.75 + 1,000 x 16.50 = $0.01925
        assertEquals(19_250_000L, gpt.inRegion("eu").costNanos(TokenUsage.of(1_000, 1_000)));
        assertEquals(LocalDate.of(2026, 11, 28), gpt.checked(), "the file's date");

        ModelPrice sonnet = catalog.find("claude-sonnet-4-5").orElseThrow();
        assertEquals(6_000_000_000L, sonnet.cacheWrite1hNanosPerMtok());
        assertEquals(LocalDate.of(2026, 12, 1), sonnet.checked(), "the entry's own date");
        // 100 plain, 900 written for an hour: 100 x 3 + 900 x 6 = $0.0057
        assertEquals(5_700_000L, sonnet.costNanos(new TokenUsage(1_000, 0, 900, 0, 0, 900)));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "m: {input_per_mtok: 1, output_per_mtok: 1, above_input_tokens: {lots: {input_per_mtok: 2, output_per_mtok: 2}}} | models.m.above_input_tokens.lots: not a threshold",
            "m: {input_per_mtok: 1, output_per_mtok: 1, above_input_tokens: {1000: {input_per_mtok: 2}}} | models.m.above_input_tokens.1000.output_per_mtok: missing",
            "m: {input_per_mtok: 1, output_per_mtok: 1, service_tiers: {turbo: {multiplier: 2}}}        | models.m.service_tiers.turbo: unknown service tier",
            "m: {input_per_mtok: 1, output_per_mtok: 1, service_tiers: {flex: {multiplier: 0}}}         | models.m.service_tiers.flex.multiplier: 0",
            "m: {input_per_mtok: 1, output_per_mtok: 1, service_tiers: {flex: {multiplier: 0.5, input_per_mtok: 1}}} | models.m.service_tiers.flex: multiplier and rates together",
            "m: {input_per_mtok: 1, output_per_mtok: 1, regions: {eu: -1}}                              | models.m.regions.eu: -1",
            "m: {input_per_mtok: 1, output_per_mtok: 1, checked: soon}                                  | models.m.checked: soon",
    })
    void rejectsBadTiersNamingWhere(String entry, String expectedMessageStart) throws IOException {
        Path file = write("models:\n  " + entry + "\n");

        ConfigException e = assertThrows(ConfigException.class, () -> YamlPriceCatalog.load(file));

        assertTrue(e.getMessage().startsWith(file + ": " + expectedMessageStart), e.getMessage());
    }

    // ---------------------------------------------------------------- bad files

    @Test
    void namesFileModelAndFieldOfABadPrice() throws IOException {
        Path file = write("checked: 2026-11-28\nmodels:\n  good: {input_per_mtok: 1, output_per_mtok: 2}\n"
                + "  broken-model: {input_per_mtok: 0.15, output_per_mtok: -0.60}\n");

        ConfigException e = assertThrows(ConfigException.class, () -> YamlPriceCatalog.load(file));

        assertEquals(file + ": models.broken-model.output_per_mtok: -0.60 (expected: a decimal number of USD per million"
                + " tokens, >= 0, at most 9 decimals)", e.getMessage());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "m: {input_per_mtok: 0.15}                                          | models.m.output_per_mtok: missing",
            "m: {input_per_mtok: cheap, output_per_mtok: 1}                     | models.m.input_per_mtok: cheap",
            "m: {input_per_mtok: 0.0000000001, output_per_mtok: 1}              | models.m.input_per_mtok: 0.0000000001 (expected",
            "m: {input_per_mtok: 1, output_per_mtok: 1, cached_input: 0.5}      | models.m.cached_input: unknown field",
            "m: {input_per_mtok: 1, output_per_mtok: 1, max_output_tokens: 1.5} | models.m.max_output_tokens: 1.5",
            "m: {input_per_mtok: 1, output_per_mtok: 1, max_output_tokens: -1}  | models.m.max_output_tokens: -1",
            "m:                                                                 | models.m: missing",
            "m: [1, 2]                                                          | models.m: [1,2]",
    })
    void rejectsBadFieldsNamingModelAndField(String entry, String expectedMessageStart) throws IOException {
        Path file = write("models:\n  " + entry + "\n");

        ConfigException e = assertThrows(ConfigException.class, () -> YamlPriceCatalog.load(file));

        assertTrue(e.getMessage().startsWith(file + ": " + expectedMessageStart), e.getMessage());
    }

    @Test
    void rejectsAModelListedTwice() throws IOException {
        Path file = write("models:\n  gpt-4o: {input_per_mtok: 2.5, output_per_mtok: 10}\n"
                + "  gpt-4o: {input_per_mtok: 5, output_per_mtok: 15}\n");

        ConfigException e = assertThrows(ConfigException.class, () -> YamlPriceCatalog.load(file));

        assertTrue(e.getMessage().startsWith(file + ": invalid YAML"), e.getMessage());
        assertTrue(e.getMessage().contains("gpt-4o"), e.getMessage());
    }

    @Test
    void rejectsBadFileShapes() throws IOException {
        assertMessage(write(""), ": empty");
        assertMessage(write("- a\n- b\n"), ": not a map");
        assertMessage(write("checked: 2026-11-28\n"), ": models: missing");
        assertMessage(write("model:\n  m: {input_per_mtok: 1, output_per_mtok: 1}\n"), ": model: unknown key");
        assertMessage(write("checked: last week\nmodels: {}\n"), ": checked: last week");
        assertMessage(write("models: {m: {input_per_mtok: 1\n"), ": invalid YAML");
        assertMessage(dir.resolve("absent.yaml"), ": cannot read");
    }

    // ---------------------------------------------------------------- cost arithmetic

    @Test
    void chargesCachedInputAtItsOwnRate() {
        ModelPrice miniPrice = YamlPriceCatalog.load(SHIPPED).find("gpt-4o-mini").orElseThrow();
        // 1000 prompt tokens of which 400 cached, 500 completion tokens:
        // (600 × 150,000,000 + 400 × 75,000,000 + 500 × 600,000,000) / 1,000,000 = 420,000 nano-USD ($0.00042)
        TokenUsage usage = new TokenUsage(1000, 400, 0, 500, 0);

        assertEquals(420_000, miniPrice.costNanos(usage));
    }

    @Test
    void chargesReasoningAndCacheWritesAtTheirOwnRates() {
        ModelPrice price = YamlPriceCatalog.parsePrice(Map.of("input_per_mtok", new BigDecimal("3"),
                "output_per_mtok", new BigDecimal("15"), "cached_input_per_mtok", new BigDecimal("0.30"),
                "cache_write_per_mtok", new BigDecimal("3.75"), "reasoning_per_mtok", new BigDecimal("20")), "test");
        // input 1000 = 500 plain + 300 cached + 200 written; output 400 = 100 plain + 300 reasoning:
        // (500×3e9 + 300×3e8 + 200×3.75e9 + 100×15e9 + 300×20e9) / 1e6 = 9,840,000 nano-USD
        TokenUsage usage = new TokenUsage(1000, 300, 200, 400, 300);

        assertEquals(9_840_000, price.costNanos(usage));
    }

    @Test
    void defaultsReasoningToTheOutputRate() {
        ModelPrice o3 = YamlPriceCatalog.load(SHIPPED).find("o3").orElseThrow();
        TokenUsage withReasoning = new TokenUsage(0, 0, 0, 1000, 800);

        // 1000 output tokens at $8.00/Mtok whether reasoning or not = 8,000,000 nano-USD
        assertEquals(8_000_000, o3.costNanos(withReasoning));
    }

    @Test
    void roundsTheTotalCostHalfUpOnce() {
        // $0.0000005 per Mtok = 500 nano-USD per Mtok: 1000 tokens cost 0.5 nano-USD, 999 tokens 0.4995.
        ModelPrice price = YamlPriceCatalog.parsePrice(Map.of("input_per_mtok", "0.0000005", "output_per_mtok", "0.0000005"), "test");

        assertEquals(1, price.costNanos(TokenUsage.of(1000, 0)));
        assertEquals(0, price.costNanos(TokenUsage.of(999, 0)));
        // Rounded once over the sum, not per part: 0.4995 + 0.0005 = 0.5 -> 1.
        assertEquals(1, price.costNanos(TokenUsage.of(999, 1)));
    }

    private void assertMessage(Path file, String expectedAfterFile) {
        ConfigException e = assertThrows(ConfigException.class, () -> YamlPriceCatalog.load(file));
        assertTrue(e.getMessage().startsWith(file + expectedAfterFile), e.getMessage());
    }

    private Path write(String yaml) throws IOException {
        Path file = Files.createTempFile(dir, "prices", ".yaml");
        Files.writeString(file, yaml);
        return file;
    }
}
