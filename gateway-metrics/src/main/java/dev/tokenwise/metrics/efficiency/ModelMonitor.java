package dev.tokenwise.metrics.efficiency;

import dev.tokenwise.metrics.ledger.TaskRow;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.function.Predicate;
import java.util.function.ToDoubleFunction;
import java.util.function.ToLongFunction;

/**
 * The sequential tests of one model against its pinned reference: fitted once on the reference's tasks, then
 * fed later tasks in the order they settled, and checked. Pure: no clock, no I/O, no alerts (its owner,
 * {@link DriftDetector} or {@link ProbeMonitor}, does those), so a simulation can run years of traffic through it.
 * Not thread-safe.
 *
 * <p>Each test is a {@link SequentialTest} on one figure, with tasks as the unit (calls of one task share its
 * fate): a Bernoulli CUSUM for rates ({@link RateReference}), a Gaussian CUSUM on logs for sizes
 * ({@link LogReference}). Its threshold {@code h} is set from the false alarms allowed per model and year: the
 * budget is shared among the tests, the success (or pass) rate taking {@value #SUCCESS_WEIGHT} shares and every
 * other test one; a test with share {@code s} of {@code N} tasks a year (the reference's rate) gets an in-control
 * run length of {@code N / (s · falseAlarmsPerYear)} tasks, and {@code h} solves Siegmund's
 * {@code (e^h − h − 1) / KL = ARL}.
 * So the alarm rate per year does not depend on how busy the model is, nor on the schedule of probes.
 *
 * <pre>{@code
 * ModelMonitor m = ModelMonitor.fit(ModelMonitor.Kind.TRAFFIC, "sim-large", referenceRows, row -> row.lastAtMillis() / DAY,
 *         14.0 / 365, "2026-11-01 to 2026-11-14", DriftSettings.DEFAULTS);
 * m.observe(row);
 * List<DriftFinding> findings = m.check(type -> true);
 * }</pre>
 */
public final class ModelMonitor {
    /** Which tests a monitor runs. */
    public enum Kind {
        /** Clients' tasks: success, retry and truncation rates, output tokens (both ways), tokens and cost per task. */
        TRAFFIC("traffic"),
        /** Probe tasks: pass rate, output tokens. */
        PROBE("probe");

        private final String label;

        Kind(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }
    }

    /** How a figure is shown. */
    private enum Shown { PERCENT, TOKENS, USD }

    /**
     * One monitored figure.
     *
     * @param value what a task measures: 0/1 for a rate, a log for a size; NaN when it has nothing to say
     * @param log1p whether the log is {@code ln(1 + v)} (shown as {@code exp(m) − 1}) rather than {@code ln(v)}
     */
    private record Spec(String metric, AlertType type, String words, boolean rate, double change, boolean log1p,
                        Shown shown, String unit, ToDoubleFunction<TaskRow> value, boolean tokensPerSolved,
                        double weight) {
    }

    /** The share of the false-alarm budget of the success (or pass) rate, against 1 for each other test. */
    static final double SUCCESS_WEIGHT = 3;

    private record Test(Spec spec, RateReference rateRef, LogReference logRef, SequentialTest cusum,
                        double referenceFigure, double referenceTokensPerSolved) {
    }

    private final Kind kind;
    private final String model;
    private final String referenceLabel;
    private final long referenceTasks;
    private final List<Test> tests;
    private final List<String> untested;

    private ModelMonitor(Kind kind, String model, String referenceLabel, long referenceTasks, List<Test> tests,
                         List<String> untested) {
        this.kind = kind;
        this.model = model;
        this.referenceLabel = referenceLabel;
        this.referenceTasks = referenceTasks;
        this.tests = tests;
        this.untested = untested;
    }

