package dev.tokenwise.metrics.latency;

import dev.tokenwise.core.model.CallStatus;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.spi.UsageSink;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.ObjLongConsumer;
import java.util.function.UnaryOperator;
import org.HdrHistogram.Histogram;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Latency per provider and model, from every call that completed ({@code status ok}): the time the gateway
 * adds ({@link LatencyKind#OVERHEAD}), the upstream time and, for streams, the time to first token. Register it
 * as a {@link UsageSink}; read it with {@link #report} (windows of up to an hour, or since start) and
 * {@link #cumulative} (for Prometheus histograms).
 *
 * <p>Recording is wait-free (see {@link LatencySeries}); readers flip the recorders. Failed calls are left
 * out: their times measure a timeout or a refused connection, not the gateway or the model.
 *
 * <pre>{@code
 * LatencyBook latency = new LatencyBook(meters::modelLabel, System::currentTimeMillis);
 * latency.schedule(scheduler, Duration.ofSeconds(1));
 * sinks.add(latency);
 * routes.add(new LatencyRoute(latency, ledger, apiPool));
 * }</pre>
 */
public final class LatencyBook implements UsageSink {
    private static final Logger log = LoggerFactory.getLogger(LatencyBook.class);
    /** The longest window {@link #report} accepts, in minutes. */
    public static final int MAX_WINDOW_MINUTES = LatencySeries.MAX_WINDOW_MINUTES;

    /** Which distribution a {@link LatencySeries} holds. */
    record SeriesKey(String provider, String model) {
    }

    /** The three distributions of one provider and model. */
    static final class Series implements ObjLongConsumer<LatencyKind> {
        final EnumMap<LatencyKind, LatencySeries> byKind = new EnumMap<>(LatencyKind.class);

        Series() {
            for (LatencyKind kind : LatencyKind.values()) {
                byKind.put(kind, new LatencySeries());
            }
        }

        @Override
        public void accept(LatencyKind kind, long micros) {
            byKind.get(kind).record(micros);
        }
    }

    /** The latency of one model over a window: one summary per {@link LatencyKind}. */
    public record ModelLatency(String model, Map<LatencyKind, LatencySummary> summaries) {
        public ModelLatency {
            summaries = Map.copyOf(summaries);
        }

        public LatencySummary get(LatencyKind kind) {
            return summaries.getOrDefault(kind, LatencySummary.EMPTY);
        }
    }

    /**
     * What {@link #report} answers.
     *
     * @param windowMinutes the window, or {@code 0} for since start
     * @param overall all models together
     * @param models per model, the busiest first
     */
    public record Report(int windowMinutes, ModelLatency overall, List<ModelLatency> models) {
        public Report {
            models = List.copyOf(models);
        }
    }

    /** The cumulative histogram of one kind, provider and model, for exporters. */
    public record Cumulative(LatencyKind kind, String provider, String model, Histogram histogram, long sumMicros) {
    }

    private final Map<SeriesKey, Series> series = new ConcurrentHashMap<>();
    private final UnaryOperator<String> modelLabel;
    private final LongSupplier clockMillis;
    private final long startedAtMillis;
    private volatile ScheduledFuture<?> ticks;

    /**
     * @param modelLabel maps a record's model to the model the figures are kept under (bounds how many series
     *     exist, e.g. {@code GatewayMeters::modelLabel}); {@code UnaryOperator.identity()} keeps every model
     */
    public LatencyBook(UnaryOperator<String> modelLabel, LongSupplier clockMillis) {
        this.modelLabel = Objects.requireNonNull(modelLabel, "modelLabel");
        this.clockMillis = Objects.requireNonNull(clockMillis, "clockMillis");
        this.startedAtMillis = clockMillis.getAsLong();
    }

    /** When this book started recording, epoch ms: the start of the window {@code all}. */
    public long startedAtMillis() {
        return startedAtMillis;
    }

    /** The time on this book's clock, epoch ms. */
    public long nowMillis() {
        return clockMillis.getAsLong();
    }

    /**
     * Drains the recorders every {@code every} on {@code scheduler}, so values land in the right minute. A drain
     * that throws is logged and the next one runs as planned (a periodic task that throws is never run again).
     */
    public void schedule(ScheduledExecutorService scheduler, Duration every) {
        long millis = every.toMillis();
        if (millis <= 0) {
            throw new IllegalArgumentException("every: " + every + " (expected: >= 1 ms)");
        }
        ticks = scheduler.scheduleAtFixedRate(() -> {
            try {
                drain();
            } catch (Throwable t) {
                log.error("Latency drain failed; the next one runs in {} ms", millis, t);
            }
        }, millis, millis, TimeUnit.MILLISECONDS);
    }

    @Override
    public void accept(UsageRecord r) {
        if (r.status() != CallStatus.OK) {
            return;
        }
        String provider = r.provider() == null ? "none" : r.provider();
        String model = modelLabel.apply(r.model());
        SeriesKey key = new SeriesKey(provider, model == null ? "none" : model);
        Series s = series.get(key);
        if (s == null) {
            s = series.computeIfAbsent(key, k -> new Series());
        }
        timings(r.stream(), r.latencyMicros(), r.upstreamLatencyMicros(), r.ttftMicros(), s);
    }

    /**
     * The values one completed call adds, per kind: the upstream time and the gateway's overhead when the provider
     * was reached, the time to first token of a stream. The book and a {@link LatencyTally} both record through it.
     */
    static void timings(boolean stream, long latencyMicros, long upstreamMicros, long ttftMicros,
                        ObjLongConsumer<LatencyKind> into) {
        if (upstreamMicros > 0) {
            into.accept(LatencyKind.UPSTREAM, upstreamMicros);
            into.accept(LatencyKind.OVERHEAD, latencyMicros - upstreamMicros);
        }
        if (stream && ttftMicros > 0) {
            into.accept(LatencyKind.TTFT, ttftMicros);
        }
    }

    /** Moves recorded values into the history; the scheduler calls it, readers call it themselves. */
    public void drain() {
        long now = clockMillis.getAsLong();
        for (Series s : series.values()) {
            for (LatencySeries ls : s.byKind.values()) {
                ls.drain(now);
            }
        }
    }

    /**
     * Percentiles per model over the last {@code windowMinutes} (1 to {@link #MAX_WINDOW_MINUTES}: the current
     * minute plus that many whole minutes before it), or since start when {@code windowMinutes} is 0. Providers
     * serving the same model are merged. Models are ordered by their number of upstream timings, busiest first.
     */
    public Report report(int windowMinutes) {
        if (windowMinutes < 0 || windowMinutes > MAX_WINDOW_MINUTES) {
            throw new IllegalArgumentException("windowMinutes: " + windowMinutes + " (expected: 0 to "
                    + MAX_WINDOW_MINUTES + ")");
        }
        long now = clockMillis.getAsLong();
        Map<String, EnumMap<LatencyKind, Histogram>> byModel = new TreeMap<>();
        for (Map.Entry<SeriesKey, Series> e : series.entrySet()) {
            EnumMap<LatencyKind, Histogram> target = byModel.computeIfAbsent(e.getKey().model(), m -> histograms());
            for (Map.Entry<LatencyKind, LatencySeries> k : e.getValue().byKind.entrySet()) {
                Histogram into = target.get(k.getKey());
                if (windowMinutes == 0) {
                    k.getValue().addCumulative(now, into);
                } else {
                    k.getValue().addWindow(now, windowMinutes, into);
                }
            }
        }
        return report(windowMinutes, byModel);
    }

    /** The report of per-model histograms: summaries per model (busiest first, empty ones left out) and overall. */
    static Report report(int windowMinutes, Map<String, EnumMap<LatencyKind, Histogram>> byModel) {
        EnumMap<LatencyKind, Histogram> all = histograms();
        List<ModelLatency> models = new ArrayList<>();
        for (Map.Entry<String, EnumMap<LatencyKind, Histogram>> e : byModel.entrySet()) {
            EnumMap<LatencyKind, LatencySummary> summaries = new EnumMap<>(LatencyKind.class);
            boolean any = false;
            for (Map.Entry<LatencyKind, Histogram> k : e.getValue().entrySet()) {
                all.get(k.getKey()).add(k.getValue());
                LatencySummary summary = LatencySummary.of(k.getValue());
                summaries.put(k.getKey(), summary);
                any |= !summary.isEmpty();
            }
            if (any) {
                models.add(new ModelLatency(e.getKey(), summaries));
            }
        }
        models.sort(Comparator.comparingLong((ModelLatency m) -> m.get(LatencyKind.UPSTREAM).count()).reversed()
                .thenComparing(ModelLatency::model));
        EnumMap<LatencyKind, LatencySummary> overall = new EnumMap<>(LatencyKind.class);
        all.forEach((kind, h) -> overall.put(kind, LatencySummary.of(h)));
        return new Report(windowMinutes, new ModelLatency("all", overall), models);
    }

    /** An empty histogram of the range and precision of this book's, to sum {@link Cumulative} histograms into. */
    public static Histogram emptyHistogram() {
        return LatencySeries.newPacked();
    }

    /** Everything recorded since start, per kind, provider and model: what Prometheus histograms export. */
    public List<Cumulative> cumulative() {
        long now = clockMillis.getAsLong();
        List<Cumulative> out = new ArrayList<>();
        for (Map.Entry<SeriesKey, Series> e : series.entrySet()) {
            for (Map.Entry<LatencyKind, LatencySeries> k : e.getValue().byKind.entrySet()) {
                Histogram h = LatencySeries.newPacked();
                k.getValue().addCumulative(now, h);
                out.add(new Cumulative(k.getKey(), e.getKey().provider(), e.getKey().model(), h,
                        k.getValue().sumMicros()));
            }
        }
        out.sort(Comparator.comparing(Cumulative::kind).thenComparing(Cumulative::provider)
                .thenComparing(Cumulative::model));
        return out;
    }

    @Override
    public void close() {
        ScheduledFuture<?> t = ticks;
        if (t != null) {
            t.cancel(false);
        }
    }

    static EnumMap<LatencyKind, Histogram> histograms() {
        EnumMap<LatencyKind, Histogram> map = new EnumMap<>(LatencyKind.class);
        for (LatencyKind kind : LatencyKind.values()) {
            map.put(kind, LatencySeries.newPacked());
        }
        return map;
    }
}
