package dev.tokenwise.metrics.efficiency;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenwise.core.model.CacheStatus;
import dev.tokenwise.core.model.CallStatus;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.ModelPrice;
import dev.tokenwise.core.model.TokenUsage;
import dev.tokenwise.core.model.UsageRecord;
import java.math.BigDecimal;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class PromptCacheWatchTest {
    private static final long MINUTE = 60_000;
    /** gpt-4o: $2.50 per Mtok of input, $1.25 cached. */
    private static final ModelPrice GPT_4O = new ModelPrice(2_500_000_000L, 10_000_000_000L, 1_250_000_000L,
            2_500_000_000L, 10_000_000_000L, 0);
    private static final Map<String, ModelPrice> PRICES = Map.of("gpt-4o", GPT_4O,
            "no-discount", ModelPrice.of(2_500_000_000L, 10_000_000_000L));

    private final AtomicLong clock = new AtomicLong(1_000_000_000L);
    private final AlertBook alerts = new AlertBook(clock::get, null);
    private final PromptCacheWatch watch = new PromptCacheWatch(alerts, m -> Optional.ofNullable(PRICES.get(m)),
            clock::get);

    private static UsageRecord call(String team, String model, long prefixHash, long cachedTokens) {
        return UsageRecord.builder().id("req").team(team).keyId("k").model(model).provider("openai")
                .endpoint(Endpoint.CHAT_COMPLETIONS).status(CallStatus.OK).httpStatus(200)
                .usage(new TokenUsage(3_000, cachedTokens, 0, 20, 0)).usageFromProvider(true).localInputTokens(3_000)
                .localOutputTokens(20).costNanos(1).finishReason("stop").requestedModel(model)
                .promptPrefixHash(prefixHash).build();
    }

    private Alert alert(String team, String model) {
        return alerts.find(AlertType.PROMPT_CACHE_OPPORTUNITY, Alert.Scope.TEAM, team, model);
    }

    /** {@code n} calls, a minute apart, then the hour is over and one more call ends the window. */
    private void hour(String team, String model, long prefix, int n, long cachedTokens) {
        for (int i = 0; i < n; i++) {
            watch.accept(call(team, model, prefix, cachedTokens));
            clock.addAndGet(MINUTE);
        }
        clock.addAndGet(61 * MINUTE);
        watch.accept(call(team, model, 99, 0));
    }

    @Test
    void raisesAnOpportunityWithTheMonthlySavingWhenALongPrefixRepeatsUncached() {
        hour("alpha", "gpt-4o", 7, 12, 0);
        Alert a = alert("alpha", "gpt-4o");
        assertNotNull(a);
        // 11 of the 12 calls could read 1,024 tokens from cache at $1.25 less per Mtok: $0.01408 an hour, and a
        // month of 720 hours is $10.1376.
        BigDecimal hourly = BigDecimal.valueOf(11 * 1_024).multiply(new BigDecimal("1.25")).movePointLeft(6);
        BigDecimal monthly = hourly.multiply(BigDecimal.valueOf(720));
        assertEquals(0, new BigDecimal("10.1376").compareTo(monthly));
        assertEquals(monthly.doubleValue(), a.value(), 1e-9);
        assertEquals("alpha", a.team());
        assertEquals("gpt-4o", a.metric());
        assertTrue(a.message().contains("12 calls to gpt-4o in an hour"), a.message());
        assertTrue(a.message().contains("about $10.14 a month"), a.message());
    }

    @Test
    void seesNoOpportunityWhenTheProviderAlreadyReadsThePrefixFromItsCache() {
        hour("alpha", "gpt-4o", 7, 12, 1_024);
        assertNull(alert("alpha", "gpt-4o"));
    }

    @Test
    void needsTheRepeatsAPriceAndADiscount() {
        hour("alpha", "gpt-4o", 7, 9, 0);
        assertNull(alert("alpha", "gpt-4o"), "9 repeats: under the 10 that make an opportunity");
        hour("alpha", "unpriced", 7, 20, 0);
        assertNull(alert("alpha", "unpriced"));
        hour("alpha", "no-discount", 7, 20, 0);
        assertNull(alert("alpha", "no-discount"));
    }

    @Test
    void findsTheRepeatedPrefixAmongManyOthersAndClosesTheAlertAfterAQuietHour() {
        for (int i = 0; i < 15; i++) {
            watch.accept(call("beta", "gpt-4o", 42, 0));
            for (int noise = 0; noise < 5; noise++) {
                watch.accept(call("beta", "gpt-4o", 1_000 + i * 10 + noise, 0)); // 75 prefixes seen once each
            }
            clock.addAndGet(MINUTE);
        }
        clock.addAndGet(46 * MINUTE);
        watch.check();
        Alert a = alert("beta", "gpt-4o");
        assertNotNull(a, "the one prefix that came 15 times stands out of 16 slots");
        assertTrue(a.message().startsWith("team beta: 15 calls"), a.message());
        assertNull(alert("gamma", "gpt-4o"));

        clock.addAndGet(61 * MINUTE);
        watch.check();
        assertNull(alert("beta", "gpt-4o"), "an hour without the repeats closes it");
    }

    @Test
    void ignoresShortPromptsCacheHitsAndFailedCalls() {
        for (int i = 0; i < 20; i++) {
            watch.accept(call("alpha", "gpt-4o", 0, 0));
            watch.accept(call("alpha", "gpt-4o", 5, 0).withCache(CacheStatus.HIT));
        }
        clock.addAndGet(61 * MINUTE);
        watch.check();
        assertNull(alert("alpha", "gpt-4o"));
    }
}
