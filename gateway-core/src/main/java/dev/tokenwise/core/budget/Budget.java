package dev.tokenwise.core.budget;

import dev.tokenwise.core.config.BudgetPeriod;
import java.time.ZoneId;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

/**
 * The budget of one holder (a team or a key) for the current period.
 *
 * <p>Implementation note: the state of a period is one {@link Window}: an {@link AtomicLong} of
 * remaining nano-USD ({@code limit − settled spend − open reservations}), an adder of settled spend and
 * one of open reservations. Admission ({@link #tryReserve}) is a compare-and-set loop on
 * {@code remaining} that fails without side effects when the result would go negative, so N concurrent
 * admissions can never take more than the limit. Settlement adds {@code reserved − actual} back to the
 * window the reservation came from. Roll-over swaps in a fresh window with a CAS on {@link #window};
 * reservations of the old window settle into the old window, which nobody reads any more (its spend is in
 * the ledger). A limit change adjusts {@code remaining} of the current window by the difference.
 * Nothing here locks.
 */
public final class Budget {

    /** One period's books. */
    static final class Window {
        final long startMillis;
        final long endMillis;
        final AtomicLong remainingNanos;
        final LongAdder spentNanos = new LongAdder();
        final LongAdder reservedNanos = new LongAdder();

        Window(long startMillis, long endMillis, long remainingNanos) {
            this.startMillis = startMillis;
            this.endMillis = endMillis;
            this.remainingNanos = new AtomicLong(remainingNanos);
        }
    }

    private final String team;
    private final String keyId;
    private final ZoneId zone;
    private volatile long limitNanos;
    private volatile BudgetPeriod period;
    private final AtomicReference<Window> window;
    /** Set once per window when spend crosses the soft threshold; read by alerts. */
    private final AtomicLong softAlertWindowStart = new AtomicLong(-1);

    /**
     * @param team the team the budget belongs to: its holder, or the team of the key that holds it
     * @param keyId the key that holds the budget, or {@code null} for the team's own budget
     */
    Budget(String team, String keyId, long limitNanos, BudgetPeriod period, ZoneId zone, long nowMillis,
           long spentThisPeriodNanos) {
        this.team = team;
        this.keyId = keyId;
        this.zone = zone;
        this.limitNanos = limitNanos;
        this.period = period;
        Window w = new Window(Periods.startMillis(period, nowMillis, zone), Periods.endMillis(period, nowMillis, zone),
                limitNanos - spentThisPeriodNanos);
        w.spentNanos.add(spentThisPeriodNanos);
        this.window = new AtomicReference<>(w);
    }

    /** The key's id for a key's budget, the team's name for a team's. */
    public String holder() {
        return keyId != null ? keyId : team;
    }

    /** The team the budget belongs to: the holder of a team budget, the key's team for a key budget. */
    public String team() {
        return team;
    }

    /** The key that holds the budget, or {@code null} for a team's own budget. */
    public String keyId() {
        return keyId;
    }

    public long limitNanos() {
        return limitNanos;
    }

    public BudgetPeriod period() {
        return period;
    }

    /** The current window, rolling over first when {@code nowMillis} is past its end. */
    Window current(long nowMillis) {
        Window w = window.get();
        while (nowMillis >= w.endMillis) {
            Window fresh = new Window(Periods.startMillis(period, nowMillis, zone),
                    Periods.endMillis(period, nowMillis, zone), limitNanos);
            if (window.compareAndSet(w, fresh)) {
                return fresh;
            }
            w = window.get();
        }
        return w;
    }

    /** Takes {@code nanos} from the current window; returns the window, or {@code null} when it does not fit. */
    Window tryReserve(long nanos, long nowMillis) {
        Window w = current(nowMillis);
        AtomicLong remaining = w.remainingNanos;
        while (true) {
            long before = remaining.get();
            long after = before - nanos;
            if (after < 0) {
                return null;
            }
            if (remaining.compareAndSet(before, after)) {
                w.reservedNanos.add(nanos);
                return w;
            }
        }
    }

