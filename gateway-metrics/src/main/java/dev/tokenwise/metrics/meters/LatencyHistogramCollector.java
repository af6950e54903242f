package dev.tokenwise.metrics.meters;

import dev.tokenwise.metrics.latency.LatencyBook;
import dev.tokenwise.metrics.latency.LatencyKind;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.ClassicHistogramBuckets;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.prometheus.metrics.model.snapshots.Unit;
import java.util.ArrayList;
import java.util.List;
import org.HdrHistogram.Histogram;

/**
 * Exports the {@link LatencyBook}'s cumulative HdrHistograms as Prometheus histograms with fixed buckets, so
 * the percentiles Prometheus estimates and the ones {@code /api/v1/latency} reports come from the same
 * recording. A bucket's count is the HdrHistogram's count up to its bound: exact to the histogram's precision
 * (a value within 1 % above a bound may be counted in it).
 *
 * <ul>
 *   <li>{@code tokenwise_gateway_overhead_seconds}: no labels (every provider and model together).</li>
 *   <li>{@code tokenwise_upstream_latency_seconds{provider,model}}.</li>
 *   <li>{@code tokenwise_time_to_first_token_seconds{provider,model}} (streams).</li>
 * </ul>
 */
final class LatencyHistogramCollector implements MultiCollector {
    /** Overhead is sub-millisecond when all is well; the buckets resolve that. */
    static final double[] OVERHEAD_BOUNDS = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
            0.25, 0.5, 1, 2.5, Double.POSITIVE_INFINITY};
    /** Model calls take from tens of milliseconds to minutes. */
    static final double[] UPSTREAM_BOUNDS = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300,
            Double.POSITIVE_INFINITY};

    private final LatencyBook book;

    LatencyHistogramCollector(LatencyBook book) {
        this.book = book;
    }

    @Override
    public List<String> getPrometheusNames() {
        return List.of("tokenwise_gateway_overhead_seconds", "tokenwise_upstream_latency_seconds",
                "tokenwise_time_to_first_token_seconds");
    }

    @Override
    public MetricSnapshots collect() {
        Histogram overhead = LatencyBook.emptyHistogram();
        long overheadSum = 0;
        HistogramSnapshot.Builder upstream = HistogramSnapshot.builder()
                .name("tokenwise_upstream_latency_seconds").unit(Unit.SECONDS)
                .help("From the upstream request written to the last upstream byte, per provider and model (completed calls)");
        HistogramSnapshot.Builder ttft = HistogramSnapshot.builder()
                .name("tokenwise_time_to_first_token_seconds").unit(Unit.SECONDS)
                .help("From a streamed call's arrival to its first response byte, per provider and model");
        for (LatencyBook.Cumulative c : book.cumulative()) {
            switch (c.kind()) {
                case OVERHEAD -> {
                    overhead.add(c.histogram());
                    overheadSum += c.sumMicros();
                }
                case UPSTREAM, TTFT -> {
                    if (c.histogram().getTotalCount() == 0) {
                        continue;
                    }
                    HistogramSnapshot.HistogramDataPointSnapshot point = point(c.histogram(), c.sumMicros(),
                            UPSTREAM_BOUNDS, Labels.of("model", c.model(), "provider", c.provider()));
                    (c.kind() == LatencyKind.UPSTREAM ? upstream : ttft).dataPoint(point);
                }
            }
        }
        List<io.prometheus.metrics.model.snapshots.MetricSnapshot> out = new ArrayList<>(3);
        out.add(HistogramSnapshot.builder().name("tokenwise_gateway_overhead_seconds").unit(Unit.SECONDS)
                .help("Time the gateway adds to a completed call: total latency minus upstream latency")
                .dataPoint(point(overhead, overheadSum, OVERHEAD_BOUNDS, Labels.EMPTY)).build());
        out.add(upstream.build());
        out.add(ttft.build());
        return new MetricSnapshots(out);
    }

    /** Non-cumulative counts per bucket (the text format makes them cumulative), from HdrHistogram counts. */
    static HistogramSnapshot.HistogramDataPointSnapshot point(Histogram h, long sumMicros, double[] bounds,
                                                              Labels labels) {
        long[] counts = new long[bounds.length];
        long below = 0;
        for (int i = 0; i < bounds.length; i++) {
            long upTo = Double.isInfinite(bounds[i]) ? h.getTotalCount()
                    : h.getCountBetweenValues(0, Math.round(bounds[i] * 1_000_000));
            counts[i] = upTo - below;
            below = upTo;
        }
        return HistogramSnapshot.HistogramDataPointSnapshot.builder()
                .classicHistogramBuckets(ClassicHistogramBuckets.of(bounds, counts))
                .sum(sumMicros / 1_000_000.0)
                .labels(labels)
                .build();
    }
}
