package dev.tokenwise.core.proxy;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.LongUnaryOperator;

/**
 * Where the next upstream attempt of one call goes: the retry, backoff, fallback and circuit-breaker decisions. It
 * holds no channel and schedules nothing; {@link ProxyCall} asks it before each attempt ({@link #beforeAttempt}) and
 * after each failure that reached no client ({@link #afterFailure}), and carries out the {@link Step} it answers.
 *
 * <p>The rules, in the order they apply:
 * <ul>
 *   <li>A provider whose circuit breaker is open is skipped for the next model of the chain, or the call is refused
 *       ({@link Step#REFUSE_BREAKER_OPEN}); a half-open breaker lets one probe through.</li>
 *   <li>A provider that announced its own limit is reached ({@link ProviderHealth#holdFor}) is waited for when its
 *       reset is near: one call waits at most {@code maxHeldNanos} in all, however often the hold is extended.
 *       Beyond that the call goes to the next model, or is refused ({@link Step#REFUSE_HELD}).</li>
 *   <li>After a connect error, a 429 or a 5xx: a retry on the same provider while it has retries left
 *       ({@link dev.tokenwise.core.config.Resilience#maxRetries}), its announced Retry-After is at most
 *       {@link #MAX_RETRY_AFTER_MILLIS} and its retry budget allows; the delay is the Retry-After, else an
 *       exponential backoff with full jitter. Else the next model of the chain, else give up.</li>
 * </ul>
 *
 * <p>Threading: one instance per call, used on the call's event loop only. The {@link ProviderHealth}s it consults
 * are shared by all loops and carry the clock, so a test drives every decision with a fake clock.
 */
final class CallPolicy {
    /** A Retry-After longer than this is not waited for: the call falls back or fails instead. */
    static final long MAX_RETRY_AFTER_MILLIS = 10_000;

    /** What the call does next. */
    enum Step {
        /** Attempt the current deployment now. */
        GO,
        /** Attempt the current deployment again after {@link #delayNanos()}. */
        WAIT,
        /** Move to the next model of the chain ({@link #advance}), then attempt it. */
        FALL_BACK,
        /** Nowhere to go: the current provider's breaker is open and no fallback is left. */
        REFUSE_BREAKER_OPEN,
        /** Nowhere to go: the current provider's announced hold is too long and no fallback is left. */
        REFUSE_HELD,
        /** The failure ends the call. */
        GIVE_UP
    }

    private final List<Deployment> chain;
    private final Map<String, ProviderHealth> healthByProvider;
    private final long maxHeldNanos;
    /** {@code bound -> a uniform random value in [0, bound]}: the full jitter of a backoff. */
    private final LongUnaryOperator jitter;
    private int chainIndex;
    private ProviderHealth health;
    private int attemptsOnDeployment;
    private int totalAttempts;
    /** How long this call has waited, in all, for its providers' announced rate-limit resets. */
    private long heldTotalNanos;
    private long delayNanos;
    /** Why the last {@link Step#FALL_BACK} of {@link #beforeAttempt} left its deployment, as the refusal it stands for. */
    private Step refusal;

    /**
     * @param chain the model asked for, then its fallbacks
     * @param healthByProvider each provider's shared health, by provider name
     * @param maxHeldNanos the longest one call waits, in all, for announced rate-limit resets
     */
    CallPolicy(List<Deployment> chain, Map<String, ProviderHealth> healthByProvider, long maxHeldNanos) {
        this(chain, healthByProvider, maxHeldNanos, bound -> ThreadLocalRandom.current().nextLong(bound + 1));
    }

    /** As above, with the jitter of backoffs given (tests make it deterministic). */
    CallPolicy(List<Deployment> chain, Map<String, ProviderHealth> healthByProvider, long maxHeldNanos,
               LongUnaryOperator jitter) {
        if (chain.isEmpty()) {
            throw new IllegalArgumentException("chain: empty (expected: the model asked for, then its fallbacks)");
        }
        this.chain = chain;
        this.healthByProvider = healthByProvider;
        this.maxHeldNanos = maxHeldNanos;
        this.jitter = jitter;
        this.health = healthOf(chain.get(0));
    }

