package dev.tokenwise.metrics.efficiency;

/**
 * Tuning of the {@link DriftDetector}. Windows are whole UTC days of the tasks' last calls: the recent window
 * is the last {@code recentDays} days up to today (included, partial), the baseline the {@code baselineDays}
 * days before it.
 *
 * @param baselineDays the length of the baseline window, in days
 * @param recentDays the length of the recent window, in days
 * @param minRateChange the smallest change of a rate (success, retry, truncation), in absolute terms
 *     (0.05: five percentage points), that can raise an alert
 * @param minRelativeChange the smallest relative change of a token or cost figure (0.15: 15 %) that can
 *     raise an alert
 * @param maxPValue the significance level: an alert needs {@code p < maxPValue} (two-sided)
 * @param minTasks the fewest judged tasks per window for a task figure (success rate, tokens and cost per
 *     success) to be tested
 * @param minCalls the fewest calls per window for a call figure (retry and truncation rate, mean output
 *     tokens) to be tested
 * @param priceTolerance how far the price index (cost ÷ list price of the same tokens) may move between the
 *     windows for the per-token prices to count as unchanged (0.01: 1 %)
 */
public record DriftSettings(int baselineDays, int recentDays, double minRateChange, double minRelativeChange,
                            double maxPValue, int minTasks, int minCalls, double priceTolerance) {

    public static final DriftSettings DEFAULTS = new DriftSettings(14, 3, 0.05, 0.15, 0.01, 30, 100, 0.01);

    public DriftSettings {
        positive("baselineDays", baselineDays);
        positive("recentDays", recentDays);
        positive("minTasks", minTasks);
        positive("minCalls", minCalls);
        if (!(minRateChange > 0 && minRateChange < 1)) {
            throw new IllegalArgumentException("minRateChange: " + minRateChange + " (expected: > 0 and < 1)");
        }
        if (!(minRelativeChange > 0)) {
            throw new IllegalArgumentException("minRelativeChange: " + minRelativeChange + " (expected: > 0)");
        }
        if (!(maxPValue > 0 && maxPValue < 1)) {
            throw new IllegalArgumentException("maxPValue: " + maxPValue + " (expected: > 0 and < 1)");
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
