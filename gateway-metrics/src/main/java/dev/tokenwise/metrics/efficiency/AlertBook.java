package dev.tokenwise.metrics.efficiency;

import dev.tokenwise.core.budget.Budget;
import dev.tokenwise.core.budget.Periods;
import dev.tokenwise.core.model.Money;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The open alerts of the gateway: budget thresholds, quality and price drift, billing discrepancies.
 * Thread-safe; {@code GET /api/v1/alerts} lists them.
 *
 * <p>An alert is identified by its {@link Alert.Key} (type, scope, subject, metric). {@link #open} opens it, or updates
 * the figures of the one already open (keeping when it opened); {@link #close} closes it. Each opening and each
 * closing logs one line and an opening increments the counter {@code tokenwise.alerts.opened} (tag {@code type})
 * when a meter registry is given. Budget alerts close by themselves when their period ends.
 *
 * <pre>{@code
 * AlertBook alerts = new AlertBook(System::currentTimeMillis, meterRegistry);
 * budgets.onSoftThreshold((team, keyId, snapshot) ->
 *         alerts.budgetThreshold(team, keyId, snapshot, config.budgets().softThresholdPercent()));
 * }</pre>
 */
public final class AlertBook {
    private static final Logger log = LoggerFactory.getLogger(AlertBook.class);
    private static final Comparator<Alert> ORDER = Comparator.comparingLong(Alert::sinceMillis)
            .thenComparing(a -> a.type().ordinal())
            .thenComparing(a -> a.scope().ordinal())
            .thenComparing(Alert::subject)
            .thenComparing(a -> a.metric() == null ? "" : a.metric());

    private final Map<Alert.Key, Alert> open = new ConcurrentHashMap<>();
    private final Map<AlertType, LongAdder> opened = new EnumMap<>(AlertType.class);
    private final LongSupplier clockMillis;
    private final MeterRegistry registry;

    /** A book on the system clock, without meters. */
    public AlertBook() {
        this(System::currentTimeMillis, null);
    }

    /** @param registry where openings are counted, or {@code null} */
    public AlertBook(LongSupplier clockMillis, MeterRegistry registry) {
        this.clockMillis = clockMillis;
        this.registry = registry;
        for (AlertType type : AlertType.values()) {
            opened.put(type, new LongAdder());
        }
    }

    /**
     * Opens a model or team alert, or updates message and figures of the open alert with the same key. A key's
     * alert belongs to the key's team, which only {@link #budgetThreshold} knows.
     *
     * @return {@code true} when it was not open before
     * @throws IllegalArgumentException for {@link Alert.Scope#KEY}
     */
    public boolean open(AlertType type, Alert.Scope scope, String subject, String metric, String message,
                        double value, double threshold) {
        return open(type, scope, subject, metric, message, value, threshold, null);
    }

    /**
     * {@link #open(AlertType, Alert.Scope, String, String, String, double, double)} naming what found it
     * ({@code traffic} or {@code probe} for drift alerts).
     */
    public boolean open(AlertType type, Alert.Scope scope, String subject, String metric, String message,
                        double value, double threshold, String source) {
        if (scope == Alert.Scope.KEY) {
            throw new IllegalArgumentException("scope: KEY (expected: MODEL or TEAM; a key's alert names its team)");
        }
        String team = scope == Alert.Scope.TEAM ? subject : null;
        return open(new Alert(type, scope, subject, team, metric, message, value, threshold, 0, 0, source));
    }

    private boolean open(Alert candidate) {
        long now = clockMillis.getAsLong();
        expire(now);
        boolean[] fresh = new boolean[1];
        Alert stored = open.compute(candidate.key(), (k, old) -> {
            fresh[0] = old == null;
            return candidate.since(old == null ? now : old.sinceMillis());
        });
        if (fresh[0]) {
            opened.get(candidate.type()).increment();
            if (registry != null) {
                registry.counter("tokenwise.alerts.opened", "type", candidate.type().label()).increment();
            }
            log.warn("Alert opened: {} for {}{}: {}", candidate.type().label(), describe(candidate),
                    metricSuffix(candidate), stored.message());
        }
        return fresh[0];
    }

    /**
     * Closes the alert with this key, if open.
     *
     * @return {@code true} when it was open
     */
    public boolean close(AlertType type, Alert.Scope scope, String subject, String metric) {
        Alert removed = open.remove(new Alert.Key(type, scope, subject, metric));
        if (removed != null) {
            logClosed(removed, "its condition cleared", clockMillis.getAsLong());
        }
        return removed != null;
    }

    /** Closes every open alert of {@code type} that {@code keep} rejects; returns how many. */
    public int closeUnless(AlertType type, Predicate<Alert.Key> keep) {
        int n = 0;
        for (Alert a : List.copyOf(open.values())) {
            if (a.type() == type && !keep.test(a.key()) && close(type, a.scope(), a.subject(), a.metric())) {
                n++;
            }
        }
        return n;
    }

    /**
     * A budget crossed its soft threshold ({@code BudgetBook.onSoftThreshold}): opens a
     * {@link AlertType#BUDGET_THRESHOLD} alert for its holder, which closes when the budget's period ends. A key's
     * alert belongs to the key's team: only that team and the admin see it.
     *
     * @param team the team the budget belongs to (its holder, or the key's team)
     * @param keyId the key that holds the budget, or {@code null} for the team's own budget
     */
    public void budgetThreshold(String team, String keyId, Budget.Snapshot snapshot, int thresholdPercent) {
        double percent = snapshot.limitNanos() > 0 ? 100.0 * snapshot.spentNanos() / snapshot.limitNanos() : 0;
        String holder = keyId == null ? team : "key " + keyId + " of team " + team;
        String message = holder + " has spent " + Money.format(snapshot.spentNanos()) + " of its "
                + Money.format(snapshot.limitNanos()) + " budget " + Periods.noun(snapshot.period())
                + String.format(" (%.1f%%; soft threshold %d%%)", percent, thresholdPercent);
        Alert.Scope scope = keyId == null ? Alert.Scope.TEAM : Alert.Scope.KEY;
        open(new Alert(AlertType.BUDGET_THRESHOLD, scope, keyId == null ? team : keyId, team, null, message, percent,
                thresholdPercent, 0, snapshot.periodEndMillis()));
    }

    /**
     * The models without a price that {@code pricing.allow_unpriced} lets through: opens an
     * {@link AlertType#UNPRICED_MODEL} alert for each (their calls are booked at cost 0, so spend is unknown), which
     * stays open, never expiring, until the model has a price; closes those of models no longer listed.
     *
     * @param reserveNanos what each of their calls reserves from budgets
     */
    public void unpricedModels(java.util.Collection<String> models, long reserveNanos) {
        java.util.Set<String> unpriced = java.util.Set.copyOf(models);
        closeUnless(AlertType.UNPRICED_MODEL, key -> unpriced.contains(key.subject()));
        for (String model : unpriced) {
            open(AlertType.UNPRICED_MODEL, Alert.Scope.MODEL, model, null, "model " + model + " has no price:"
                    + " pricing.allow_unpriced lets its calls through, booked at cost 0 (each reserves "
                    + Money.format(reserveNanos) + " of budget); give it a price in the catalog or a price: block",
                    0, 0);
        }
    }

    /** Closes alerts whose period ended; returns how many. */
    public int expire(long nowMillis) {
        int n = 0;
        for (Alert a : open.values()) {
            if (a.untilMillis() > 0 && a.untilMillis() <= nowMillis && open.remove(a.key(), a)) {
                logClosed(a, "its period ended", nowMillis);
                n++;
            }
        }
        return n;
    }

    /** The open alerts, oldest first. */
    public List<Alert> list() {
        expire(clockMillis.getAsLong());
        List<Alert> alerts = new ArrayList<>(open.values());
        alerts.sort(ORDER);
        return alerts;
    }

    /** The open alert with this key, or {@code null}. */
    public Alert find(AlertType type, Alert.Scope scope, String subject, String metric) {
        return open.get(new Alert.Key(type, scope, subject, metric));
    }

    /** How many alerts of {@code type} opened since this book was made. */
    public long openedCount(AlertType type) {
        return opened.get(type).sum();
    }

    private static void logClosed(Alert a, String why, long nowMillis) {
        log.info("Alert closed: {} for {}{} after {} s ({})", a.type().label(), describe(a), metricSuffix(a),
                Math.max(0, (nowMillis - a.sinceMillis()) / 1000), why);
    }

    /** {@code model m}, {@code team t} or {@code key k (team t)}. */
    private static String describe(Alert a) {
        String subject = a.scope().field() + " " + a.subject();
        return a.scope() == Alert.Scope.KEY ? subject + " (team " + a.team() + ")" : subject;
    }

    private static String metricSuffix(Alert a) {
        return a.metric() == null ? "" : " (" + a.metric() + ")";
    }
}
