package dev.tokenwise.metrics.efficiency;

import dev.tokenwise.metrics.ledger.DriftReference;
import dev.tokenwise.metrics.ledger.TaskLedger;
import dev.tokenwise.metrics.ledger.TaskRow;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The probes' results: per probed model a series of runs (pass rate, tokens per solved task, output tokens per
 * call) and sequential tests ({@link ModelMonitor}, kind {@code PROBE}) against a reference made of its first
 * {@code referenceRuns} runs, raising {@code quality_drift} alerts with source {@code probe}. Runs may come at any
 * interval: the tests' thresholds follow from the number of probe tasks a year, so the false alarms per year stay
 * as set whether probes run every second (tests) or every hour.
 *
 * <p>The reference is kept in the ledger ({@code drift_references}, source {@code probe}) and moves only when an
 * operator {@link #acknowledge}s a change. Thread-safe: methods are serialised.
 *
 * <pre>{@code
 * ProbeMonitor probes = new ProbeMonitor(alerts, ledger.tasks(), DriftSettings.DEFAULTS, 5, Duration.ofHours(1));
 * probes.record("sim-mid", runStartMillis, rowsOfTheRun);   // after each run
 * }</pre>
 */
public final class ProbeMonitor {
    public static final String SOURCE = "probe";
    /** Runs kept per model for {@code GET /api/v1/probes}. */
    static final int MAX_RUNS = 2_000;
    private static final Logger log = LoggerFactory.getLogger(ProbeMonitor.class);
    private static final double YEAR_MILLIS = 365.0 * 86_400_000L;

    /**
     * One run of one model.
     *
     * @param tasks graded tasks (errors excluded)
     * @param errors tasks without an answer (the call failed): availability, not quality, so not graded
     * @param tokensPerSolved input and output tokens of the graded tasks ÷ solved; NaN without a solved task
     * @param meanOutputTokens output tokens per call
     * @param reference whether the run is part of the pinned reference
     */
    public record Run(long startedAtMillis, int tasks, int solved, int errors, double passRate, double tokensPerSolved,
                      double meanOutputTokens, boolean reference) {
    }

    /** A probed model's series and tests, for the API. */
    public record Series(String model, DriftReference reference, List<Run> runs, List<DriftFinding> tests,
                         boolean alarmed) {
    }

    private final AlertBook alerts;
    private final TaskLedger store;
    private final DriftSettings settings;
    private final int referenceRuns;
    private final Duration interval;
    private final Map<String, State> models = new LinkedHashMap<>();
    private long openings;

    private static final class State {
        DriftReference reference;
        ModelMonitor monitor;
        final Deque<Run> runs = new ArrayDeque<>();
        /** The rows of the runs gathered for the reference so far, by run. */
        final List<List<TaskRow>> gathered = new ArrayList<>();
        final List<Long> gatheredStarts = new ArrayList<>();
        List<DriftFinding> findings = List.of();
    }

    /**
     * @param store where references are kept, or {@code null} to keep them in memory only
     * @param interval the time between runs: with the tasks per run, the rate of probe tasks a year
     */
    public ProbeMonitor(AlertBook alerts, TaskLedger store, DriftSettings settings, int referenceRuns,
                        Duration interval) {
        this.alerts = Objects.requireNonNull(alerts, "alerts");
        this.store = store;
        this.settings = Objects.requireNonNull(settings, "settings");
        if (referenceRuns < 2) {
            throw new IllegalArgumentException("referenceRuns: " + referenceRuns + " (expected: >= 2)");
        }
        this.referenceRuns = referenceRuns;
        this.interval = Objects.requireNonNull(interval, "interval");
        if (store != null) {
            for (DriftReference ref : store.driftReferences()) {
                if (SOURCE.equals(ref.source())) {
                    state(ref.model()).reference = ref;
                }
            }
        }
    }

    private State state(String model) {
        return models.computeIfAbsent(model, m -> new State());
    }

    /** The task id of a probe task: {@code probe.<run start ms>.<model>.<task id>} (characters outside [A-Za-z0-9._-] as '_'). */
    public static String taskId(long runStartMillis, String model, String task) {
        String id = "probe." + runStartMillis + "." + model.replaceAll("[^A-Za-z0-9._-]", "_") + "."
                + task.replaceAll("[^A-Za-z0-9._-]", "_");
        return id.length() <= 128 ? id : id.substring(0, 128);
    }

    /** The run start of a probe task id, or -1 when it is not one. */
    public static long runOf(String taskId) {
        if (taskId == null || !taskId.startsWith("probe.")) {
            return -1;
        }
        int end = taskId.indexOf('.', 6);
        try {
            return Long.parseLong(taskId.substring(6, end < 0 ? taskId.length() : end));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /**
     * Restores the series from the ledger's probe tasks (at start-up), oldest first, without raising alerts for
     * the past: the tests are replayed and their state carries on.
     */
    public synchronized void restore(List<TaskRow> probeTasks) {
        Map<String, Map<Long, List<TaskRow>>> byModel = new LinkedHashMap<>();
        for (TaskRow r : probeTasks) {
            long run = runOf(r.taskId());
            if (run >= 0 && r.model() != null) {
                byModel.computeIfAbsent(r.model(), m -> new java.util.TreeMap<>()).computeIfAbsent(run,
                        k -> new ArrayList<>()).add(r);
            }
        }
        byModel.forEach((model, runs) -> runs.forEach((start, rows) -> add(model, start, rows, 0, false)));
    }

    /**
     * One run of one model: its graded tasks (a task without an outcome is an error), and the errors that never
     * became a task in the ledger. Opens or closes the model's probe alerts.
     */
    public synchronized void record(String model, long runStartMillis, List<TaskRow> rows, int unrecordedErrors) {
        add(model, runStartMillis, rows, unrecordedErrors, true);
    }

    private void add(String model, long start, List<TaskRow> rows, int extraErrors, boolean live) {
        State s = state(model);
        int graded = 0;
        int solved = 0;
        long tokens = 0;
        long output = 0;
        long calls = 0;
        for (TaskRow r : rows) {
            if (r.success() == null) {
                continue;
            }
            graded++;
            solved += r.success() ? 1 : 0;
            tokens += r.inputTokens() + r.outputTokens();
            output += r.outputTokens();
            calls += r.calls();
        }
        int errors = rows.size() - graded + extraErrors;
        boolean inReference = false;
        if (s.monitor == null && (s.reference == null || start >= s.reference.fromMillis())) {
            if (s.reference == null) {
                s.reference = new DriftReference(SOURCE, model, start, 0, start, "the first probe runs");
                save(s.reference);
            }
            if (graded > 0) {
                inReference = true;
                s.gathered.add(rows.stream().filter(r -> r.success() != null).toList());
                s.gatheredStarts.add(start);
                if (s.reference.pinned() ? start + 1 >= s.reference.toMillis() : s.gathered.size() >= referenceRuns) {
                    pin(model, s, start);
                }
            }
        } else if (s.monitor != null) {
            for (TaskRow r : rows) {
                if (r.success() != null) {
                    s.monitor.observe(r);
                }
            }
            s.findings = s.monitor.check(type -> true);
            openings += s.findings.stream().filter(DriftFinding::opened).count();
            if (live) {
                apply(s.findings);
            }
        }
        s.runs.addLast(new Run(start, graded, solved, errors, graded == 0 ? Double.NaN : (double) solved / graded,
                solved == 0 ? Double.NaN : (double) tokens / solved, calls == 0 ? Double.NaN : (double) output / calls,
                inReference));
        while (s.runs.size() > MAX_RUNS) {
            s.runs.removeFirst();
        }
    }

    private void pin(String model, State s, long lastStart) {
        List<TaskRow> rows = new ArrayList<>();
        for (int i = 0; i < s.gathered.size(); i++) {
            long run = s.gatheredStarts.get(i);
            for (TaskRow r : s.gathered.get(i)) {
                rows.add(new TaskRow(r.team(), r.taskId(), r.model(), run, r.calls(), r.retries(), r.truncated(),
                        r.inputTokens(), r.outputTokens(), r.costNanos(), r.success()));
            }
        }
        long from = s.gatheredStarts.get(0);
        if (!s.reference.pinned()) {
            s.reference = new DriftReference(SOURCE, model, from, lastStart + 1, lastStart, s.reference.note());
            save(s.reference);
        }
        double years = s.gathered.size() * (double) interval.toMillis() / YEAR_MILLIS;
        s.monitor = ModelMonitor.fit(ModelMonitor.Kind.PROBE, model, rows, TaskRow::lastAtMillis, years,
                "the " + s.gathered.size() + " probe runs from " + Instant.ofEpochMilli(from), settings);
        s.gathered.clear();
        s.gatheredStarts.clear();
        log.info("Probes: reference of model {} pinned from {} runs ({} tasks)", model, referenceRunsOf(rows), rows.size());
    }

    private static long referenceRunsOf(List<TaskRow> rows) {
        return rows.stream().mapToLong(TaskRow::lastAtMillis).distinct().count();
    }

    private void apply(List<DriftFinding> findings) {
        for (DriftFinding f : findings) {
            if (f.alarmed()) {
                alerts.open(f.type(), Alert.Scope.MODEL, f.model(), f.metric(), f.message(), f.recent(), f.threshold(),
                        SOURCE);
            } else if (f.closed()) {
                alerts.close(f.type(), Alert.Scope.MODEL, f.model(), f.metric());
            }
        }
    }

    /**
     * An operator accepts the model's present behaviour: the next {@code referenceRuns} runs make its new reference,
     * its tests start over and its probe alerts close.
     */
    public synchronized DriftReference acknowledge(String model, long nowMillis, String note) {
        State s = state(model);
        s.reference = new DriftReference(SOURCE, model, nowMillis, 0, nowMillis, note);
        s.monitor = null;
        s.findings = List.of();
        s.gathered.clear();
        s.gatheredStarts.clear();
        save(s.reference);
        for (String metric : ModelMonitor.metrics(ModelMonitor.Kind.PROBE)) {
            alerts.close(AlertType.QUALITY_DRIFT, Alert.Scope.MODEL, model, metric);
        }
        return s.reference;
    }

    /** Every probed model's series and tests. */
    public synchronized List<Series> series() {
        List<Series> out = new ArrayList<>();
        models.forEach((model, s) -> out.add(new Series(model, s.reference, List.copyOf(s.runs),
                s.monitor == null ? List.of() : s.monitor.states(), s.monitor != null && s.monitor.alarmed())));
        return out;
    }

    /** The models' states in the shape of the drift API. */
    public synchronized List<DriftDetector.ModelState> state() {
        List<DriftDetector.ModelState> out = new ArrayList<>();
        models.forEach((model, s) -> out.add(new DriftDetector.ModelState(model, SOURCE, s.reference,
                s.monitor == null ? 0 : s.monitor.referenceTasks(), s.monitor == null ? List.of() : s.monitor.states(),
                s.monitor == null ? List.of() : s.monitor.untested())));
        return out;
    }

    /** How many times a test's alarm opened since this monitor was made (restored runs included). */
    public synchronized long openings() {
        return openings;
    }

    public Duration interval() {
        return interval;
    }

    private void save(DriftReference ref) {
        if (store == null) {
            return;
        }
        try {
            store.saveDriftReference(ref);
        } catch (RuntimeException e) {
            log.warn("Probes: the reference of model {} could not be saved ({})", ref.model(), e.getMessage());
        }
    }
}
