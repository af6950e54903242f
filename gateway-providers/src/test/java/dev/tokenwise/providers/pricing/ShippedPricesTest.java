package dev.tokenwise.providers.pricing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenwise.core.model.ModelPrice;
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
        assertEquals(new ModelPrice(3_000_000_000L, 15_000_000_000L, 300_000_000L, 3_750_000_000L,
                15_000_000_000L, 64_000), price("claude-sonnet-4-5-20250929"));
        for (Map.Entry<String, ModelPrice> e : SHIPPED.prices().entrySet()) {
            if (e.getKey().startsWith("claude-")) {
                ModelPrice p = e.getValue();
                // Cache hits cost about 0.1x input and 5-minute writes 1.25x (Claude Haiku 3 rounds both up).
                assertTrue(p.cachedInputNanosPerMtok() < p.inputNanosPerMtok() / 5, e.getKey());
                assertTrue(p.cacheWriteNanosPerMtok() > p.inputNanosPerMtok(), e.getKey());
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
}
