package dev.tokenwise.core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.math.BigDecimal;
import java.time.LocalDate;
import java.util.List;
import java.util.Map;
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

    // ---------------------------------------------------------------- tiers (hand-computed, nano-USD)

    private static final long USD = 1_000_000_000L; // nano-USD per USD: "2.5 USD per Mtok" is 2.5 * USD nanos per Mtok

    private static Rates rates(double input, double output, double cached) {
        return new Rates(nanos(input), nanos(output), nanos(cached), nanos(input), nanos(input), nanos(output));
    }

    private static long nanos(double usdPerMtok) {
        return ModelPrice.usdPerMtokToNanos(new BigDecimal(Double.toString(usdPerMtok)));
    }

    /** Gemini 2.5 Pro: 1.25/10 (cached 0.125) up to 200k prompt tokens, 2.5/15 (cached 0.25) above. */
    private static final ModelPrice GEMINI_25_PRO = new ModelPrice(rates(1.25, 10, 0.125), 65_535,
            List.of(new ModelPrice.AboveInput(200_000, rates(2.5, 15, 0.25))), Map.of(), Map.of(), null, null);

    /** GPT-5.4: 2.5/15 (cached 0.25), 5/22.5 (cached 0.5) above 272k; flex half price; priority 5/30 (cached 0.5). */
    private static final ModelPrice GPT_54 = new ModelPrice(rates(2.5, 15, 0.25), 128_000,
            List.of(new ModelPrice.AboveInput(272_000, rates(5, 22.5, 0.5))),
            Map.of(ServiceTier.FLEX, ModelPrice.TierPrice.multiplier(500_000),
                    ServiceTier.PRIORITY, ModelPrice.TierPrice.explicit(rates(5, 30, 0.5), List.of())),
            Map.of("eu", 1_100_000L, "us", 1_100_000L), null, null);

    @Test
    void pricesEveryTokenOfACallAboveTheThresholdAtTheLongContextRates() {
        // 250,000 prompt tokens (50,000 cached), 1,000 out, above 200k:
        // 200,000 x $2.50 + 50,000 x $0.25 + 1,000 x $15 per Mtok = $0.50 + $0.0125 + $0.015 = $0.5275
        assertEquals(527_500_000L, GEMINI_25_PRO.costNanos(new TokenUsage(250_000, 50_000, 0, 1_000, 0)));
        // Exactly 200,000 prompt tokens is not above: 200,000 x $1.25 + 1,000 x $10 = $0.25 + $0.01
        assertEquals(260_000_000L, GEMINI_25_PRO.costNanos(TokenUsage.of(200_000, 1_000)));
    }

    @Test
    void pricesTheFlexTierAtHalfTheStandardPriceAtEveryInputSize() {
        TokenUsage small = new TokenUsage(10_000, 2_000, 0, 1_000, 0);
        // 8,000 x $2.50 + 2,000 x $0.25 + 1,000 x $15 per Mtok = $0.02 + $0.0005 + $0.015 = $0.0355
        assertEquals(35_500_000L, GPT_54.costNanos(small, ServiceTier.STANDARD));
        assertEquals(35_500_000L, GPT_54.costNanos(small, null));
        assertEquals(17_750_000L, GPT_54.costNanos(small, ServiceTier.FLEX));
        // Above 272k: 300,000 x $5 + 1,000 x $22.50 = $1.5225; flex half of it.
        TokenUsage large = TokenUsage.of(300_000, 1_000);
        assertEquals(1_522_500_000L, GPT_54.costNanos(large, ServiceTier.STANDARD));
        assertEquals(761_250_000L, GPT_54.costNanos(large, ServiceTier.FLEX));
    }

    @Test
    void pricesThePriorityTierAtItsExplicitRates() {
        // 8,000 x $5 + 2,000 x $0.50 + 1,000 x $30 per Mtok = $0.04 + $0.001 + $0.03 = $0.071
        assertEquals(71_000_000L, GPT_54.costNanos(new TokenUsage(10_000, 2_000, 0, 1_000, 0), ServiceTier.PRIORITY));
    }

    @Test
    void pricesAServedTierWithoutAPriceAtTheStandardRates() {
        assertEquals(35_500_000L, GPT_54.costNanos(new TokenUsage(10_000, 2_000, 0, 1_000, 0), ServiceTier.BATCH));
    }

    @Test
    void pricesOneHourCacheWritesAtTheirOwnRate() {
        // Claude Sonnet: 3/15, cache read 0.30, 5-minute writes 3.75 (1.25x), 1-hour writes 6 (2x).
        ModelPrice sonnet = new ModelPrice(3 * USD, 15 * USD, 300_000_000L, 3_750_000_000L, 15 * USD, 64_000)
                .withCacheWrite1h(6 * USD);
        // 10,000 prompt tokens: 1,000 plain, 2,000 read from cache, 7,000 written (4,000 of them for an hour); 500 out.
        // 1,000 x 3 + 2,000 x 0.30 + 3,000 x 3.75 + 4,000 x 6 + 500 x 15 = 3,000 + 600 + 11,250 + 24,000 + 7,500
        // micro-USD = $0.04635
        assertEquals(46_350_000L, sonnet.costNanos(new TokenUsage(10_000, 2_000, 7_000, 500, 0, 4_000)));
        // Had every write been a 5-minute one: 3,000 + 600 + 26,250 + 7,500 = $0.03735
        assertEquals(37_350_000L, sonnet.costNanos(new TokenUsage(10_000, 2_000, 7_000, 500, 0)));
    }

    @Test
    void multipliesEveryRateByTheRegionUplift() {
        ModelPrice eu = GPT_54.inRegion("eu");
        // 1,000 x $2.75 + 1,000 x $16.50 per Mtok = $0.01925
        assertEquals(19_250_000L, eu.costNanos(TokenUsage.of(1_000, 1_000)));
        // The uplift applies to the tiers too: flex 1,000 x 1.375 + 1,000 x 8.25 = $0.009625
        assertEquals(9_625_000L, eu.costNanos(TokenUsage.of(1_000, 1_000), ServiceTier.FLEX));
        assertEquals("eu", eu.region());
        assertThrows(IllegalArgumentException.class, () -> GPT_54.inRegion("apac"));
        assertThrows(IllegalArgumentException.class, () -> eu.inRegion("us"));
    }

    @Test
    void namesThePriceTheTierAndTheInputSizeInTheVersion() {
        String id = GPT_54.id();
        assertEquals(8, id.length());
        assertEquals(id, GPT_54.version(TokenUsage.of(1_000, 10), ServiceTier.STANDARD));
        assertEquals(id + ".flex", GPT_54.version(TokenUsage.of(1_000, 10), ServiceTier.FLEX));
        assertEquals(id + ".priority.above272000", GPT_54.version(TokenUsage.of(300_000, 10), ServiceTier.PRIORITY));
        assertEquals(ServiceTier.PRIORITY, ModelPrice.tierOf(id + ".priority.above272000"));
        assertEquals(ServiceTier.FLEX, ModelPrice.tierOf(id + ".flex"));
        assertEquals(ServiceTier.STANDARD, ModelPrice.tierOf(id + ".above272000"));
        assertEquals(ServiceTier.STANDARD, ModelPrice.tierOf(id));
        assertNull(ModelPrice.tierOf(null));
        // Stable: the same rates give the same id whatever the date they were checked on; other rates another id.
        assertEquals(id, GPT_54.checkedOn(LocalDate.of(2026, 1, 2)).id());
        assertNotEquals(id, GPT_54.inRegion("eu").id());
        assertNotEquals(GEMINI_25_PRO.id(), GEMINI_25_PRO.withAboveInput(200_000, rates(2.5, 15, 0.3)).id());
    }

    @Test
    void reservesForTheDearestTierTheRequestCanEndUpIn() {
        // 100,000 in, 1,000 out. Pinned to standard (or flex, whose provider could answer at the standard price):
        // 100,000 x $2.50 + 1,000 x $15 = $0.265
        assertEquals(265_000_000L, GPT_54.worstCaseNanos(100_000, 1_000, ServiceTier.STANDARD));
        assertEquals(265_000_000L, GPT_54.worstCaseNanos(100_000, 1_000, ServiceTier.FLEX));
        // Not pinned: the provider may serve it on priority: 100,000 x $5 + 1,000 x $30 = $0.53
        assertEquals(530_000_000L, GPT_54.worstCaseNanos(100_000, 1_000, null));
        assertEquals(530_000_000L, GPT_54.worstCaseNanos(100_000, 1_000, ServiceTier.PRIORITY));
        // An input that may cross 272k reserves at the long-context rates: 300,000 x $5 + 1,000 x $22.50 = $1.5225
        assertEquals(1_522_500_000L, GPT_54.worstCaseNanos(300_000, 1_000, ServiceTier.STANDARD));
        // 1-hour cache writes are the dearest input tokens of a Claude model: 1,000 x $6 + 100 x $15 = $0.0075
        ModelPrice sonnet = new ModelPrice(3 * USD, 15 * USD, 300_000_000L, 3_750_000_000L, 15 * USD, 64_000)
                .withCacheWrite1h(6 * USD);
        assertEquals(7_500_000L, sonnet.worstCaseNanos(1_000, 100));
    }

    @Test
    void readsTheTierAProviderServedAndTheOneARequestPins() {
        assertEquals(ServiceTier.FLEX, ServiceTier.served("flex"));
        assertEquals(ServiceTier.PRIORITY, ServiceTier.served("priority"));
        assertEquals(ServiceTier.BATCH, ServiceTier.served("batch"));
        assertEquals(ServiceTier.STANDARD, ServiceTier.served("default"));
        assertEquals(ServiceTier.STANDARD, ServiceTier.served("standard"));
        assertEquals(ServiceTier.STANDARD, ServiceTier.served("scale"));
        assertNull(ServiceTier.served(null));
        assertEquals(ServiceTier.STANDARD, ServiceTier.requested("default"));
        assertEquals(ServiceTier.STANDARD, ServiceTier.requested("standard_only"));
        assertEquals(ServiceTier.FLEX, ServiceTier.requested("flex"));
        assertNull(ServiceTier.requested("auto"));
        assertNull(ServiceTier.requested(null));
    }

    @Test
    void convertsMultipliersToPartsPerMillionExactly() {
        assertEquals(500_000L, ModelPrice.multiplierToPpm(new BigDecimal("0.5")));
        assertEquals(1_100_000L, ModelPrice.multiplierToPpm(new BigDecimal("1.1")));
        assertThrows(IllegalArgumentException.class, () -> ModelPrice.multiplierToPpm(new BigDecimal("0.0000001")));
        assertThrows(IllegalArgumentException.class, () -> ModelPrice.multiplierToPpm(BigDecimal.ZERO));
    }

    @Test
    void refusesOneHourCacheWritesBeyondTheCacheWrites() {
        assertThrows(IllegalArgumentException.class, () -> new TokenUsage(100, 0, 10, 0, 0, 11));
    }
}
