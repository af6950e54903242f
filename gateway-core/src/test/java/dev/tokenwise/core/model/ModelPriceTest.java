package dev.tokenwise.core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import org.junit.jupiter.api.Test;

class ModelPriceTest {
    private static final ModelPrice GPT_4O_MINI = new ModelPrice(150_000_000L, 600_000_000L, 75_000_000L,
            150_000_000L, 600_000_000L, 16_384);

    @Test
    void convertsUsdPerMillionTokensToNanosExactly() {
        assertEquals(75_000_000L, ModelPrice.usdPerMtokToNanos(new BigDecimal("0.075")));
        assertEquals(15_000_000_000L, ModelPrice.usdPerMtokToNanos(new BigDecimal("15")));
        assertEquals(1L, ModelPrice.usdPerMtokToNanos(new BigDecimal("0.000000001")));
    }

    @Test
    void rejectsPricesFinerThanOneNano() {
        assertThrows(IllegalArgumentException.class, () -> ModelPrice.usdPerMtokToNanos(new BigDecimal("0.0000000001")));
        assertThrows(IllegalArgumentException.class, () -> ModelPrice.usdPerMtokToNanos(new BigDecimal("-1")));
    }

    @Test
    void pricesCachedAndReasoningTokensAtTheirOwnRates() {
        // 600 uncached input at 0.15, 400 cached at 0.075, 500 output at 0.60 (USD per Mtok):
        // 600*150 + 400*75 + 500*600 = 90_000 + 30_000 + 300_000 nano-USD.
        TokenUsage usage = new TokenUsage(1000, 400, 0, 500, 0);
        assertEquals(420_000L, GPT_4O_MINI.costNanos(usage));
        ModelPrice reasoningDearer = new ModelPrice(1_000_000_000L, 2_000_000_000L, 500_000_000L, 1_250_000_000L,
                4_000_000_000L, 0);
        // 100 input, 10 cache-write at 1.25, 300 output of which 200 reasoning at 4.0
        TokenUsage withReasoning = new TokenUsage(110, 0, 10, 300, 200);
        assertEquals(100 * 1000 + 10 * 1250 + 100 * 2000 + 200 * 4000, reasoningDearer.costNanos(withReasoning));
    }

    @Test
    void valuesWhatThePromptCacheSavedAtTheDifferenceOfTheInputAndCachedPrices() {
        // $2.50 and $1.25 per Mtok: 2,048 cached tokens save 2,048 x $1.25 / 10^6 = $0.00256.
        ModelPrice gpt4o = new ModelPrice(2_500_000_000L, 10_000_000_000L, 1_250_000_000L, 2_500_000_000L,
                10_000_000_000L, 0);
        assertEquals(2_560_000, gpt4o.promptCacheSavedNanos(new TokenUsage(5_000, 2_048, 0, 10, 0)));
        // $0.15 and $0.075: 333 cached tokens save 24,975 nano-USD; rounded half up once, at the end.
        ModelPrice mini = new ModelPrice(150_000_000, 600_000_000, 75_000_000, 150_000_000, 600_000_000, 0);
        assertEquals(24_975, mini.promptCacheSavedNanos(new TokenUsage(1_000, 333, 0, 1, 0)));
        assertEquals(0, mini.promptCacheSavedNanos(new TokenUsage(1_000, 0, 0, 1, 0)), "nothing cached, nothing saved");
        assertEquals(0, ModelPrice.of(150_000_000, 600_000_000).promptCacheSavedNanos(new TokenUsage(1_000, 500, 0, 1, 0)),
                "cached input at the full price saves nothing");
    }

    @Test
    void roundsTheWholeCostHalfUpOnce() {
        ModelPrice cheap = ModelPrice.of(100_000L, 0); // $0.0001 per Mtok: 0.1 nano per token
        assertEquals(0L, cheap.costNanos(TokenUsage.of(4, 0)));  // 0.4 -> 0
        assertEquals(1L, cheap.costNanos(TokenUsage.of(5, 0)));  // 0.5 -> 1
        assertEquals(1L, cheap.costNanos(TokenUsage.of(14, 0))); // 1.4 -> 1
    }

    @Test
    void pricesExactlyAUsageWhoseIntermediateSumOverflowsALong() {
        // 10^9 output tokens at $600 per Mtok: 6 × 10^20 nano-USD × tokens per million, beyond a long, costs $600,000.
        ModelPrice dear = ModelPrice.of(150_000_000_000L, 600_000_000_000L);
        assertEquals(600_000_000_000_000L, dear.costNanos(TokenUsage.of(0, TokenUsage.MAX_PLAUSIBLE_TOKENS)));
        assertEquals(750_000_000_000_000L, dear.costNanos(TokenUsage.of(TokenUsage.MAX_PLAUSIBLE_TOKENS,
                TokenUsage.MAX_PLAUSIBLE_TOKENS)));
    }

    @Test
    void throwsOnlyWhenTheCostItselfDoesNotFitALong() {
        // 10^15 tokens each way, which overflowed the long sum before, cost 7.5 × 10^17 nano-USD: still a long.
        assertEquals(750_000_000_000_000_000L, GPT_4O_MINI.costNanos(TokenUsage.of(1_000_000_000_000_000L,
                1_000_000_000_000_000L)));
        TokenUsage absurd = TokenUsage.of(1_000_000_000_000_000_000L, 1_000_000_000_000_000_000L);
        assertThrows(ArithmeticException.class, () -> GPT_4O_MINI.costNanos(absurd));
    }

    @Test
    void believesNoMoreThanABillionTokensOnEitherSide() {
        assertTrue(TokenUsage.of(TokenUsage.MAX_PLAUSIBLE_TOKENS, TokenUsage.MAX_PLAUSIBLE_TOKENS).plausible());
        assertFalse(TokenUsage.of(TokenUsage.MAX_PLAUSIBLE_TOKENS + 1, 0).plausible());
        assertFalse(TokenUsage.of(0, 1_000_000_000_000_000L).plausible());
    }

    @Test
    void refusesCachedAndCacheWriteTokensWhoseSumOverflows() {
        assertThrows(IllegalArgumentException.class, () -> new TokenUsage(10, Long.MAX_VALUE, Long.MAX_VALUE, 0, 0));
    }

    @Test
    void formatsMoneyForMessages() {
        assertEquals("$5.00", Money.format(5_000_000_000L));
        assertEquals("$0.0012", Money.format(1_200_000L));
        assertEquals(new BigDecimal("0.00000042"), Money.toUsd(420L));
    }
}
