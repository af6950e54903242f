package dev.tokenwise.bench;

import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.HdrHistogram.Histogram;

/**
 * What one {@link LoadGenerator} run measured over its measurement window (warmup excluded).
 *
 * @param label what was measured, e.g. {@code direct}
 * @param windowNanos length of the measurement window
 * @param latencyMicros latency of every 2xx response completed in the window, in microseconds; in an
 *     open-loop run measured from the intended send time
 * @param firstByteMicros time to the first byte of each 2xx response's body (a stream's first event), measured
 *     like {@code latencyMicros}
 * @param eventDelayMicros for each event of a paced mock stream, the time from the mock's sending it to its
 *     arrival, in microseconds; empty for other responses
 * @param succeeded 2xx responses completed in the window
 * @param non2xx responses with another status completed in the window
 * @param connectionErrors requests lost to a refused, reset or closed connection (or a malformed response)
 * @param timeouts requests without a complete response within the timeout
 * @param cacheHits 2xx responses in the window that a gateway answered from its response cache
 *     ({@code X-Tokenwise-Cache: hit})
 */
public record LoadResult(String label, long windowNanos, Histogram latencyMicros, Histogram firstByteMicros,
                         Histogram eventDelayMicros, long succeeded, long non2xx,
                         long connectionErrors, long timeouts, long cacheHits) {

    /** A result without cache hits. */
    public LoadResult(String label, long windowNanos, Histogram latencyMicros, Histogram firstByteMicros,
                      Histogram eventDelayMicros, long succeeded, long non2xx, long connectionErrors, long timeouts) {
        this(label, windowNanos, latencyMicros, firstByteMicros, eventDelayMicros, succeeded, non2xx, connectionErrors,
                timeouts, 0);
    }

    public LoadResult {
        Objects.requireNonNull(label, "label");
        Objects.requireNonNull(latencyMicros, "latencyMicros");
        Objects.requireNonNull(firstByteMicros, "firstByteMicros");
        Objects.requireNonNull(eventDelayMicros, "eventDelayMicros");
        if (windowNanos <= 0) {
            throw new IllegalArgumentException("windowNanos: " + windowNanos + " (expected: > 0)");
        }
    }

    /**
     * The results of load generators run side by side over the same window against several instances, as one: their
     * histograms and counts added up, the window the longest of theirs.
     */
    public static LoadResult combined(String label, List<LoadResult> parts) {
        if (parts.isEmpty()) {
            throw new IllegalArgumentException("parts: empty (expected: at least one result)");
        }
        Histogram latency = parts.get(0).latencyMicros().copy();
        Histogram firstByte = parts.get(0).firstByteMicros().copy();
        Histogram eventDelay = parts.get(0).eventDelayMicros().copy();
        long window = 0;
        long succeeded = 0;
        long non2xx = 0;
        long connectionErrors = 0;
        long timeouts = 0;
        long cacheHits = 0;
        for (int i = 0; i < parts.size(); i++) {
            LoadResult part = parts.get(i);
            if (i > 0) {
                latency.add(part.latencyMicros());
                firstByte.add(part.firstByteMicros());
                eventDelay.add(part.eventDelayMicros());
            }
            window = Math.max(window, part.windowNanos());
            succeeded += part.succeeded();
            non2xx += part.non2xx();
            connectionErrors += part.connectionErrors();
            timeouts += part.timeouts();
            cacheHits += part.cacheHits();
        }
        return new LoadResult(label, window, latency, firstByte, eventDelay, succeeded, non2xx, connectionErrors,
                timeouts, cacheHits);
    }

    /** 2xx responses per second. */
    public double requestsPerSecond() {
        return succeeded * 1e9 / windowNanos;
    }

    /** Latency at {@code percentile} (0..100) in milliseconds, {@code NaN} without samples. */
    public double percentileMillis(double percentile) {
        return latencyMicros.getTotalCount() == 0 ? Double.NaN : latencyMicros.getValueAtPercentile(percentile) / 1000.0;
    }

    /** Time to first body byte at {@code percentile} (0..100) in milliseconds, {@code NaN} without samples. */
    public double firstBytePercentileMillis(double percentile) {
        return firstByteMicros.getTotalCount() == 0 ? Double.NaN
                : firstByteMicros.getValueAtPercentile(percentile) / 1000.0;
    }

    /** An event's delay from the mock at {@code percentile} (0..100) in milliseconds, {@code NaN} without samples. */
    public double eventDelayPercentileMillis(double percentile) {
        return eventDelayMicros.getTotalCount() == 0 ? Double.NaN
                : eventDelayMicros.getValueAtPercentile(percentile) / 1000.0;
    }

    public double maxMillis() {
        return latencyMicros.getTotalCount() == 0 ? Double.NaN : latencyMicros.getMaxValue() / 1000.0;
    }

    /** Every failed request: non-2xx, connection errors and timeouts. */
    public long errors() {
        return non2xx + connectionErrors + timeouts;
    }

    /** One line: rate, percentiles and errors by kind, and the events' delay when a paced stream was measured. */
    public String summary() {
        String events = eventDelayMicros.getTotalCount() == 0 ? "" : String.format(Locale.ROOT,
                "  event delay p50 %7.3f  p99 %7.3f ms (%d events)", eventDelayPercentileMillis(50),
                eventDelayPercentileMillis(99), eventDelayMicros.getTotalCount());
        return String.format(Locale.ROOT,
                "%-8s %10.0f req/s  p50 %7.3f  p90 %7.3f  p99 %7.3f  p99.9 %7.3f  max %8.3f ms"
                        + "  first byte p50 %7.3f  p99 %7.3f ms  errors %d (non-2xx %d, connection %d, timeout %d)",
                label, requestsPerSecond(), percentileMillis(50), percentileMillis(90), percentileMillis(99),
                percentileMillis(99.9), maxMillis(), firstBytePercentileMillis(50), firstBytePercentileMillis(99),
                errors(), non2xx, connectionErrors, timeouts) + events
                + (cacheHits == 0 ? "" : String.format(Locale.ROOT, "  cache hits %d", cacheHits));
    }
}
