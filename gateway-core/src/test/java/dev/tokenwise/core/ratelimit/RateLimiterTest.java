package dev.tokenwise.core.ratelimit;

import dev.tokenwise.core.config.RateLimits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.model.CallStatus;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.TokenUsage;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.spi.AdmissionStage;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class RateLimiterTest {
    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);
    private final AtomicLong clock = new AtomicLong(1_000 * SECOND);
    private final RateLimiter limiter = new RateLimiter(clock::get);

    private static AdmissionStage.Call call(String team, String key, String model, long input, long output) {
        return new AdmissionStage.Call("req", team, key, model, Endpoint.CHAT_COMPLETIONS, input, output, 0);
    }

    private static UsageRecord used(long input, long output) {
        return UsageRecord.builder().id("req").team("gamma").keyId("k").model("m").provider("p")
                .endpoint(Endpoint.CHAT_COMPLETIONS).status(CallStatus.OK).httpStatus(200)
                .usage(TokenUsage.of(input, output)).usageFromProvider(true).localInputTokens(input)
                .localOutputTokens(output).finishReason("stop").build();
    }

    @Test
    void refusesTheSixthOfFiveRequestsPerMinuteSayingWhenTheNextIsAllowed() {
        limiter.setTeam("gamma", new RateLimits(5, 0, 0));
        for (int i = 0; i < 5; i++) {
            limiter.admit(call("gamma", "k", "m", 10, 10)).settle(used(1, 1));
        }
        GatewayException e = assertThrows(GatewayException.class, () -> limiter.admit(call("gamma", "k", "m", 10, 10)));
        assertEquals(ErrorType.RATE_LIMIT_EXCEEDED, e.type());
        assertEquals("team gamma: 5 requests per minute; next allowed in 12 s", e.getMessage());
        assertEquals(12, e.retryAfterSeconds());
        limiter.admit(call("other", "k2", "m", 10, 10)); // another team is not limited
        clock.addAndGet(12 * SECOND);
        limiter.admit(call("gamma", "k", "m", 10, 10));
    }

    @Test
    void tellsTheClientTheTightestLimitAndWhatRemainsAfterItsCall() {
        limiter.setTeam("gamma", new RateLimits(5, 300_000, 0));
        limiter.setKey("k", new RateLimits(2, 0, 0));
        HttpHeaders headers = new DefaultHttpHeaders();
        limiter.admit(call("gamma", "k", "m", 1_000, 2_000)).decorate(headers);
        assertEquals("2", headers.get("x-ratelimit-limit-requests"), "the key's limit is the tighter one");
        assertEquals("1", headers.get("x-ratelimit-remaining-requests"));
        assertEquals("30s", headers.get("x-ratelimit-reset-requests"));
        assertEquals("300000", headers.get("x-ratelimit-limit-tokens"));
        assertEquals("297000", headers.get("x-ratelimit-remaining-tokens"));
        assertEquals("600ms", headers.get("x-ratelimit-reset-tokens"));
        GatewayException e = assertThrows(GatewayException.class, () -> {
            limiter.admit(call("gamma", "k", "m", 1, 1));
            limiter.admit(call("gamma", "k", "m", 1, 1));
        });
        assertEquals("key k: 2 requests per minute; next allowed in 30 s", e.getMessage());
    }

    @Test
    void countsACallAnsweredFromTheCacheAsARequestButNotAsTokens() {
        limiter.setTeam("gamma", new RateLimits(2, 10_000, 0));
        UsageRecord hit = used(1_000, 8_000).withCache(dev.tokenwise.core.model.CacheStatus.HIT);
        limiter.admit(call("gamma", "k", "m", 1_000, 8_000)).settle(hit);
        // The hit gave back its 9,000 tokens: a call of 9,000 fits again at once.
        limiter.admit(call("gamma", "k", "m", 1_000, 8_000)).settle(used(1_000, 8_000));
        GatewayException e = assertThrows(GatewayException.class, () -> limiter.admit(call("gamma", "k", "m", 1, 1)));
        assertEquals("team gamma: 2 requests per minute; next allowed in 30 s", e.getMessage(),
                "the hit counted as one of the two requests");
    }

    @Test
    void reservesTheTokenBoundAndSettlesToWhatTheCallUsed() {
        limiter.setTeam("gamma", new RateLimits(0, 10_000, 0));
        AdmissionStage.Lease first = limiter.admit(call("gamma", "k", "m", 1_000, 8_000));
        GatewayException e = assertThrows(GatewayException.class, () -> limiter.admit(call("gamma", "k", "m", 1_000, 2_000)));
        assertEquals("team gamma: 10000 tokens per minute (this call may use up to 3000); next allowed in 12 s",
                e.getMessage());
        first.settle(used(1_000, 500)); // 7,500 reserved tokens come back
        limiter.admit(call("gamma", "k", "m", 1_000, 2_000));
        GatewayException never = assertThrows(GatewayException.class,
                () -> limiter.admit(call("gamma", "k", "m", 1_000, 65_536)));
        assertEquals(60, never.retryAfterSeconds());
    }

    @Test
    void holdsASlotPerCallInFlightAndFreesItOnEveryEnd() {
        limiter.setTeam("gamma", new RateLimits(0, 0, 2));
        AdmissionStage.Lease a = limiter.admit(call("gamma", "k", "m", 1, 1));
        AdmissionStage.Lease b = limiter.admit(call("gamma", "k", "m", 1, 1));
        GatewayException e = assertThrows(GatewayException.class, () -> limiter.admit(call("gamma", "k", "m", 1, 1)));
        assertEquals("team gamma: 2 concurrent requests; next allowed when one of them ends", e.getMessage());
        a.settle(used(1, 1));
        AdmissionStage.Lease c = limiter.admit(call("gamma", "k", "m", 1, 1));
        b.abort();
        c.settle(null);
        c.abort(); // once only
        limiter.admit(call("gamma", "k", "m", 1, 1));
        limiter.admit(call("gamma", "k", "m", 1, 1));
        assertThrows(GatewayException.class, () -> limiter.admit(call("gamma", "k", "m", 1, 1)));
    }

    @Test
    void givesBackTheRequestOfACallThatNeverWentUpstream() {
        limiter.setModel("m", new RateLimits(1, 0, 0));
        limiter.admit(call("a", "k", "m", 1, 1)).abort(); // e.g. refused by the budget after the rate limit
        limiter.admit(call("b", "k2", "m", 1, 1));
        GatewayException e = assertThrows(GatewayException.class, () -> limiter.admit(call("c", "k3", "m", 1, 1)));
        assertEquals("model m: 1 requests per minute; next allowed in 60 s", e.getMessage());
    }

    @Test
    void givesBackWhatEarlierHoldersGaveWhenALaterOneRefuses() {
        limiter.setKey("k", new RateLimits(10, 0, 1));
        limiter.setTeam("gamma", new RateLimits(1, 0, 0));
        limiter.admit(call("gamma", "k", "m", 1, 1)).settle(used(1, 1));
        assertThrows(GatewayException.class, () -> limiter.admit(call("gamma", "k", "m", 1, 1)));
        // The key's slot and request were given back when the team refused.
        limiter.setTeam("gamma", RateLimits.NONE);
        limiter.admit(call("gamma", "k", "m", 1, 1));
    }

    @Test
    void costsNothingForCallsOfHoldersWithoutLimits() {
        limiter.setTeam("gamma", new RateLimits(1, 0, 0));
        assertSame(AdmissionStage.Lease.NONE, limiter.admit(call("delta", "k", "m", 1, 1)));
    }
}
