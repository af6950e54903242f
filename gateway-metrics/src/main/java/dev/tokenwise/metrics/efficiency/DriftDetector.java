package dev.tokenwise.metrics.efficiency;

import dev.tokenwise.core.model.ModelPrice;
import dev.tokenwise.core.spi.PriceCatalog;
import dev.tokenwise.metrics.ledger.DriftReference;
import dev.tokenwise.metrics.ledger.PriceBucket;
import dev.tokenwise.metrics.ledger.TaskLedger;
import dev.tokenwise.metrics.ledger.TaskRow;
import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Notices when a model "got dumber" or quietly dearer on the clients' own tasks: per model, sequential tests
 * ({@link ModelMonitor}) against a pinned reference ("last known good"), fed each task once it has settled, with
 * alerts in an {@link AlertBook} (source {@code traffic}). The statistics and their measured false-alarm rate and
 * detection delay are in {@code docs/efficiency.md}.
 *
 * <p>The reference of a model is a range of whole UTC days, kept in the ledger ({@code drift_references}). It is
 * gathered from the model's first days with tasks and pinned once it has {@code minReferenceDays} days and
 * {@code minReferenceTasks} tasks (at most {@code referenceDays} days). It never slides: a lasting change stays
 * alarmed until an operator {@link #acknowledge}s it, which starts a new reference (from a given day, e.g. the day
 * the change began, or from now) and closes the model's alerts.
 *
 * <p>{@link #check} reads the ledger: run it on a scheduler or worker thread, never on an event loop. Its methods
 * are serialised; the API reads {@link #state}.
 *
 * <pre>{@code
 * DriftDetector drift = new DriftDetector(ledger.tasks(), alerts, priceCatalog, DriftSettings.DEFAULTS);
 * drift.schedule(scheduler, Duration.ofMinutes(15), System::currentTimeMillis);
 * }</pre>
 */
public final class DriftDetector {
    public static final String SOURCE = "traffic";
    private static final Logger log = LoggerFactory.getLogger(DriftDetector.class);
    private static final long DAY = TaskLedger.DAY_MILLIS;
    private static final double YEAR_MILLIS = 365.0 * DAY;
    private static final long PRICE_WINDOW_MILLIS = 3 * DAY;

    private final TaskLedger tasks;
    private final AlertBook alerts;
    private final PriceCatalog prices;
    private final DriftSettings settings;
    private final Map<String, Watch> watches = new TreeMap<>();
    private boolean started;
    /** Tasks that settled before this were looked at for models without a reference. */
    private long seenUntilMillis;
    private volatile List<DriftFinding> lastFindings = List.of();

    /** One model: its reference, its monitor once pinned, and where its stream of tasks starts. */
    private static final class Watch {
        DriftReference reference;
        ModelMonitor monitor;
        /** The monitor has taken in the model's tasks that settled before this. */
        long cursorMillis;
        long pinAttemptDay = Long.MIN_VALUE;
    }

    /**
     * The reference and tests of one model, for {@code GET /api/v1/drift}.
     *
     * @param findings the tests' state; empty while the reference is gathered
     * @param untested tests left out for lack of reference data
     */
    public record ModelState(String model, String source, DriftReference reference, long referenceTasks,
                             List<DriftFinding> findings, List<String> untested) {
    }

    /**
     * @param prices the current list prices (for {@code effective_price_drift}), or {@code null} to leave that
     *     alert out
     */
    public DriftDetector(TaskLedger tasks, AlertBook alerts, PriceCatalog prices, DriftSettings settings) {
        this.tasks = Objects.requireNonNull(tasks, "tasks");
        this.alerts = Objects.requireNonNull(alerts, "alerts");
        this.prices = prices;
        this.settings = Objects.requireNonNull(settings, "settings");
    }

    /** Takes in the tasks settled since the last check, checks every model's tests, and opens or closes alerts. */
    public synchronized List<DriftFinding> check(long nowMillis) {
        long until = nowMillis - settings.settle().toMillis();
        if (!started) {
            start(nowMillis, until);
        }
        long today = Math.floorDiv(nowMillis, DAY);
        for (Map.Entry<String, Watch> e : watches.entrySet()) {
            Watch w = e.getValue();
            if (w.monitor == null && w.pinAttemptDay != today) {
                w.pinAttemptDay = today;
                tryPin(e.getKey(), w, nowMillis);
            }
        }
        long readFrom = seenUntilMillis;
        for (Watch w : watches.values()) {
            if (w.monitor != null) {
                readFrom = Math.min(readFrom, w.cursorMillis);
            }
        }
        if (until > readFrom) {
            for (TaskRow row : tasks.taskRows(readFrom, until, null)) {
                if (row.model() == null) {
                    continue;
                }
                Watch w = watches.get(row.model());
                if (w == null) {
                    w = discover(row.model(), row.lastAtMillis(), nowMillis);
                }
                if (w.monitor != null && row.lastAtMillis() >= w.cursorMillis) {
                    w.monitor.observe(row);
                }
            }
            seenUntilMillis = Math.max(seenUntilMillis, until);
            for (Watch w : watches.values()) {
                if (w.monitor != null) {
                    w.cursorMillis = Math.max(w.cursorMillis, until);
                }
            }
        }
        List<DriftFinding> findings = new ArrayList<>();
        for (Map.Entry<String, Watch> e : watches.entrySet()) {
            Watch w = e.getValue();
            if (w.monitor == null) {
                continue;
            }
            Map<String, Boolean> memo = new HashMap<>();
            List<DriftFinding> model = w.monitor.check(type -> type != AlertType.EFFECTIVE_PRICE_DRIFT
                    || memo.computeIfAbsent(e.getKey(), m -> pricesUnchanged(m, w.reference, nowMillis)));
            apply(model);
            findings.addAll(model);
        }
        alerts.expire(nowMillis);
        lastFindings = List.copyOf(findings);
        return findings;
    }

    /**
     * The first check: loads the stored references and fits the pinned ones; the tasks of the last
     * {@code referenceDays} days are looked at for models without one (which start gathering from their first day
     * there), and the pinned ones take in their tasks of the last {@code replayDays} days.
     */
    private void start(long nowMillis, long until) {
        started = true;
        seenUntilMillis = Math.min(until, Math.max(0, Math.floorDiv(nowMillis, DAY) * DAY
                - settings.referenceDays() * DAY));
        for (DriftReference ref : tasks.driftReferences()) {
            if (SOURCE.equals(ref.source())) {
                Watch w = new Watch();
                w.reference = ref;
                watches.put(ref.model(), w);
                if (ref.pinned()) {
                    pin(w, ref, nowMillis);
                }
            }
        }
    }

    private Watch discover(String model, long firstTaskMillis, long nowMillis) {
        Watch w = new Watch();
        w.reference = new DriftReference(SOURCE, model, Math.floorDiv(firstTaskMillis, DAY) * DAY, 0, nowMillis,
                "gathering from the model's first tasks");
        save(w.reference);
        watches.put(model, w);
        log.info("Drift: gathering a reference for model {} from {}", model, day(w.reference.fromMillis()));
        return w;
    }

    /** Pins a gathering reference once its whole days hold enough tasks. */
    private void tryPin(String model, Watch w, long nowMillis) {
        long to = Math.floorDiv(nowMillis, DAY) * DAY;
        // A full reference of referenceDays whole days: the day-to-day spread needs them (see RateReference).
        if (to - w.reference.fromMillis() < settings.referenceDays() * DAY) {
            return;
        }
        long from = to - settings.referenceDays() * DAY;
        List<TaskRow> rows = rows(model, from, to);
        long days = rows.stream().mapToLong(r -> Math.floorDiv(r.lastAtMillis(), DAY)).distinct().count();
        if (days < settings.minReferenceDays() || rows.size() < settings.minReferenceTasks()) {
            return;
        }
        DriftReference ref = new DriftReference(SOURCE, model, from, to, nowMillis, w.reference.note());
        save(ref);
        pin(w, ref, nowMillis);
        log.info("Drift: reference of model {} pinned: {} ({} tasks)", model, label(ref), rows.size());
    }

    private void pin(Watch w, DriftReference ref, long nowMillis) {
        List<TaskRow> rows = rows(ref.model(), ref.fromMillis(), ref.toMillis());
        w.reference = ref;
        w.monitor = ModelMonitor.fit(ModelMonitor.Kind.TRAFFIC, ref.model(), rows,
                r -> Math.floorDiv(r.lastAtMillis(), DAY), (ref.toMillis() - ref.fromMillis()) / YEAR_MILLIS,
                label(ref), settings);
        w.cursorMillis = Math.max(ref.toMillis(), nowMillis - settings.replayDays() * DAY);
    }

    private List<TaskRow> rows(String model, long from, long to) {
        return tasks.taskRows(from, to, null).stream().filter(r -> model.equals(r.model())).toList();
    }

    /**
     * An operator accepts the model's present behaviour: its reference starts again from {@code fromMillis}
     * (pinned at the next check if the whole days since then hold enough tasks, else gathered from then on), its
     * tests start over and its open traffic alerts close.
     */
    public synchronized DriftReference acknowledge(String model, long fromMillis, long nowMillis, String note) {
        Watch w = watches.computeIfAbsent(model, m -> new Watch());
        w.reference = new DriftReference(SOURCE, model, Math.floorDiv(Math.min(fromMillis, nowMillis), DAY) * DAY, 0,
                nowMillis, note);
        w.monitor = null;
        w.pinAttemptDay = Long.MIN_VALUE;
        save(w.reference);
        for (String metric : ModelMonitor.metrics(ModelMonitor.Kind.TRAFFIC)) {
            alerts.close(AlertType.QUALITY_DRIFT, Alert.Scope.MODEL, model, metric);
            alerts.close(AlertType.EFFECTIVE_PRICE_DRIFT, Alert.Scope.MODEL, model, metric);
        }
        log.info("Drift: model {} acknowledged ({}); a new reference is gathered from {}", model, note,
                day(w.reference.fromMillis()));
        return w.reference;
    }

    /** Every model's reference and tests. */
    public synchronized List<ModelState> state() {
        List<ModelState> out = new ArrayList<>();
        watches.forEach((model, w) -> out.add(new ModelState(model, SOURCE, w.reference,
                w.monitor == null ? 0 : w.monitor.referenceTasks(),
                w.monitor == null ? List.of() : w.monitor.states(),
                w.monitor == null ? List.of() : w.monitor.untested())));
        return out;
    }

    /** The findings of the last {@link #check}. */
    public List<DriftFinding> lastFindings() {
        return lastFindings;
    }

    private void apply(List<DriftFinding> findings) {
        for (DriftFinding f : findings) {
            if (f.alarmed()) {
                alerts.open(f.type(), Alert.Scope.MODEL, f.model(), f.metric(), f.message(), f.recent(), f.threshold(),
                        f.source());
            } else if (f.closed()) {
                alerts.close(f.type(), Alert.Scope.MODEL, f.model(), f.metric());
            }
        }
    }

    /**
     * Whether the model's calls cost the same per token in the last days as in its reference: the price index
     * (what its calls cost ÷ what their tokens cost at the catalog's current list price, by price class) of both
     * within {@code priceTolerance}. {@code false} without a list price or priced calls.
     */
    private boolean pricesUnchanged(String model, DriftReference ref, long nowMillis) {
        Optional<ModelPrice> price = prices == null ? Optional.empty() : prices.find(model);
        if (price.isEmpty()) {
            return false;
        }
        double reference = priceIndex(tasks.priceBuckets(ref.fromMillis(), ref.toMillis()), model, price.get());
        double recent = priceIndex(tasks.priceBuckets(nowMillis - PRICE_WINDOW_MILLIS, nowMillis), model, price.get());
        return !Double.isNaN(reference) && !Double.isNaN(recent)
                && Math.abs(recent / reference - 1) <= settings.priceTolerance();
    }

    static double priceIndex(List<PriceBucket> buckets, String model, ModelPrice price) {
        double cost = 0;
        double list = 0;
        for (PriceBucket p : buckets) {
            if (!model.equals(p.model())) {
                continue;
            }
            cost += p.costNanos();
            list += ((double) p.uncachedInputTokens() * price.inputNanosPerMtok()
                    + (double) p.cachedInputTokens() * price.cachedInputNanosPerMtok()
                    + (double) p.cacheWriteTokens() * price.cacheWriteNanosPerMtok()
                    + (double) p.plainOutputTokens() * price.outputNanosPerMtok()
                    + (double) p.reasoningTokens() * price.reasoningNanosPerMtok()) / 1e6;
        }
        return list > 0 && cost > 0 ? cost / list : Double.NaN;
    }

    private void save(DriftReference ref) {
        try {
            tasks.saveDriftReference(ref);
        } catch (RuntimeException e) {
            log.warn("Drift: the reference of model {} could not be saved ({}); it holds until a restart",
                    ref.model(), e.getMessage());
        }
    }

    static String label(DriftReference ref) {
        return day(ref.fromMillis()) + " to " + day(ref.toMillis() - 1);
    }

    private static String day(long millis) {
        return LocalDate.ofEpochDay(Math.floorDiv(millis, DAY)).toString();
    }

    /**
     * Runs {@link #check} every {@code every} on {@code scheduler} (first run after one period); a failing
     * check (e.g. the ledger cannot be read) is logged and retried at the next period.
     */
    public ScheduledFuture<?> schedule(ScheduledExecutorService scheduler, Duration every, LongSupplier clockMillis) {
        long millis = every.toMillis();
        return scheduler.scheduleWithFixedDelay(() -> {
            try {
                check(clockMillis.getAsLong());
            } catch (Throwable e) {
                // An Error too: a periodic task that throws is never run again.
                log.warn("Drift check failed: {}", e.getMessage(), e);
            }
        }, millis, millis, TimeUnit.MILLISECONDS);
    }
}
