package dev.tokenwise.metrics.latency;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.tokenwise.core.auth.Principal;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.metrics.api.LedgerRoute;
import dev.tokenwise.metrics.ledger.Ledger;
import java.io.IOException;
import java.math.BigDecimal;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * {@code GET /api/v1/latency?window=15m}: p50, p90, p99, p99.9 and max of the gateway's overhead, the upstream
 * time and the time to first token (streams), per model and for all models, in milliseconds.
 *
 * <ul>
 *   <li>{@code window}: {@code 1m} to {@code 60m} (or {@code 1h}): the current minute plus that many whole
 *       minutes before it; {@code all}: since the gateway started. Default {@code 15m}.</li>
 *   <li>Only calls that completed ({@code status ok}) are timed. A kind without values is {@code null}.</li>
 *   <li>The admin key sees every team's calls, from the {@link LatencyBook} in memory. A team key sees its own
 *       team's calls only: how many calls another team makes, and with which models, is that team's business.
 *       They are read back from the ledger (its {@code created_at} in the same window; {@code all} since the
 *       book started) and summed with the book's rules, range and precision. No key is a 401.</li>
 * </ul>
 *
 * <p>Reading flips HdrHistogram recorders and merges histograms, or reads the ledger: it runs on the executor
 * given to the constructor, not on the event loop.
 */
public final class LatencyRoute extends LedgerRoute {
    private static final String PATH = "/api/v1/latency";
    static final int DEFAULT_WINDOW_MINUTES = 15;

    private static final long MINUTE_MILLIS = 60_000;

    private final LatencyBook book;
    private final Ledger ledger;

    /**
     * @param ledger where a team key's own calls are read from
     * @param executor where the book and the ledger are read (a worker pool, not an event loop)
     */
    public LatencyRoute(LatencyBook book, Ledger ledger, Executor executor) {
        super(PATH, executor);
        this.book = Objects.requireNonNull(book, "book");
        this.ledger = Objects.requireNonNull(ledger, "ledger");
    }

    @Override
    protected CompletableFuture<Response> answer(Request request, Principal principal) {
        int window = windowMinutes(request.queryParam("window"));
        if (principal.admin()) {
            return read(() -> book.report(window), LatencyRoute::toJson);
        }
        String team = principal.team();
        return read(() -> teamReport(team, window), LatencyRoute::toJson);
    }

    /** The report of {@code team}'s own calls over the same window as the book's, read from the ledger. */
    private LatencyBook.Report teamReport(String team, int windowMinutes) {
        long from = windowMinutes == 0 ? book.startedAtMillis()
                : (Math.floorDiv(book.nowMillis(), MINUTE_MILLIS) - windowMinutes) * MINUTE_MILLIS;
        LatencyTally tally = new LatencyTally();
        ledger.timings(team, from, Long.MAX_VALUE, t -> tally.add(t.model(), t.stream(), t.latencyMicros(),
                t.upstreamLatencyMicros(), t.ttftMicros()));
        return tally.report(windowMinutes);
    }

    /** Minutes of a {@code window} value, {@code 0} for {@code all}. */
    static int windowMinutes(String value) {
        if (value == null || value.isEmpty()) {
            return DEFAULT_WINDOW_MINUTES;
        }
        if ("all".equals(value)) {
            return 0;
        }
        int minutes = -1;
        if (value.length() >= 2 && value.length() <= 4) {
            char unit = value.charAt(value.length() - 1);
            String digits = value.substring(0, value.length() - 1);
            if (digits.chars().allMatch(c -> c >= '0' && c <= '9')) {
                int n = Integer.parseInt(digits);
                minutes = unit == 'm' ? n : unit == 'h' ? n * 60 : -1;
            }
        }
        if (minutes < 1 || minutes > LatencyBook.MAX_WINDOW_MINUTES) {
            throw new GatewayException(ErrorType.BAD_REQUEST, "window: " + value
                    + " (expected: 1m to 60m, e.g. 5m, 15m or 1h, or all)");
        }
        return minutes;
    }

    static byte[] toJson(LatencyBook.Report report) {
        return json(512 + report.models().size() * 512, g -> {
            g.writeStartObject();
            g.writeStringField("window", report.windowMinutes() == 0 ? "all" : report.windowMinutes() + "m");
            g.writeStringField("unit", "ms");
            g.writeFieldName("overall");
            model(g, report.overall(), false);
            g.writeArrayFieldStart("models");
            for (LatencyBook.ModelLatency m : report.models()) {
                model(g, m, true);
            }
            g.writeEndArray();
            g.writeEndObject();
        });
    }

    private static void model(JsonGenerator g, LatencyBook.ModelLatency m, boolean named) throws IOException {
        g.writeStartObject();
        if (named) {
            g.writeStringField("model", m.model());
        }
        for (LatencyKind kind : LatencyKind.values()) {
            LatencySummary s = m.get(kind);
            if (s.isEmpty()) {
                g.writeNullField(kind.label());
                continue;
            }
            g.writeObjectFieldStart(kind.label());
            g.writeNumberField("count", s.count());
            millis(g, "p50", s.p50Micros());
            millis(g, "p90", s.p90Micros());
            millis(g, "p99", s.p99Micros());
            millis(g, "p999", s.p999Micros());
            millis(g, "max", s.maxMicros());
            millis(g, "mean", Math.round(s.meanMicros()));
            g.writeEndObject();
        }
        g.writeEndObject();
    }

    private static void millis(JsonGenerator g, String name, long micros) throws IOException {
        g.writeFieldName(name);
        g.writeNumber(BigDecimal.valueOf(micros, 3));
    }
}