    private static List<Spec> specs(Kind kind, DriftSettings s) {
        double up = Math.log1p(s.relativeChange());
        ToDoubleFunction<TaskRow> success = r -> r.success() == null ? Double.NaN : r.success() ? 1 : 0;
        ToDoubleFunction<TaskRow> outputPerCall = r -> r.calls() <= 0 ? Double.NaN
                : Math.log1p((double) r.outputTokens() / r.calls());
        if (kind == Kind.PROBE) {
            return List.of(
                    new Spec("probe_pass_rate", AlertType.QUALITY_DRIFT, "probe pass rate", true, -s.successDrop(),
                            false, Shown.PERCENT, "probe tasks", success, true, SUCCESS_WEIGHT),
                    new Spec("probe_output_tokens", AlertType.QUALITY_DRIFT, "probe output tokens per call", false, up,
                            true, Shown.TOKENS, "probe tasks", outputPerCall, false, 1));
        }
        return List.of(
                new Spec("success_rate", AlertType.QUALITY_DRIFT, "success rate", true, -s.successDrop(), false,
                        Shown.PERCENT, "judged tasks", success, true, SUCCESS_WEIGHT),
                new Spec("retry_rate", AlertType.QUALITY_DRIFT, "share of tasks with a retry", true, s.rateRise(), false,
                        Shown.PERCENT, "tasks", r -> r.retries() > 0 ? 1 : 0, false, 1),
                new Spec("truncation_rate", AlertType.QUALITY_DRIFT, "share of tasks with a truncated answer", true,
                        s.rateRise(), false, Shown.PERCENT, "tasks", r -> r.truncated() > 0 ? 1 : 0, false, 1),
                new Spec("output_tokens_up", AlertType.QUALITY_DRIFT, "output tokens per call", false, up, true,
                        Shown.TOKENS, "tasks", outputPerCall, false, 1),
                new Spec("output_tokens_down", AlertType.QUALITY_DRIFT, "output tokens per call", false, -up, true,
                        Shown.TOKENS, "tasks", outputPerCall, false, 1),
                new Spec("tokens_per_task", AlertType.QUALITY_DRIFT, "tokens per task", false, up, true, Shown.TOKENS,
                        "tasks", r -> Math.log1p(r.inputTokens() + r.outputTokens()), false, 1),
                new Spec("cost_per_task", AlertType.EFFECTIVE_PRICE_DRIFT, "cost per task", false, up, false, Shown.USD,
                        "tasks", r -> r.costNanos() > 0 ? Math.log(r.costNanos()) : Double.NaN, false, 1));
    }

    /** The names of the tests of a kind, in order. */
    public static List<String> metrics(Kind kind) {
        return specs(kind, DriftSettings.DEFAULTS).stream().map(Spec::metric).toList();
    }

    /**
     * Fits the tests on the reference's tasks.
     *
     * @param group the replication unit of a task (its UTC day, or its probe run), for the dispersion
     * @param referenceYears how much time the reference's tasks stand for, in years, for the rate of tasks per year
     * @param referenceLabel how messages name the reference, e.g. {@code 2026-11-01 to 2026-11-14}
     */
    public static ModelMonitor fit(Kind kind, String model, List<TaskRow> reference, ToLongFunction<TaskRow> group,
                                   double referenceYears, String referenceLabel, DriftSettings settings) {
        Objects.requireNonNull(model, "model");
        if (!(referenceYears > 0)) {
            throw new IllegalArgumentException("referenceYears: " + referenceYears + " (expected: > 0)");
        }
        List<Spec> specs = specs(kind, settings);
        double weights = specs.stream().mapToDouble(Spec::weight).sum();
        List<Test> tests = new ArrayList<>();
        List<String> untested = new ArrayList<>();
        int minStratum = kind == Kind.PROBE ? 1 : settings.minStratumTasks();
        for (Spec spec : specs) {
            List<Observation> points = new ArrayList<>();
            double tokens = 0;
            double solved = 0;
            for (TaskRow r : reference) {
                double v = spec.value().applyAsDouble(r);
                if (Double.isNaN(v)) {
                    continue;
                }
                points.add(new Observation(kind == Kind.PROBE ? RateReference.OTHER : r.team(), group.applyAsLong(r), v));
                tokens += r.inputTokens() + r.outputTokens();
                solved += v;
            }
            RateReference rateRef = spec.rate() ? RateReference.fit(points, spec.change(), minStratum) : null;
            LogReference logRef = spec.rate() ? null : LogReference.fit(points, spec.change(), minStratum);
            long samples = rateRef != null ? rateRef.samples() : logRef != null ? logRef.samples() : 0;
            double kl = rateRef != null ? rateRef.klPerObservation() : logRef != null ? logRef.klPerObservation() : 0;
            if (samples == 0 || !(kl > 0)) {
                untested.add(spec.metric());
                continue;
            }
            double perYear = samples / referenceYears;
            double runLength = perYear * weights / (spec.weight() * settings.falseAlarmsPerYear());
            double h = SequentialTest.threshold(runLength, kl);
            double figure = rateRef != null ? rateRef.rate() : back(spec, logRef.mean());
            tests.add(new Test(spec, rateRef, logRef, new SequentialTest(h, settings.persistK(), settings.persistN()),
                    figure, spec.tokensPerSolved() && solved > 0 ? tokens / solved : Double.NaN));
        }
        return new ModelMonitor(kind, model, referenceLabel, reference.size(), List.copyOf(tests), List.copyOf(untested));
    }

    /** A size's log mean shown in its unit. */
    private static double back(Spec spec, double logMean) {
        return spec.log1p() ? Math.expm1(logMean) : Math.exp(logMean);
    }

