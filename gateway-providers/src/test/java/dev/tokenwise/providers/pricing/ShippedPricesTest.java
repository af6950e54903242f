package dev.tokenwise.providers.pricing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenwise.core.model.ModelPrice;
import dev.tokenwise.core.model.Rates;
import dev.tokenwise.core.model.ServiceTier;
import dev.tokenwise.core.model.TokenUsage;
import java.time.LocalDate;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The shipped catalog prices every provider the gateway speaks, with their cache rates. */
class ShippedPricesTest {
    private static final YamlPriceCatalog SHIPPED = YamlPriceCatalog.load(Path.of("..", "config", "prices.yaml"));

    private static ModelPrice price(String model) {
        return SHIPPED.find(model).orElseThrow(() -> new AssertionError("no price for " + model));
    }

    @Test
    void pricesAnthropicCacheWritesAboveAndCacheReadsBelowInput() {
        assertEquals(new Rates(3_000_000_000L, 15_000_000_000L, 300_000_000L, 3_750_000_000L, 6_000_000_000L,
                15_000_000_000L), price("claude-sonnet-4-5-20250929").base());
        for (Map.Entry<String, ModelPrice> e : SHIPPED.prices().entrySet()) {
            if (e.getKey().startsWith("claude-")) {
                ModelPrice p = e.getValue();
                // Cache hits cost about 0.1x input and 5-minute writes 1.25x (Claude Haiku 3 rounds both up).
                assertTrue(p.cachedInputNanosPerMtok() < p.inputNanosPerMtok() / 5, e.getKey());
                assertTrue(p.cacheWriteNanosPerMtok() > p.inputNanosPerMtok(), e.getKey());
                // 1-hour writes cost twice the input.
                assertEquals(2 * p.inputNanosPerMtok(), p.cacheWrite1hNanosPerMtok(), e.getKey());
                assertTrue(p.maxOutputTokens() > 0, e.getKey());
            }
        }
    }

    @Test
    void pricesDeepSeekCacheHitsAndFindsPrefixedIds() {
        assertEquals(new ModelPrice(280_000_000L, 420_000_000L, 28_000_000L, 280_000_000L, 420_000_000L, 8_192),
                price("deepseek/deepseek-chat"));
    }

    @Test
    void pricesTheMajorModelsOfEveryProvider() {
        for (String model : List.of("gpt-4o", "claude-opus-4-5", "claude-haiku-4-5-20251001", "deepseek-reasoner",
                "mistral-large-latest", "llama-3.3-70b-versatile", "gemini-2.5-pro", "gemini-2.5-flash")) {
            assertTrue(price(model).inputNanosPerMtok() > 0, model);
        }
        assertEquals(125_000_000L, price("gemini-2.5-pro").cachedInputNanosPerMtok());
    }

    @Test
    void pricesGeminiFlashCacheReadsAtThreeCentsAndProAbove200kAtTheLongContextRates() {
        assertEquals(30_000_000L, price("gemini-2.5-flash").cachedInputNanosPerMtok());
        // 250,000 prompt tokens (50,000 cached) and 1,000 out: 200,000 x 2.50 + 50,000 x 0.25 + 1,000 x 15 = $0.5275
        assertEquals(527_500_000L, price("gemini-2.5-pro").costNanos(new TokenUsage(250_000, 50_000, 0, 1_000, 0)));
    }

    @Test
    void pricesTheNewerModelsTheirTiersAndDatesThem() {
        ModelPrice gpt = price("gpt-5.4");
        // 10,000 in (2,000 cached), 1,000 out: standard $0.0355, flex 8,000 x 1.25 + 2,000 x 0.13 + 1,000 x 7.50
        TokenUsage small = new TokenUsage(10_000, 2_000, 0, 1_000, 0);
        assertEquals(35_500_000L, gpt.costNanos(small, ServiceTier.STANDARD));
        assertEquals(17_760_000L, gpt.costNanos(small, ServiceTier.FLEX));
        assertEquals(71_000_000L, gpt.costNanos(small, ServiceTier.PRIORITY));
        assertEquals(1_522_500_000L, gpt.costNanos(TokenUsage.of(300_000, 1_000)));
        assertEquals(LocalDate.of(2026, 12, 7), gpt.checked());
        assertEquals(LocalDate.of(2026, 11, 28), price("gpt-4o").checked(), "the file's date");
        for (String model : List.of("o3-pro", "claude-opus-4-7", "gemini-3.1-pro-preview", "gemini-3.1-flash-lite",
                "grok-4", "qwen3.5-plus", "gpt-5.5", "mistral-medium-2508")) {
            assertTrue(price(model).inputNanosPerMtok() > 0, model);
        }
        // Sonnet 4.5 above 200k: 100,000 plain x 6 + 150,000 written for an hour x 12 = $2.40
        assertEquals(2_400_000_000L, price("claude-sonnet-4-5").costNanos(
                new TokenUsage(250_000, 0, 150_000, 0, 0, 150_000)));
    }

    @Test
    void listsNoModelWhosePriceCouldNotBeConfirmed() {
        for (String model : List.of("claude-sonnet-5", "kimi-k2.5", "gpt-5.6")) {
            assertTrue(SHIPPED.find(model).isEmpty(), model);
        }
    }
}
