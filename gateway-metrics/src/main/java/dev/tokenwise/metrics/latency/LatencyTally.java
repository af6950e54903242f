package dev.tokenwise.metrics.latency;

import java.util.EnumMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.ObjLongConsumer;
import org.HdrHistogram.Histogram;

/**
 * The latency of a given set of completed calls, e.g. one team's read back from the ledger, summed with the same
 * rules, range and precision as a {@link LatencyBook}. Not thread-safe: one reader adds the calls, then asks for
 * the {@link #report}.
 *
 * <pre>{@code
 * LatencyTally tally = new LatencyTally();
 * ledger.timings(team, from, to, t -> tally.add(t.model(), t.stream(), t.latencyMicros(),
 *         t.upstreamLatencyMicros(), t.ttftMicros()));
 * LatencyBook.Report report = tally.report(15);
 * }</pre>
 */
public final class LatencyTally {
    private final Map<String, EnumMap<LatencyKind, Histogram>> byModel = new TreeMap<>();

    /** Adds one completed call of {@code model}; the values are clamped to the book's range. */
    public void add(String model, boolean stream, long latencyMicros, long upstreamMicros, long ttftMicros) {
        EnumMap<LatencyKind, Histogram> histograms = byModel.computeIfAbsent(model == null ? "none" : model,
                m -> LatencyBook.histograms());
        ObjLongConsumer<LatencyKind> into =
                (kind, micros) -> histograms.get(kind).recordValue(LatencySeries.clamp(micros));
        LatencyBook.timings(stream, latencyMicros, upstreamMicros, ttftMicros, into);
    }

    /** Percentiles per model (busiest first) and overall; {@code windowMinutes} only labels the report. */
    public LatencyBook.Report report(int windowMinutes) {
        return LatencyBook.report(windowMinutes, byModel);
    }
}
