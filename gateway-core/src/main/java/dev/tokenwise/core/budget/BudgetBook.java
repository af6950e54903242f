package dev.tokenwise.core.budget;

import dev.tokenwise.core.config.BudgetConfig;
import dev.tokenwise.core.health.PeriodicTask;
import dev.tokenwise.core.model.Money;
import java.time.ZoneId;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The budgets of all teams and keys, and the reservations open against them.
 *
 * <p>Implementation note: {@link #reserve} takes the worst-case cost from the team's budget and then
 * from the key's, each with a compare-and-set ({@link Budget}); if the key's does not fit, the team's part
 * is given back, so a refused call leaves no trace. Each admitted reservation is registered with a
 * deadline. {@link #settle} replaces it by the actual cost exactly once (a CAS on its state guards it). A reaper thread reclaims reservations whose deadline passed (a call that never settles must not
 * hold budget forever); if such a call settles later after all, its actual cost is charged without a
 * reservation, so the books stay right either way. Holders without a budget are unlimited.
 */
public final class BudgetBook implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(BudgetBook.class);

    /** Why a reservation was refused, or that it was admitted. */
    public enum Outcome { ADMITTED, TEAM_EXCEEDED, KEY_EXCEEDED }

    /** The answer of {@link #reserve}: a reservation, or the snapshot of the budget that refused it. */
    public record Admission(Outcome outcome, Reservation reservation, Budget.Snapshot refusedBy) {
        public boolean admitted() {
            return outcome == Outcome.ADMITTED;
        }
    }

    /**
     * What settles or gives back a reservation held in a {@link SharedBudgets} store rather than in this book; called
     * once, from any thread, and never blocking.
     */
    public interface SharedSettlement {
        /** Replaces the reservation by the call's actual cost. */
        void settle(long actualNanos);

        /** Gives the reservation back untouched. */
        void cancel();
    }

    /** An open reservation of one call. */
    public static final class Reservation {
        private final String requestId;
        /** Set for a reservation held in a shared store: it settles there, never in this book's windows. */
        private final SharedSettlement shared;
        private final Budget team;
        private final Budget.Window teamWindow;
        private final Budget key;
        private final Budget.Window keyWindow;
        private final long reservedNanos;
        private final long deadlineNanos;
        /** {@link #OPEN}, {@link #RECLAIMED} or {@link #CLOSED}. */
        private final AtomicInteger state = new AtomicInteger(OPEN);

        Reservation(String requestId, Budget team, Budget.Window teamWindow, Budget key, Budget.Window keyWindow,
                    long reservedNanos, long deadlineNanos) {
            this(requestId, team, teamWindow, key, keyWindow, reservedNanos, deadlineNanos, null);
        }

        private Reservation(String requestId, Budget team, Budget.Window teamWindow, Budget key,
                            Budget.Window keyWindow, long reservedNanos, long deadlineNanos, SharedSettlement shared) {
            this.shared = shared;
            this.requestId = requestId;
            this.team = team;
            this.teamWindow = teamWindow;
            this.key = key;
            this.keyWindow = keyWindow;
            this.reservedNanos = reservedNanos;
            this.deadlineNanos = deadlineNanos;
        }

        public long reservedNanos() {
            return reservedNanos;
        }

        public String requestId() {
            return requestId;
        }
    }

    private static final int OPEN = 0;
    private static final int RECLAIMED = 1;
    private static final int CLOSED = 2;

    private final Map<String, Budget> teams = new ConcurrentHashMap<>();
    private final Map<String, Budget> keys = new ConcurrentHashMap<>();
    private final Map<String, Reservation> open = new ConcurrentHashMap<>();
    private final ZoneId zone;
    private final int softThresholdPercent;
    private final LongSupplier clockMillis;
    private final LongAdder reclaimed = new LongAdder();
    private final ScheduledExecutorService reaper;
    private final PeriodicTask reaperTask;
    private volatile SoftThresholdListener softThresholdListener = (team, keyId, s) -> { };
    /** Where reservations are made when the budgets are shared by several instances; {@code null} on a single node. */
    private volatile SharedBudgets shared;

    /** Told when a budget's settled spend crosses the soft threshold: once per period and budget. */
    @FunctionalInterface
    public interface SoftThresholdListener {
        /**
         * @param team the team the budget belongs to: its holder, or the team of the key that holds it
         * @param keyId the key that holds the budget, or {@code null} for the team's own budget
         */
        void crossed(String team, String keyId, Budget.Snapshot snapshot);
    }

    /**
     * @param reapEveryMillis how often expired reservations are looked for; {@code 0} disables the reaper thread
     *     (tests call {@link #reclaimExpired} themselves)
     */
    public BudgetBook(ZoneId zone, int softThresholdPercent, LongSupplier clockMillis, long reapEveryMillis) {
        this.zone = zone;
        this.softThresholdPercent = softThresholdPercent;
        this.clockMillis = clockMillis;
        if (reapEveryMillis > 0) {
            this.reaper = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "tokenwise-budget-reaper");
                t.setDaemon(true);
                return t;
            });
            this.reaperTask = PeriodicTask.every(reaper, reapEveryMillis, "budget-reaper",
                    () -> reclaimExpired(System.nanoTime()));
        } else {
            this.reaper = null;
            this.reaperTask = null;
        }
    }

    /** The task that reclaims expired reservations ({@code /healthz} reports its failure), {@code null} without one. */
    public PeriodicTask reaper() {
        return reaperTask;
    }

    /** Called once per period and budget when its settled spend crosses the soft threshold. */
    public void onSoftThreshold(SoftThresholdListener listener) {
        this.softThresholdListener = listener;
    }

    /** Sets (or replaces) a team's budget; {@code spentThisPeriodNanos} restores spend recorded before a restart. */
    public void setTeamBudget(String team, BudgetConfig budget, long spentThisPeriodNanos) {
        set(teams, team, null, budget, spentThisPeriodNanos);
    }

    /**
     * Sets (or replaces) a key's budget. The key's {@code team} travels with the budget, so that what is said
     * about it (a soft-threshold alert) reaches the key's team, never a team that happens to share the key's name.
     */
    public void setKeyBudget(String team, String keyId, BudgetConfig budget, long spentThisPeriodNanos) {
        set(keys, team, keyId, budget, spentThisPeriodNanos);
    }

    private void set(Map<String, Budget> map, String team, String keyId, BudgetConfig budget, long spentNanos) {
        long now = clockMillis.getAsLong();
        String holder = keyId != null ? keyId : team;
        if (budget == null) {
            map.remove(holder);
            return;
        }
        Budget existing = map.get(holder);
        if (existing != null) {
            existing.setLimit(budget.limitNanos(), budget.period(), now);
            return;
        }
        map.put(holder, new Budget(team, keyId, budget.limitNanos(), budget.period(), zone, now, spentNanos));
    }

    /**
     * Makes reservations against {@code store} from now on (cluster mode): this book keeps the limits, which the
     * store enforces, and mirrors the figures the store reports ({@link #mirror}).
     */
    public void shareWith(SharedBudgets store) {
        this.shared = store;
    }

    /** The shared store reservations are made against, or {@code null} when the budgets are this process's own. */
    public SharedBudgets shared() {
        return shared;
    }

    /** A reservation a shared store holds; {@link #settle} and {@link #cancel} hand it to {@code settlement}. */
    public static Reservation sharedReservation(String requestId, long reservedNanos, SharedSettlement settlement) {
        return new Reservation(requestId, null, null, null, null, reservedNanos, Long.MAX_VALUE,
                java.util.Objects.requireNonNull(settlement, "settlement"));
    }

    /**
     * Sets a budget's figures of the period starting at {@code periodStartMillis} to those a shared store reports
     * (its settled spend and open reservations across every instance), so that views, metrics and soft-threshold
     * alerts of this instance see the cluster's spend. Ignored when the budget is unknown or its period differs.
     */
    public void mirror(String team, String keyId, long periodStartMillis, long spentNanos, long reservedNanos) {
        Budget budget = keyId == null ? teams.get(team) : keys.get(keyId);
        long now = clockMillis.getAsLong();
        if (budget != null && budget.mirror(periodStartMillis, spentNanos, reservedNanos, now)) {
            checkSoftThreshold(budget, now);
        }
    }

    /** The zone calendar periods are reckoned in. */
    public ZoneId zone() {
        return zone;
    }

    /** Runs {@code action} on every team's and key's budget. */
    public void forEachBudget(java.util.function.Consumer<Budget> action) {
        teams.values().forEach(action);
        keys.values().forEach(action);
    }

    public Budget team(String team) {
        return teams.get(team);
    }

    public Budget key(String keyId) {
        return keys.get(keyId);
    }

    /**
     * Reserves the worst-case cost of a call before it is forwarded.
     *
     * @param timeoutNanos how long the reservation may stay open before the reaper reclaims it
     */
    public Admission reserve(String requestId, String team, String keyId, long worstCaseNanos, long timeoutNanos) {
        long now = clockMillis.getAsLong();
        Budget teamBudget = teams.get(team);
        Budget keyBudget = keyId == null ? null : keys.get(keyId);
        Budget.Window teamWindow = null;
        if (teamBudget != null) {
            teamWindow = teamBudget.tryReserve(worstCaseNanos, now);
            if (teamWindow == null) {
                return new Admission(Outcome.TEAM_EXCEEDED, null, teamBudget.snapshot(now));
            }
        }
        Budget.Window keyWindow = null;
        if (keyBudget != null) {
            keyWindow = keyBudget.tryReserve(worstCaseNanos, now);
            if (keyWindow == null) {
                if (teamWindow != null) {
                    Budget.cancel(teamWindow, worstCaseNanos);
                }
                return new Admission(Outcome.KEY_EXCEEDED, null, keyBudget.snapshot(now));
            }
        }
        Reservation r = new Reservation(requestId, teamBudget, teamWindow, keyBudget, keyWindow, worstCaseNanos,
                System.nanoTime() + timeoutNanos);
        open.put(requestId, r);
        return new Admission(Outcome.ADMITTED, r, null);
    }

    /** Gives a reservation back untouched: the call was never forwarded. */
    public void cancel(Reservation r) {
        if (!r.state.compareAndSet(OPEN, CLOSED)) {
            return;
        }
        if (r.shared != null) {
            r.shared.cancel();
            return;
        }
        open.remove(r.requestId, r);
        if (r.teamWindow != null) {
            Budget.cancel(r.teamWindow, r.reservedNanos);
        }
        if (r.keyWindow != null) {
            Budget.cancel(r.keyWindow, r.reservedNanos);
        }
    }

    /** Replaces the reservation by the actual cost, once. Safe from any thread. */
    public void settle(Reservation r, long actualNanos) {
        if (r.shared != null) {
            if (r.state.compareAndSet(OPEN, CLOSED)) {
                r.shared.settle(actualNanos);
            }
            return;
        }
        long now = clockMillis.getAsLong();
        if (r.state.compareAndSet(OPEN, CLOSED)) {
            open.remove(r.requestId, r);
            if (r.teamWindow != null) {
                Budget.settle(r.teamWindow, r.reservedNanos, actualNanos);
            }
            if (r.keyWindow != null) {
                Budget.settle(r.keyWindow, r.reservedNanos, actualNanos);
            }
        } else if (r.state.compareAndSet(RECLAIMED, CLOSED)) {
            // The reaper reclaimed it: charge what the call cost without a reservation.
            if (r.team != null) {
                r.team.charge(actualNanos, now);
            }
            if (r.key != null) {
                r.key.charge(actualNanos, now);
            }
        }
        checkSoftThreshold(r.team, now);
        checkSoftThreshold(r.key, now);
    }

    /** Charges spend that had no reservation (calls of holders that had no budget when they started). */
    public void charge(String team, String keyId, long actualNanos) {
        long now = clockMillis.getAsLong();
        Budget t = teams.get(team);
        if (t != null) {
            t.charge(actualNanos, now);
            checkSoftThreshold(t, now);
        }
        Budget k = keyId == null ? null : keys.get(keyId);
        if (k != null) {
            k.charge(actualNanos, now);
            checkSoftThreshold(k, now);
        }
    }

    private void checkSoftThreshold(Budget budget, long now) {
        if (budget != null && budget.crossedSoftThreshold(softThresholdPercent, now)) {
            Budget.Snapshot s = budget.snapshot(now);
            String holder = budget.keyId() == null ? "team " + budget.team()
                    : "key " + budget.keyId() + " of team " + budget.team();
            log.warn("Budget alert: {} has spent {} of {} {} (soft threshold {}%)", holder,
                    Money.format(s.spentNanos()), Money.format(s.limitNanos()), Periods.noun(s.period()),
                    softThresholdPercent);
            softThresholdListener.crossed(budget.team(), budget.keyId(), s);
        }
    }

    /** Gives back reservations whose deadline passed; returns how many. */
    public int reclaimExpired(long nowNanos) {
        int n = 0;
        for (Reservation r : open.values()) {
            if (nowNanos - r.deadlineNanos > 0 && r.state.compareAndSet(OPEN, RECLAIMED)) {
                open.remove(r.requestId, r);
                if (r.teamWindow != null) {
                    Budget.cancel(r.teamWindow, r.reservedNanos);
                }
                if (r.keyWindow != null) {
                    Budget.cancel(r.keyWindow, r.reservedNanos);
                }
                n++;
                reclaimed.increment();
                log.warn("Reclaimed the reservation of {} ({}): the call did not settle in time", r.requestId,
                        Money.format(r.reservedNanos));
            }
        }
        return n;
    }

    public int openReservations() {
        return open.size();
    }

    public long reclaimedReservations() {
        return reclaimed.sum();
    }

    /** The 402 message, e.g. "team demo has $0.0012 of $5.00 left this day; this call may cost up to $0.0100". */
    public static String refusal(Admission admission, String kind, long worstCaseNanos) {
        Budget.Snapshot s = admission.refusedBy();
        return kind + " " + s.holder() + " has " + Money.format(Math.max(0, s.remainingNanos())) + " of "
                + Money.format(s.limitNanos()) + " left " + Periods.noun(s.period())
                + "; this call may cost up to " + Money.format(worstCaseNanos);
    }

    @Override
    public void close() {
        if (reaper != null) {
            reaper.shutdownNow();
        }
    }
}
