package dev.tokenwise.bench.drift;

import dev.tokenwise.core.config.ProbeConfig;
import dev.tokenwise.metrics.efficiency.Alert;
import dev.tokenwise.metrics.efficiency.AlertBook;
import dev.tokenwise.metrics.efficiency.AlertType;
import dev.tokenwise.metrics.efficiency.DriftFinding;
import dev.tokenwise.metrics.efficiency.ProbeMonitor;
import java.time.Duration;
import dev.tokenwise.metrics.efficiency.DriftSettings;
import dev.tokenwise.metrics.efficiency.ModelMonitor;
import dev.tokenwise.metrics.ledger.TaskRow;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Measures the drift detector's two figures on simulated traffic ({@link Traffic}), driving {@link ModelMonitor}
 * exactly as {@code DriftDetector} does: a reference of the first 14 days, then tasks taken in one hour after their
 * last call (the settle time) at checks every 15 minutes, with the default {@link DriftSettings}.
 *
 * <ul>
 *   <li><b>False alarms</b>: alert openings per model and year on stable traffic (any of a model's tests).</li>
 *   <li><b>Detection delay</b>: from the start of a lasting success drop to the opening of the
 *       {@code success_rate} alert; also whether the alert stays open while the model stays worse, and how many
 *       times it opens per incident.</li>
 * </ul>
 *
 * <pre>
 * java -cp tokenwise-bench.jar dev.tokenwise.bench.drift.DriftSimulation [model-years] [incidents]
 * </pre>
 */
public final class DriftSimulation {
    static final long DAY = 86_400_000L;
    private static final long CHECK = 15 * 60_000L;
    private static final long SETTLE = DriftSettings.DEFAULTS.settle().toMillis();
    private static final int REFERENCE_DAYS = DriftSettings.DEFAULTS.referenceDays();

    private DriftSimulation() {
    }

    /** False alarms of {@code models} models over {@code years} years each. */
    record FalseAlarms(int tasksPerDay, boolean idealised, double modelYears, long openings,
                       Map<String, Long> byMetric) {
        double perModelYear() {
            return openings / modelYears;
        }
    }

    /** Detection of a lasting drop, over several incidents. */
    record Detection(int tasksPerDay, double drop, int incidents, int detected, double[] delaysDays,
                     double openAfterDay14, double meanOpenings) {
        double quantile(double q) {
            if (delaysDays.length == 0) {
                return Double.NaN;
            }
            double[] d = delaysDays.clone();
            Arrays.sort(d);
            return d[Math.min(d.length - 1, (int) Math.floor(q * (d.length - 1) + 0.5))];
        }
    }

    static FalseAlarms falseAlarms(int models, int years, int tasksPerDay, boolean idealised, long seed) {
        long openings = 0;
        Map<String, Long> byMetric = new TreeMap<>();
        for (int m = 0; m < models; m++) {
            Traffic traffic = new Traffic(seed * 1_000_003L + m, tasksPerDay, idealised);
            ModelMonitor monitor = reference(traffic);
            long end = (REFERENCE_DAYS + 365L * years) * DAY;
            for (DriftFinding f : drive(traffic, monitor, REFERENCE_DAYS * DAY, end, null)) {
                openings++;
                byMetric.merge(f.metric(), 1L, Long::sum);
            }
        }
        return new FalseAlarms(tasksPerDay, idealised, (double) models * years, openings, byMetric);
    }

    static Detection detection(int incidents, int tasksPerDay, double drop, long seed) {
        List<Double> delays = new ArrayList<>();
        double openDays = 0;
        double laterDays = 0;
        long openings = 0;
        for (int i = 0; i < incidents; i++) {
            Traffic traffic = new Traffic(seed * 7_000_003L + i, tasksPerDay, false);
            ModelMonitor monitor = reference(traffic);
            long start = REFERENCE_DAYS * DAY;
            // 30 quiet days, then the drop at a random time of day 45, then 45 days of the worse model.
            long changeAt = start + 30 * DAY + (long) (new java.util.SplittableRandom(seed + i).nextDouble() * DAY);
            traffic.degradeAt(changeAt, drop);
            long end = changeAt + 45 * DAY;
            List<long[]> openClose = new ArrayList<>();
            drive(traffic, monitor, start, end, openClose);
            long firstOpen = openClose.stream().filter(e -> e[1] == 1 && e[0] >= changeAt).mapToLong(e -> e[0])
                    .min().orElse(-1);
            if (firstOpen >= 0) {
                delays.add((firstOpen - changeAt) / (double) DAY);
            }
            openings += openClose.stream().filter(e -> e[1] == 1 && e[0] >= changeAt).count();
            // Is the alert open at each check from 14 days after the change on?
            for (long t = changeAt + 14 * DAY; t < end; t += DAY) {
                laterDays++;
                if (openAt(openClose, t)) {
                    openDays++;
                }
            }
        }
        double[] d = delays.stream().mapToDouble(Double::doubleValue).toArray();
        return new Detection(tasksPerDay, drop, incidents, d.length, d, openDays / laterDays,
                (double) openings / incidents);
    }

    private static boolean openAt(List<long[]> events, long t) {
        boolean open = false;
        for (long[] e : events) {
            if (e[0] <= t) {
                open = e[1] == 1;
            }
        }
        return open;
    }

    private static ModelMonitor reference(Traffic traffic) {
        List<TaskRow> rows = new ArrayList<>();
        for (long d = 0; d < REFERENCE_DAYS; d++) {
            rows.addAll(traffic.day(d));
        }
        return ModelMonitor.fit(ModelMonitor.Kind.TRAFFIC, "model", rows, r -> r.lastAtMillis() / DAY,
                REFERENCE_DAYS / 365.0, "the first " + REFERENCE_DAYS + " days", DriftSettings.DEFAULTS);
    }

    /**
     * Feeds the days {@code [from, to)} through the monitor with checks every 15 minutes and returns the alarms
     * opened; when {@code successEvents} is given, also records {@code [time, 1]} at each opening and {@code [time, 0]}
     * at each closing of the success-rate alarm.
     */
    private static List<DriftFinding> drive(Traffic traffic, ModelMonitor monitor, long from, long to,
                                            List<long[]> successEvents) {
        List<DriftFinding> opened = new ArrayList<>();
        List<TaskRow> pending = new ArrayList<>();
        int next = 0;
        for (long day = from / DAY; day * DAY < to; day++) {
            List<TaskRow> rows = traffic.day(day);
            pending.subList(0, next).clear();
            next = 0;
            pending.addAll(rows);
            for (long check = day * DAY + CHECK; check <= (day + 1) * DAY; check += CHECK) {
                while (next < pending.size() && pending.get(next).lastAtMillis() + SETTLE <= check) {
                    monitor.observe(pending.get(next++));
                }
                for (DriftFinding f : monitor.check(type -> true)) {
                    if (f.opened()) {
                        opened.add(f);
                    }
                    if (successEvents != null && f.metric().equals("success_rate") && (f.opened() || f.closed())) {
                        successEvents.add(new long[] {check, f.opened() ? 1 : 0});
                    }
                }
            }
        }
        return opened;
    }

    /** Probes of a stable model: alarm openings per model and year of hourly runs. */
    static double probeFalseAlarms(int modelYears, int tasksPerRun, long seed) {
        long openings = 0;
        for (int y = 0; y < modelYears; y++) {
            java.util.SplittableRandom random = new java.util.SplittableRandom(seed * 31 + y);
            ProbeMonitor probes = new ProbeMonitor(new AlertBook(() -> 0, null), null, DriftSettings.DEFAULTS,
                    ProbeConfig.DEFAULT_REFERENCE_RUNS, Duration.ofHours(1));
            for (int r = 0; r < ProbeConfig.DEFAULT_REFERENCE_RUNS + 365 * 24; r++) {
                probes.record("m", r * 3_600_000L, probeRun(random, r * 3_600_000L, tasksPerRun, 0.9, 60), 0);
            }
            openings += probes.openings();
        }
        return (double) openings / modelYears;
    }

    /**
     * Probes of a model whose accuracy falls from 0.93 to 0.6 and whose answers get 1.8 times longer after 48 runs:
     * how many probe tasks of the worse model until its pass-rate alarm opens, per incident.
     */
    static double[] probeDetection(int incidents, int tasksPerRun, long seed) {
        double[] tasks = new double[incidents];
        for (int i = 0; i < incidents; i++) {
            java.util.SplittableRandom random = new java.util.SplittableRandom(seed * 17 + i);
            AlertBook alerts = new AlertBook(() -> 0, null);
            ProbeMonitor probes = new ProbeMonitor(alerts, null, DriftSettings.DEFAULTS,
                    ProbeConfig.DEFAULT_REFERENCE_RUNS, Duration.ofHours(1));
            int r = 0;
            for (; r < 48; r++) {
                probes.record("m", r * 3_600_000L, probeRun(random, r * 3_600_000L, tasksPerRun, 0.93, 60), 0);
            }
            tasks[i] = Double.NaN;
            for (int after = 1; after <= 100; after++, r++) {
                probes.record("m", r * 3_600_000L, probeRun(random, r * 3_600_000L, tasksPerRun, 0.6, 108), 0);
                if (alerts.find(AlertType.QUALITY_DRIFT, Alert.Scope.MODEL, "m", "probe_pass_rate") != null) {
                    tasks[i] = after * tasksPerRun;
                    break;
                }
            }
        }
        Arrays.sort(tasks);
        return tasks;
    }

    private static List<TaskRow> probeRun(java.util.SplittableRandom random, long start, int tasks, double accuracy,
                                          double outputTokens) {
        List<TaskRow> rows = new ArrayList<>(tasks);
        for (int i = 0; i < tasks; i++) {
            long out = Math.max(1, Math.round(outputTokens * Math.exp(0.25 * random.nextGaussian())));
            rows.add(new TaskRow("probes", "probe." + start + ".m.t" + i, "m", start, 1, 0, 0, 120, out, 0,
                    random.nextDouble() < accuracy));
        }
        return rows;
    }

    public static void main(String[] args) {
        int modelYears = args.length > 0 ? Integer.parseInt(args[0]) : 100;
        int incidents = args.length > 1 ? Integer.parseInt(args[1]) : 200;
        run(modelYears, incidents, System.out);
    }

    static void run(int modelYears, int incidents, PrintStream out) {
        out.println("False alarms on stable traffic (alert openings per model and year, all tests):");
        for (boolean idealised : new boolean[] {true, false}) {
            for (int tasksPerDay : new int[] {200, 1000}) {
                int years = tasksPerDay == 1000 ? Math.max(1, modelYears / 5) : modelYears;
                FalseAlarms fa = falseAlarms(years, 1, tasksPerDay, idealised, 2026);
                out.printf(Locale.ROOT, "  %-11s %5d tasks/day: %.2f per model-year (%d in %.0f model-years) %s%n",
                        idealised ? "idealised" : "realistic", tasksPerDay, fa.perModelYear(), fa.openings(),
                        fa.modelYears(), fa.byMetric());
            }
        }
        out.println("Detection of a lasting 10-point success drop (realistic traffic):");
        for (int tasksPerDay : new int[] {200, 1000}) {
            Detection d = detection(incidents, tasksPerDay, 0.10, 26);
            out.printf(Locale.ROOT, "  %5d tasks/day: detected %d of %d; delay median %.2f d, 90th percentile %.2f d,"
                            + " max %.2f d; open %.1f%% of days 14-45 after the change; %.2f openings per incident%n",
                    tasksPerDay, d.detected(), d.incidents(), d.quantile(0.5), d.quantile(0.9), d.quantile(1.0),
                    100 * d.openAfterDay14(), d.meanOpenings());
        }
        int probeYears = Math.max(1, modelYears / 2);
        out.printf(Locale.ROOT, "Probes, hourly runs of 20 tasks:%n  stable model (accuracy 0.9): %.2f alarms per model-year"
                + " (%d model-years)%n", probeFalseAlarms(probeYears, 20, 5), probeYears);
        double[] tasks = probeDetection(incidents, 20, 9);
        out.printf(Locale.ROOT, "  accuracy 0.93 -> 0.60: pass-rate alarm after a median of %.0f probe tasks (%.0f runs),"
                + " 90th percentile %.0f, max %.0f (%d incidents)%n", tasks[tasks.length / 2],
                tasks[tasks.length / 2] / 20, tasks[(int) (0.9 * (tasks.length - 1))], tasks[tasks.length - 1], incidents);
    }
}
