package dev.tokenwise.metrics.latency;

import org.HdrHistogram.AbstractHistogram;

/**
 * Percentiles of one latency distribution, in microseconds, each exact to the histogram's precision (two
 * significant digits: a reported value is at most 1 % above the true one).
 *
 * @param count how many values
 * @param maxMicros the largest value (rounded up to its histogram bucket)
 */
public record LatencySummary(long count, long p50Micros, long p90Micros, long p99Micros, long p999Micros,
                             long maxMicros, double meanMicros) {

    /** No values. */
    public static final LatencySummary EMPTY = new LatencySummary(0, 0, 0, 0, 0, 0, 0);

    /** The summary of {@code histogram}; {@link #EMPTY} when it has no values. */
    public static LatencySummary of(AbstractHistogram histogram) {
        long count = histogram.getTotalCount();
        if (count == 0) {
            return EMPTY;
        }
        return new LatencySummary(count, histogram.getValueAtPercentile(50), histogram.getValueAtPercentile(90),
                histogram.getValueAtPercentile(99), histogram.getValueAtPercentile(99.9),
                histogram.getMaxValue(), histogram.getMean());
    }

    public boolean isEmpty() {
        return count == 0;
    }
}
