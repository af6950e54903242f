package dev.tokenwise.core.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class UpstreamLimitsTest {
    private static final long NOW_MILLIS = 1_767_225_600_000L; // 2026-01-01T00:00:00Z

    private static HttpHeaders headers(String... pairs) {
        HttpHeaders h = new DefaultHttpHeaders();
        for (int i = 0; i < pairs.length; i += 2) {
            h.add(pairs[i], pairs[i + 1]);
        }
        return h;
    }

    @Test
    void readsOpenAiDurations() {
        assertEquals(TimeUnit.MILLISECONDS.toNanos(20), UpstreamLimits.duration("20ms"));
        assertEquals(TimeUnit.MILLISECONDS.toNanos(1_500), UpstreamLimits.duration("1.5s"));
        assertEquals(TimeUnit.SECONDS.toNanos(360), UpstreamLimits.duration("6m0s"));
        assertEquals(TimeUnit.SECONDS.toNanos(3_720), UpstreamLimits.duration("1h2m"));
        assertEquals(0, UpstreamLimits.duration("soon"));
        assertEquals(0, UpstreamLimits.duration("5 parsecs"));
    }

    @Test
    void holdsFor429sRetryAfterElseItsResetElseOneSecond() {
        assertEquals(TimeUnit.SECONDS.toNanos(7), UpstreamLimits.holdNanos(429, headers("retry-after", "7"), NOW_MILLIS));
        assertEquals(TimeUnit.SECONDS.toNanos(20), UpstreamLimits.holdNanos(429,
                headers("x-ratelimit-reset-requests", "2s", "x-ratelimit-reset-tokens", "20s"), NOW_MILLIS));
        assertEquals(TimeUnit.SECONDS.toNanos(1), UpstreamLimits.holdNanos(429, headers(), NOW_MILLIS));
    }

    @Test
    void holdsWhenAnAnswerSaysNothingRemainsUntilThatLimitResets() {
        assertEquals(TimeUnit.SECONDS.toNanos(12), UpstreamLimits.holdNanos(200, headers(
                "x-ratelimit-remaining-requests", "0", "x-ratelimit-reset-requests", "12s",
                "x-ratelimit-remaining-tokens", "150000", "x-ratelimit-reset-tokens", "6m0s"), NOW_MILLIS));
        assertEquals(0, UpstreamLimits.holdNanos(200, headers("x-ratelimit-remaining-requests", "3",
                "x-ratelimit-reset-requests", "12s"), NOW_MILLIS));
        // Anthropic: a remaining count and an RFC 3339 reset time
        assertEquals(TimeUnit.SECONDS.toNanos(30), UpstreamLimits.holdNanos(200, headers(
                "anthropic-ratelimit-requests-remaining", "0",
                "anthropic-ratelimit-requests-reset", "2026-01-01T00:00:30Z"), NOW_MILLIS));
    }

    @Test
    void neverHoldsLongerThanFiveMinutesWhateverTheProviderSays() {
        assertEquals(UpstreamLimits.MAX_HOLD_NANOS, UpstreamLimits.holdNanos(429, headers("retry-after", "86400"),
                NOW_MILLIS));
    }
}