    /** Gives back a reservation that was not used (the call was not forwarded). */
    static void cancel(Window w, long reservedNanos) {
        w.reservedNanos.add(-reservedNanos);
        w.remainingNanos.addAndGet(reservedNanos);
    }

    /** Replaces a reservation by the actual cost. */
    static void settle(Window w, long reservedNanos, long actualNanos) {
        w.reservedNanos.add(-reservedNanos);
        w.spentNanos.add(actualNanos);
        w.remainingNanos.addAndGet(reservedNanos - actualNanos);
    }

    /** Books spend that had no reservation (e.g. restored or settled after roll-over into the new window). */
    void charge(long actualNanos, long nowMillis) {
        Window w = current(nowMillis);
        w.spentNanos.add(actualNanos);
        w.remainingNanos.addAndGet(-actualNanos);
    }

    /**
     * Sets the current window's figures to those of a shared store (cluster mode, where this window takes no
     * reservation itself); {@code false} when the window is not the one starting at {@code periodStartMillis}.
     * Each figure is set on its own: a reader may see one updated before the other.
     */
    boolean mirror(long periodStartMillis, long spentNanos, long reservedNanos, long nowMillis) {
        Window w = current(nowMillis);
        if (w.startMillis != periodStartMillis) {
            return false;
        }
        w.spentNanos.add(spentNanos - w.spentNanos.sum());
        w.reservedNanos.add(reservedNanos - w.reservedNanos.sum());
        w.remainingNanos.set(limitNanos - spentNanos - reservedNanos);
        return true;
    }

    /** Changes the limit; the difference applies to what remains this period. */
    public void setLimit(long newLimitNanos, BudgetPeriod newPeriod, long nowMillis) {
        if (newPeriod != period) {
            Window old = current(nowMillis);
            this.period = newPeriod;
            this.limitNanos = newLimitNanos;
            // A new period kind starts a new window; settled spend of the old kind's window is not carried.
            Window fresh = new Window(Periods.startMillis(newPeriod, nowMillis, zone),
                    Periods.endMillis(newPeriod, nowMillis, zone),
                    newLimitNanos - old.spentNanos.sum() - old.reservedNanos.sum());
            fresh.spentNanos.add(old.spentNanos.sum());
            fresh.reservedNanos.add(old.reservedNanos.sum());
            window.set(fresh);
            return;
        }
        long delta = newLimitNanos - limitNanos;
        this.limitNanos = newLimitNanos;
        current(nowMillis).remainingNanos.addAndGet(delta);
    }

    /** A consistent-enough view for APIs: each figure is exact when no call is in flight. */
    public Snapshot snapshot(long nowMillis) {
        Window w = current(nowMillis);
        return new Snapshot(holder(), limitNanos, period, w.startMillis, w.endMillis, w.spentNanos.sum(),
                w.reservedNanos.sum(), w.remainingNanos.get());
    }

    /** {@code true} the first time in this window that spend crossed {@code thresholdPercent} of the limit. */
    boolean crossedSoftThreshold(int thresholdPercent, long nowMillis) {
        Window w = current(nowMillis);
        long spent = w.spentNanos.sum();
        if (limitNanos <= 0 || spent * 100 < limitNanos * (long) thresholdPercent) {
            return false;
        }
        long seen = softAlertWindowStart.get();
        return seen != w.startMillis && softAlertWindowStart.compareAndSet(seen, w.startMillis);
    }

    /**
     * A view of a budget.
     *
     * @param remainingNanos limit minus settled spend minus open reservations
     */
    public record Snapshot(String holder, long limitNanos, BudgetPeriod period, long periodStartMillis,
                           long periodEndMillis, long spentNanos, long reservedNanos, long remainingNanos) {
    }
}
