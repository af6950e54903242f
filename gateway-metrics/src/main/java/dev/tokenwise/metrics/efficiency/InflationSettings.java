package dev.tokenwise.metrics.efficiency;

import java.time.Duration;
import java.util.Objects;

/**
 * Tuning of {@link TokenInflation}.
 *
 * @param baseline the window the recent one is compared with, just before it
 * @param recent the latest window
 * @param minCalls the fewest calls each window needs before it is compared
 * @param minRelativeChange the smallest change of tokens per byte that is a finding (0.05: 5 %); it closes below half
 * @param maxPValue a change is a finding only when its two-sided p-value is below this (the false-alarm rate of one
 *     check under stable traffic)
 * @param trafficWindow the period of each team's traffic the alert prices (scaled to 30 days)
 */
public record InflationSettings(Duration baseline, Duration recent, long minCalls, double minRelativeChange,
                                double maxPValue, Duration trafficWindow) {

    public static final InflationSettings DEFAULTS = new InflationSettings(Duration.ofDays(7), Duration.ofHours(24),
            100, 0.05, 1e-6, Duration.ofDays(30));

    public InflationSettings {
        Objects.requireNonNull(baseline, "baseline");
        Objects.requireNonNull(recent, "recent");
        Objects.requireNonNull(trafficWindow, "trafficWindow");
        if (recent.compareTo(Duration.ofHours(1)) < 0 || recent.toMillis() % TokenInflation.HOUR_MILLIS != 0) {
            throw new IllegalArgumentException("recent: " + recent + " (expected: whole hours, at least 1)");
        }
        if (baseline.compareTo(recent) < 0 || baseline.toMillis() % TokenInflation.HOUR_MILLIS != 0) {
            throw new IllegalArgumentException("baseline: " + baseline + " (expected: whole hours, at least recent "
                    + recent + ")");
        }
        if (minCalls < 2) {
            throw new IllegalArgumentException("minCalls: " + minCalls + " (expected: >= 2)");
        }
        if (!(minRelativeChange >= 0 && minRelativeChange < 1)) {
            throw new IllegalArgumentException("minRelativeChange: " + minRelativeChange + " (expected: 0 to 1)");
        }
        if (!(maxPValue > 0 && maxPValue < 1)) {
            throw new IllegalArgumentException("maxPValue: " + maxPValue + " (expected: > 0 and < 1)");
        }
        if (trafficWindow.compareTo(Duration.ofDays(1)) < 0) {
            throw new IllegalArgumentException("trafficWindow: " + trafficWindow + " (expected: at least 1 day)");
        }
    }
}
