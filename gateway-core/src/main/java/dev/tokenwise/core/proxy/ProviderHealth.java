package dev.tokenwise.core.proxy;

import dev.tokenwise.core.config.Resilience;
import dev.tokenwise.core.spi.ProviderStats;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * The health of one provider as calls see it: a circuit breaker and a retry budget. Shared by all event
 * loops.
 *
 * <p>Implementation note: the breaker counts consecutive failures in an {@link AtomicInteger}; reaching
 * the threshold sets {@code openUntilNanos}. While open, calls are refused without touching the
 * provider. After the cool-down one call is let through as a probe (a CAS on {@code probing}); its
 * success closes the breaker, its failure opens it for another cool-down. Races between event loops can
 * let a second call through at the instant the cool-down ends or count one failure twice toward the
 * threshold; neither matters for a breaker. The retry budget is a token bucket in thousandths: every
 * first attempt deposits {@code retryBudgetPercent × 10} (capped at {@link #MAX_BUDGET_MILLIS}), every
 * retry withdraws 1000 with a CAS, so retries stay below that share of the provider's traffic over time.
 */
public final class ProviderHealth implements ProviderStats {
    /** The bucket starts full: a quiet provider can still retry its first failures. */
    static final long MAX_BUDGET_MILLIS = 10_000;

    private final String provider;
    private final Resilience resilience;
    private final LongSupplier nanoClock;
    private final AtomicInteger consecutiveFailures = new AtomicInteger();
    private final AtomicLong openUntilNanos = new AtomicLong(Long.MIN_VALUE);
    private final AtomicBoolean open = new AtomicBoolean();
    private final AtomicBoolean probing = new AtomicBoolean();
    private final AtomicLong budgetMillis = new AtomicLong(MAX_BUDGET_MILLIS);
    private final LongAdder retries = new LongAdder();
    private final LongAdder refusedByBreaker = new LongAdder();
    private final LongAdder opened = new LongAdder();
    private final LongAdder observerErrors = new LongAdder();
    /** Until when the provider asked not to be called ({@code System.nanoTime()}); in the past when it asked nothing. */
    private final AtomicLong heldUntilNanos = new AtomicLong(Long.MIN_VALUE / 2);
    private final LongAdder heldCalls = new LongAdder();

    public ProviderHealth(String provider, Resilience resilience, LongSupplier nanoClock) {
        this.provider = provider;
        this.resilience = resilience;
        this.nanoClock = nanoClock;
    }

    @Override
    public String provider() {
        return provider;
    }

    public Resilience resilience() {
        return resilience;
    }

    /** The provider announced its own limit is reached for {@code holdNanos} from now: later calls wait or go elsewhere. */
    void holdFor(long holdNanos) {
        if (holdNanos <= 0) {
            return;
        }
        long until = nanoClock.getAsLong() + holdNanos;
        heldUntilNanos.accumulateAndGet(until, Math::max);
    }

    /** Nanoseconds left of the provider's announced hold, {@code 0} when calls may go now. */
    long heldForNanos() {
        return Math.max(0, heldUntilNanos.get() - nanoClock.getAsLong());
    }

    /** Counts a call that was held for, or turned away by, the provider's announced limit. */
    void onHeld() {
        heldCalls.increment();
    }

    /** Calls held for, or turned away by, the provider's own announced limits. */
    @Override
    public long heldCalls() {
        return heldCalls.sum();
    }

    /** Whether a call may go to the provider now (a half-open breaker lets exactly one probe through). */
    boolean allowRequest() {
        if (!open.get()) {
            return true;
        }
        if (nanoClock.getAsLong() - openUntilNanos.get() >= 0 && probing.compareAndSet(false, true)) {
            return true;
        }
        refusedByBreaker.increment();
        return false;
    }

    /** A first attempt was made: it pays into the retry budget. */
    void onFirstAttempt() {
        long deposit = resilience.retryBudgetPercent() * 10L;
        budgetMillis.getAndUpdate(b -> Math.min(MAX_BUDGET_MILLIS, b + deposit));
    }

    /** Takes one retry from the budget; {@code false} when it is spent. */
    boolean tryRetry() {
        while (true) {
            long b = budgetMillis.get();
            if (b < 1000) {
                return false;
            }
            if (budgetMillis.compareAndSet(b, b - 1000)) {
                retries.increment();
                return true;
            }
        }
    }

    void onSuccess() {
        consecutiveFailures.set(0);
        probing.set(false);
        open.set(false);
    }

    void onFailure() {
        int failures = consecutiveFailures.incrementAndGet();
        if (probing.compareAndSet(true, false) || failures >= resilience.breakerFailures() && !open.get()) {
            openUntilNanos.set(nanoClock.getAsLong() + resilience.breakerCooldown().toNanos());
            if (open.compareAndSet(false, true)) {
                opened.increment();
            }
        }
    }

    @Override
    public BreakerState state() {
        if (!open.get()) {
            return BreakerState.CLOSED;
        }
        return nanoClock.getAsLong() - openUntilNanos.get() >= 0 ? BreakerState.HALF_OPEN : BreakerState.OPEN;
    }

    /** Milliseconds until an open breaker lets a probe through (0 when closed or due). */
    public long retryInMillis() {
        long left = openUntilNanos.get() - nanoClock.getAsLong();
        return open.get() && left > 0 ? TimeUnit.NANOSECONDS.toMillis(left) : 0;
    }

    @Override
    public int consecutiveFailures() {
        return consecutiveFailures.get();
    }

    @Override
    public long retries() {
        return retries.sum();
    }

    @Override
    public long refusedByBreaker() {
        return refusedByBreaker.sum();
    }

    /** Counts one failure of a response observer reading this provider's answer (a parse error, a bug). */
    void onObserverError() {
        observerErrors.increment();
    }

    /**
     * Times a response observer failed on this provider's answers (each failure once, however many happen in one
     * call); the calls concerned are billed on the local count and flagged
     * {@link dev.tokenwise.core.model.RecordFlag#OBSERVER_ERROR}.
     */
    @Override
    public long observerErrors() {
        return observerErrors.sum();
    }

    @Override
    public long timesOpened() {
        return opened.sum();
    }
}
