package dev.tokenwise.core.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.tokenwise.core.config.ModelConfig;
import dev.tokenwise.core.config.ProviderConfig;
import dev.tokenwise.core.config.Resilience;
import dev.tokenwise.core.proxy.CallPolicy.Step;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The retry, backoff, fallback and breaker decisions of one call, driven by a fake clock. */
class CallPolicyTest {
    /** Two retries, a 100 ms backoff base, a full retry budget, a breaker that opens after 3 failures for 30 s. */
    private static final Resilience RESILIENCE = new Resilience(2, Duration.ofMillis(100), 20, 3, Duration.ofSeconds(30),
            null, Duration.ZERO);
    private static final long MAX_HELD_NANOS = TimeUnit.SECONDS.toNanos(5);

    private final AtomicLong clock = new AtomicLong(1_000_000_000L);
    private final ProviderHealth primary = new ProviderHealth("primary", RESILIENCE, clock::get);
    private final ProviderHealth backup = new ProviderHealth("backup", RESILIENCE, clock::get);
    private final Map<String, ProviderHealth> health = Map.of("primary", primary, "backup", backup);
    private final Deployment asked = deployment("m", "primary");
    private final Deployment fallback = deployment("m-backup", "backup");
    /** The bounds the policy drew its jitter from; the jitter itself is the whole bound. */
    private final List<Long> jitterBounds = new ArrayList<>();

    private CallPolicy policy(Deployment... chain) {
        return new CallPolicy(List.of(chain), health, MAX_HELD_NANOS, bound -> {
            jitterBounds.add(bound);
            return bound;
        });
    }

    @Test
    void attemptsTheModelAskedForFirstAndCountsTheAttempt() {
        CallPolicy policy = policy(asked, fallback);
        assertEquals(Step.GO, policy.beforeAttempt());
        assertSame(asked, policy.deployment());
        assertSame(primary, policy.health());
        assertEquals(1, policy.totalAttempts());
    }

    @Test
    void retriesAfterAFailureWithABackoffThatDoublesPerAttempt() {
        CallPolicy policy = policy(asked);
        policy.beforeAttempt();
        assertEquals(Step.WAIT, policy.afterFailure(0));
        assertEquals(TimeUnit.MILLISECONDS.toNanos(100), policy.delayNanos());
        policy.beforeAttempt();
        assertEquals(Step.WAIT, policy.afterFailure(0));
        assertEquals(TimeUnit.MILLISECONDS.toNanos(200), policy.delayNanos());
        assertEquals(List.of(100L, 200L), jitterBounds, "full jitter: a uniform delay up to the doubled base");
        assertEquals(2, primary.retries());
    }

    @Test
    void givesUpWhenRetriesAreExhaustedAndNoFallbackIsLeft() {
        CallPolicy policy = policy(asked);
        for (int i = 0; i < 3; i++) {
            assertEquals(Step.GO, policy.beforeAttempt());
            if (i < 2) {
                assertEquals(Step.WAIT, policy.afterFailure(0));
            }
        }
        assertEquals(Step.GIVE_UP, policy.afterFailure(0));
        assertEquals(3, policy.totalAttempts());
    }

    @Test
    void fallsBackWhenRetriesAreExhaustedAndStartsTheRetriesAfresh() {
        CallPolicy policy = policy(asked, fallback);
        for (int i = 0; i < 2; i++) {
            policy.beforeAttempt();
            policy.afterFailure(0);
        }
        policy.beforeAttempt();
        assertEquals(Step.FALL_BACK, policy.afterFailure(0));
        assertSame(fallback, policy.advance());
        assertSame(backup, policy.health());
        assertEquals(Step.GO, policy.beforeAttempt());
        assertEquals(Step.WAIT, policy.afterFailure(0), "the fallback has retries of its own");
        assertEquals(TimeUnit.MILLISECONDS.toNanos(100), policy.delayNanos(), "its backoff starts at the base again");
        assertEquals(4, policy.totalAttempts());
        assertSame(asked, policy.requested());
        assertNull(policy.advance(), "no model after the last fallback");
    }