    /** One settled task, in order. */
    public void observe(TaskRow row) {
        for (Test t : tests) {
            double v = t.spec().value().applyAsDouble(row);
            if (Double.isNaN(v)) {
                continue;
            }
            String stratum = kind == Kind.PROBE ? RateReference.OTHER : row.team();
            double w = t.rateRef() != null ? t.rateRef().increment(stratum, v > 0.5) : t.logRef().increment(stratum, v);
            t.cusum().add(w, v, row.inputTokens() + row.outputTokens());
        }
    }

    /**
     * Checks every test and describes each.
     *
     * @param allowed which alert types may open now ({@code effective_price_drift} only while the per-token prices
     *     stayed put); an open alarm still closes
     */
    public List<DriftFinding> check(Predicate<AlertType> allowed) {
        List<DriftFinding> out = new ArrayList<>(tests.size());
        for (Test t : tests) {
            SequentialTest.Change change = t.cusum().check(() -> allowed.test(t.spec().type()));
            // Words only where someone reads them: an open or changed alarm.
            out.add(finding(t, change, change != SequentialTest.Change.NONE || t.cusum().alarmed()));
        }
        return out;
    }

    /** The tests' state without checking (for the API). */
    public List<DriftFinding> states() {
        List<DriftFinding> out = new ArrayList<>(tests.size());
        for (Test t : tests) {
            out.add(finding(t, SequentialTest.Change.NONE, true));
        }
        return out;
    }

    private DriftFinding finding(Test t, SequentialTest.Change change, boolean words) {
        Spec spec = t.spec();
        SequentialTest c = t.cusum();
        double recent = spec.rate() ? c.segmentMean() : c.segmentCount() == 0 ? Double.NaN : back(spec, c.segmentMean());
        double threshold = spec.rate() ? t.referenceFigure() + spec.change()
                : t.referenceFigure() * Math.exp(spec.change());
        if (!words) {
            return new DriftFinding(model, kind.label(), spec.type(), spec.metric(), t.referenceFigure(), recent,
                    threshold, c.statistic(), c.threshold(), c.segmentCount(), c.alarmed(), false, false, "");
        }
        StringBuilder message = new StringBuilder(String.format(Locale.ROOT, "%s: %s %s → %s over the last %d %s",
                model, spec.words(), show(spec, t.referenceFigure()), show(spec, recent),
                c.segmentCount(), spec.unit()));
        if (spec.tokensPerSolved()) {
            double solved = c.segmentSum();
            message.append(String.format(Locale.ROOT, " (tokens per %s %s → %s)",
                    kind == Kind.PROBE ? "solved task" : "success", number(t.referenceTokensPerSolved()),
                    solved > 0 ? number(c.segmentExtra() / solved) : "n/a"));
        }
        message.append(String.format(Locale.ROOT, "; reference %s, %d tasks; evidence %.1f of %.1f", referenceLabel,
                referenceTasks, c.statistic(), c.threshold()));
        return new DriftFinding(model, kind.label(), spec.type(), spec.metric(), t.referenceFigure(), recent, threshold,
                c.statistic(), c.threshold(), c.segmentCount(), c.alarmed(), change == SequentialTest.Change.OPENED,
                change == SequentialTest.Change.CLOSED, message.toString());
    }

    private static String show(Spec spec, double value) {
        if (Double.isNaN(value)) {
            return "n/a";
        }
        return switch (spec.shown()) {
            case PERCENT -> String.format(Locale.ROOT, "%.1f%%", value * 100);
            case TOKENS -> number(value);
            case USD -> String.format(Locale.ROOT, "$%.6f", value / 1e9);
        };
    }

    private static String number(double value) {
        return Double.isNaN(value) ? "n/a" : String.format(Locale.ROOT, "%.0f", value);
    }

    public String model() {
        return model;
    }

    public Kind kind() {
        return kind;
    }

    /** Tests left out for lack of reference data (e.g. no task with an outcome, no priced call). */
    public List<String> untested() {
        return untested;
    }

    public long referenceTasks() {
        return referenceTasks;
    }

    public String referenceLabel() {
        return referenceLabel;
    }

    /** Whether any test's alarm is open. */
    public boolean alarmed() {
        return tests.stream().anyMatch(t -> t.cusum().alarmed());
    }

    /** The threshold of a test, or NaN when it is not tested (for tests and the simulation). */
    public double threshold(String metric) {
        return tests.stream().filter(t -> t.spec().metric().equals(metric)).mapToDouble(t -> t.cusum().threshold())
                .findFirst().orElse(Double.NaN);
    }

    /** The dispersion a test measured in its reference, or NaN when it is not tested. */
    public double dispersion(String metric) {
        for (Test t : tests) {
            if (t.spec().metric().equals(metric)) {
                return t.rateRef() != null ? t.rateRef().phi() : t.logRef().phi();
            }
        }
        return Double.NaN;
    }
}
