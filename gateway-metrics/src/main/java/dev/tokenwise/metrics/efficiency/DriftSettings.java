package dev.tokenwise.metrics.efficiency;

import java.time.Duration;

/**
 * Tuning of the sequential change detectors ({@link DriftDetector} on the clients' tasks, {@link ProbeMonitor} on
 * the probes). The statistics are described in {@code docs/efficiency.md}.
 *
 * @param successDrop the drop of a success (or probe pass) rate the tests are tuned to detect, in absolute terms
 *     (0.10: ten percentage points)
 * @param rateRise the rise of a retry or truncation rate they are tuned to detect (0.05: five points)
 * @param relativeChange the relative change of a size (output tokens per call, tokens or cost per task) they are
 *     tuned to detect (0.25: 25 %, either way for output tokens, up for the others)
 * @param falseAlarmsPerYear the false alarms allowed per model and year, all of its tests together, on traffic
 *     like the reference's; each of a model's tests gets an equal share
 * @param referenceDays the length of a traffic reference, in whole UTC days: it is gathered until it spans this
 *     many (day-to-day variation is measured over them, see {@link RateReference#dispersion})
 * @param minReferenceDays the fewest of those days that must have tasks
 * @param minReferenceTasks the fewest tasks a traffic reference needs
 * @param minStratumTasks the fewest reference tasks for a team to be compared with its own history
 * @param settle how long after its last call a task is taken in (its outcome has had time to arrive)
 * @param persistK an alarm opens when the statistic is above the threshold at this many ...
 * @param persistN ... of the last this many checks that saw new tasks, and closes when it is at or below half the
 *     threshold at as many of them
 * @param priceTolerance how far the price index (cost ÷ list price of the same tokens) may move for the per-token
 *     prices to count as unchanged (0.01: 1 %), for {@code effective_price_drift}
 * @param replayDays at start-up, tasks of at most this many days before now are replayed into the detector
 */
public record DriftSettings(double successDrop, double rateRise, double relativeChange, double falseAlarmsPerYear,
                            int referenceDays, int minReferenceDays, int minReferenceTasks, int minStratumTasks,
                            Duration settle, int persistK, int persistN, double priceTolerance, int replayDays) {

    public static final DriftSettings DEFAULTS = new DriftSettings(0.10, 0.05, 0.25, 0.5, 28, 7, 200, 30,
            Duration.ofHours(1), 2, 3, 0.01, 14);

    public DriftSettings {
        if (!(successDrop > 0 && successDrop < 1)) {
            throw new IllegalArgumentException("successDrop: " + successDrop + " (expected: > 0 and < 1)");
        }
        if (!(rateRise > 0 && rateRise < 1)) {
            throw new IllegalArgumentException("rateRise: " + rateRise + " (expected: > 0 and < 1)");
        }
        if (!(relativeChange > 0 && relativeChange < 10)) {
            throw new IllegalArgumentException("relativeChange: " + relativeChange + " (expected: > 0 and < 10)");
        }
        if (!(falseAlarmsPerYear > 0)) {
            throw new IllegalArgumentException("falseAlarmsPerYear: " + falseAlarmsPerYear + " (expected: > 0)");
        }
        positive("referenceDays", referenceDays);
        positive("minReferenceDays", minReferenceDays);
        positive("minReferenceTasks", minReferenceTasks);
        positive("minStratumTasks", minStratumTasks);
        positive("replayDays", replayDays);
        if (minReferenceDays > referenceDays) {
            throw new IllegalArgumentException("minReferenceDays: " + minReferenceDays + " (expected: <= referenceDays "
                    + referenceDays + ")");
        }
        if (settle == null || settle.isNegative()) {
            throw new IllegalArgumentException("settle: " + settle + " (expected: >= 0)");
        }
        if (persistK < 1 || persistN < persistK) {
            throw new IllegalArgumentException("persistence: " + persistK + " of " + persistN + " (expected: 1 <= k <= n)");
        }
        if (!(priceTolerance >= 0)) {
            throw new IllegalArgumentException("priceTolerance: " + priceTolerance + " (expected: >= 0)");
        }
    }

    private static void positive(String name, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException(name + ": " + value + " (expected: > 0)");
        }
    }
}