    @Test
    void waitsForAShortRetryAfterAndFallsBackFromALongOne() {
        CallPolicy policy = policy(asked, fallback);
        policy.beforeAttempt();
        assertEquals(Step.WAIT, policy.afterFailure(CallPolicy.MAX_RETRY_AFTER_MILLIS));
        assertEquals(TimeUnit.MILLISECONDS.toNanos(CallPolicy.MAX_RETRY_AFTER_MILLIS), policy.delayNanos());
        assertEquals(List.of(), jitterBounds, "the provider's Retry-After replaces the backoff");
        policy.beforeAttempt();
        assertEquals(Step.FALL_BACK, policy.afterFailure(CallPolicy.MAX_RETRY_AFTER_MILLIS + 1));
    }

    @Test
    void stopsRetryingWhenTheProvidersRetryBudgetIsSpent() {
        // The bucket holds ten retries and a first attempt pays a fifth of one back.
        for (int i = 0; i < 10; i++) {
            primary.tryRetry();
        }
        CallPolicy policy = policy(asked);
        policy.beforeAttempt(); // pays 0.2 retry: still under one
        assertEquals(Step.GIVE_UP, policy.afterFailure(0), "retries must not multiply an outage");
    }

    @Test
    void skipsAProviderWhoseBreakerIsOpenAndLetsOneProbeThroughAfterTheCooldown() {
        for (int i = 0; i < 3; i++) {
            primary.onFailure();
        }
        CallPolicy skipping = policy(asked, fallback);
        assertEquals(Step.FALL_BACK, skipping.beforeAttempt());
        assertEquals(0, skipping.totalAttempts(), "a provider refused by its breaker is not attempted");
        assertEquals(Step.REFUSE_BREAKER_OPEN, policy(asked).beforeAttempt());

        clock.addAndGet(Duration.ofSeconds(30).toNanos());
        assertEquals(Step.GO, policy(asked).beforeAttempt(), "the probe after the cooldown");
        assertEquals(Step.REFUSE_BREAKER_OPEN, policy(asked).beforeAttempt(), "one probe at a time");
        primary.onSuccess();
        assertEquals(Step.GO, policy(asked).beforeAttempt(), "a successful probe closes the breaker");
    }

    @Test
    void waitsForAnAnnouncedResetAtMostTheMaximumInAllThenFallsBack() {
        CallPolicy policy = policy(asked, fallback);
        primary.holdFor(TimeUnit.SECONDS.toNanos(3));
        assertEquals(Step.WAIT, policy.beforeAttempt());
        assertEquals(TimeUnit.SECONDS.toNanos(3), policy.delayNanos());
        clock.addAndGet(TimeUnit.SECONDS.toNanos(3));
        primary.holdFor(TimeUnit.SECONDS.toNanos(3)); // the provider extends its hold
        assertEquals(Step.FALL_BACK, policy.beforeAttempt(), "3 s more would make 6 s of waiting, over the 5 s allowed");
        assertEquals(0, policy.totalAttempts());
        assertEquals(2, primary.heldCalls());

        primary.holdFor(TimeUnit.SECONDS.toNanos(10));
        CallPolicy alone = policy(asked);
        assertEquals(Step.REFUSE_HELD, alone.beforeAttempt(), "too long a hold and no fallback");
        assertEquals(TimeUnit.SECONDS.toNanos(10), alone.delayNanos(), "the reset the refusal announces");
    }

    @Test
    void countsAReconnectAsAnAttempt() {
        CallPolicy policy = policy(asked);
        policy.beforeAttempt();
        policy.reconnected();
        assertEquals(2, policy.totalAttempts());
    }

    private static Deployment deployment(String model, String provider) {
        ProviderConfig config = new ProviderConfig(provider, "test", URI.create("http://127.0.0.1:1"), null, null,
                Duration.ofSeconds(1), Duration.ofSeconds(1), 1, Map.of(), RESILIENCE, false);
        return new Deployment(new ModelConfig(model, provider, model, null), config, null, null);
    }
}
