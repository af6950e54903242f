package dev.tokenwise.core.ratelimit;

import dev.tokenwise.core.config.RateLimits;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A generic cell rate algorithm over one {@code AtomicLong}: the theoretical arrival time ({@code tat}) of the next
 * unit of work. Taking {@code n} units moves it {@code n x interval} past {@code max(tat, now)}; the take is
 * refused when that would put it more than {@code capacity} (a minute) ahead of now. So a whole minute's worth may
 * be taken at once, then work flows back at the limit's pace, and no two adjacent windows add up to twice the limit
 * as fixed windows do.
 *
 * <p>Implementation note: one compare-and-set per take; a failed CAS re-reads and retries, so a take never
 * overshoots the limit under races. {@link #giveBack} moves {@code tat} back for work reserved and not used (or
 * forward for work used beyond what was reserved); it never makes a refused take succeed retroactively and never
 * lets more than {@code capacity} of work be taken at once afterwards, because a take always starts from
 * {@code max(tat, now)}. Time is {@link System#nanoTime()} nanoseconds, given by the caller.
 */
final class Gcra {
    /** Returned by {@link #take} when the units asked for exceed what a whole minute holds: they never fit. */
    static final long NEVER = Long.MIN_VALUE;

    private final long intervalNanos;
    private final long capacityNanos;
    private final long units;
    private final AtomicLong tat = new AtomicLong(Long.MIN_VALUE / 2);

    /** A limit of {@code perMinute} units a minute. */
    Gcra(long perMinute) {
        this.units = perMinute;
        this.intervalNanos = Math.max(1, RateLimits.MAX_PER_MINUTE / perMinute);
        this.capacityNanos = intervalNanos * perMinute;
    }

    long perMinute() {
        return units;
    }

    /**
     * Takes {@code n} units at {@code nowNanos}: the units left afterwards ({@code >= 0}), or the nanoseconds until
     * they would fit, negated ({@code < 0}), or {@link #NEVER} when {@code n} exceeds the limit itself.
     */
    long take(long n, long nowNanos) {
        if (n > units) {
            return NEVER;
        }
        long cost = n * intervalNanos; // n <= units, so at most a minute
        for (;;) {
            long current = tat.get();
            long next = Math.max(current, nowNanos) + cost;
            long over = next - nowNanos - capacityNanos;
            if (over > 0) {
                return -over;
            }
            if (tat.compareAndSet(current, next)) {
                return (nowNanos + capacityNanos - next) / intervalNanos;
            }
        }
    }

    /** Gives back {@code n} units taken and not used; a negative {@code n} takes more (at most a minute's worth). */
    void giveBack(long n) {
        long delta = -Math.max(-units, Math.min(units, n)) * intervalNanos;
        tat.addAndGet(delta);
    }

    /** Nanoseconds until the limit is whole again, seen at {@code nowNanos}. */
    long resetNanos(long nowNanos) {
        return Math.max(0, tat.get() - nowNanos);
    }
}