    /** The deployment being tried. */
    Deployment deployment() {
        return chain.get(chainIndex);
    }

    /** The model the client asked for. */
    Deployment requested() {
        return chain.get(0);
    }

    /** The health of the current deployment's provider. */
    ProviderHealth health() {
        return health;
    }

    /** Upstream attempts made so far, over the whole chain, reconnects included. */
    int totalAttempts() {
        return totalAttempts;
    }

    /**
     * In nanoseconds: the delay of the last {@link Step#WAIT} (a hold waited for, or a retry planned by
     * {@link #afterFailure}), or, after {@link Step#REFUSE_HELD}, the hold the provider announced.
     */
    long delayNanos() {
        return delayNanos;
    }

    /**
     * After {@link #beforeAttempt} answered {@link Step#FALL_BACK}: the refusal it stands for ({@link
     * Step#REFUSE_BREAKER_OPEN} or {@link Step#REFUSE_HELD}), for a call no fallback can take.
     */
    Step refusal() {
        return refusal;
    }

    /** Whether a model of the chain is left after the current one. */
    boolean hasFallback() {
        return chainIndex + 1 < chain.size();
    }

    /**
     * Whether the current deployment may be attempted now: {@link Step#GO} (the attempt is counted), {@link Step#WAIT},
     * {@link Step#FALL_BACK} or a refusal.
     */
    Step beforeAttempt() {
        if (!health.allowRequest()) {
            refusal = Step.REFUSE_BREAKER_OPEN;
            return hasFallback() ? Step.FALL_BACK : refusal;
        }
        long heldNanos = health.heldForNanos();
        if (heldNanos > 0) {
            // The provider said its own limit is reached: wait for its reset when that is short, else go elsewhere.
            health.onHeld();
            if (heldTotalNanos + heldNanos <= maxHeldNanos) {
                heldTotalNanos += heldNanos; // however often the provider extends its hold, one call waits this long at most
                delayNanos = heldNanos;
                return Step.WAIT;
            }
            delayNanos = heldNanos;
            refusal = Step.REFUSE_HELD;
            return hasFallback() ? Step.FALL_BACK : refusal;
        }
        if (attemptsOnDeployment == 0) {
            health.onFirstAttempt();
        }
        attemptsOnDeployment++;
        totalAttempts++;
        return Step.GO;
    }

    /**
     * After a failure before anything reached the client ({@code retryAfterMillis}: the provider's Retry-After, 0 when
     * none): {@link Step#WAIT} (a retry on the same provider after {@link #delayNanos()}; it takes one retry from the
     * provider's budget), {@link Step#FALL_BACK} or {@link Step#GIVE_UP}.
     */
    Step afterFailure(long retryAfterMillis) {
        if (attemptsOnDeployment <= health.resilience().maxRetries() && retryAfterMillis <= MAX_RETRY_AFTER_MILLIS
                && health.tryRetry()) {
            long baseMillis = health.resilience().retryBackoff().toMillis() << Math.min(10, attemptsOnDeployment - 1);
            long delayMillis = retryAfterMillis > 0 ? retryAfterMillis : jitter.applyAsLong(baseMillis);
            delayNanos = TimeUnit.MILLISECONDS.toNanos(delayMillis);
            return Step.WAIT;
        }
        return hasFallback() ? Step.FALL_BACK : Step.GIVE_UP;
    }

    /** The request went out again on a fresh connection after a reused one closed unanswered: one more attempt. */
    void reconnected() {
        totalAttempts++;
    }

    /** Moves to the next model of the chain and returns it; {@code null} when none is left. */
    Deployment advance() {
        if (!hasFallback()) {
            return null;
        }
        chainIndex++;
        attemptsOnDeployment = 0;
        Deployment next = chain.get(chainIndex);
        health = healthOf(next);
        return next;
    }

    /** The retries planned on the current deployment so far, for the log: the attempt number a retry will be. */
    int attemptsOnDeployment() {
        return attemptsOnDeployment;
    }

    private ProviderHealth healthOf(Deployment deployment) {
        ProviderHealth h = healthByProvider.get(deployment.provider().name());
        if (h == null) {
            throw new IllegalStateException("no health for provider " + deployment.provider().name());
        }
        return h;
    }
}
