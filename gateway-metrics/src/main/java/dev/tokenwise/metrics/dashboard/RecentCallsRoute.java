package dev.tokenwise.metrics.dashboard;

import dev.tokenwise.core.auth.Principal;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.model.Money;
import dev.tokenwise.metrics.api.LedgerRoute;
import dev.tokenwise.metrics.ledger.Ledger;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * {@code GET /api/v1/requests?limit=50&team=&model=&after=}: the most recent calls committed to the ledger, newest
 * first, each with its id (the full record is at {@code /api/v1/requests/{id}}), and a {@code cursor}.
 *
 * <ul>
 *   <li>{@code limit}: 1 to 500, default 50.</li>
 *   <li>{@code after}: a {@code cursor} from an earlier answer: the calls written since, oldest first (in the order
 *       they were written), with the cursor to ask for the next ones. Polling with it follows every call once, with
 *       no gap ({@code tokenwise tail}).</li>
 *   <li>{@code team}, {@code model}: optional filters.</li>
 *   <li>The admin key sees every call; another key only the calls it made itself (as for
 *       {@code /api/v1/requests/{id}}); no key is a 401.</li>
 * </ul>
 *
 * <p>The query runs on the executor given to the constructor, never on the event loop.
 */
public final class RecentCallsRoute extends LedgerRoute {
    static final String PATH = "/api/v1/requests";
    static final int DEFAULT_LIMIT = 50;
    static final int MAX_LIMIT = 500;

    private final LedgerReader reader;

    public RecentCallsRoute(Ledger ledger, Executor executor) {
        this(new LedgerReader(ledger::openReadConnection), executor);
    }

    RecentCallsRoute(LedgerReader reader, Executor executor) {
        super(PATH, executor);
        this.reader = Objects.requireNonNull(reader, "reader");
    }

    @Override
    protected CompletableFuture<Response> answer(Request request, Principal principal) {
        int limit = limit(request.queryParam("limit"));
        long after = after(request.queryParam("after"));
        String team = emptyToNull(request.queryParam("team"));
        String model = emptyToNull(request.queryParam("model"));
        String keyId = null;
        if (!principal.admin()) {
            if (team != null && !team.equals(principal.team())) {
                return CompletableFuture.completedFuture(Response.json(200, toJson(List.of(), Math.max(after, 0))));
            }
            team = principal.team();
            keyId = principal.keyId();
        }
        String teamFilter = team;
        String keyFilter = keyId;
        return read(() -> after < 0 ? reader.recentPage(limit, teamFilter, keyFilter, model)
                        : reader.following(after, limit, teamFilter, keyFilter, model),
                page -> toJson(page.calls(), page.cursor()));
    }

    static int limit(String value) {
        if (value == null || value.isEmpty()) {
            return DEFAULT_LIMIT;
        }
        try {
            int n = Integer.parseInt(value);
            if (n >= 1 && n <= MAX_LIMIT) {
                return n;
            }
        } catch (NumberFormatException ignored) {
            // answered below
        }
        throw new GatewayException(ErrorType.BAD_REQUEST, "limit: " + value + " (expected: an integer from 1 to "
                + MAX_LIMIT + ")");
    }

    /** The {@code after} cursor, or -1 for the newest calls. */
    static long after(String value) {
        if (value == null || value.isEmpty()) {
            return -1;
        }
        try {
            long cursor = Long.parseLong(value);
            if (cursor >= 0) {
                return cursor;
            }
        } catch (NumberFormatException ignored) {
            // answered below
        }
        throw new GatewayException(ErrorType.BAD_REQUEST, "after: " + value + " (expected: a cursor, a whole number from 0)");
    }

    private static String emptyToNull(String s) {
        return s == null || s.isEmpty() ? null : s;
    }

    static byte[] toJson(List<LedgerReader.Call> calls, long cursor) {
        return json(64 + calls.size() * 400, g -> {
            g.writeStartObject();
            g.writeArrayFieldStart("data");
            for (LedgerReader.Call c : calls) {
                g.writeStartObject();
                g.writeStringField("id", c.id());
                g.writeStringField("created_at", Instant.ofEpochMilli(c.createdAtMillis()).toString());
                g.writeStringField("team", c.team());
                g.writeStringField("key_id", c.keyId());
                g.writeStringField("model", c.model());
                g.writeStringField("provider", c.provider());
                g.writeBooleanField("stream", c.stream());
                g.writeStringField("status", c.status());
                g.writeNumberField("http_status", c.httpStatus());
                g.writeNumberField("input_tokens", c.inputTokens());
                g.writeNumberField("output_tokens", c.outputTokens());
                g.writeFieldName("cost_usd");
                g.writeNumber(Money.toUsd(c.costNanos()).toPlainString());
                g.writeNumberField("cost_nanos", c.costNanos());
                g.writeStringField("task_id", c.taskId());
                g.writeStringField("finish_reason", c.finishReason());
                g.writeFieldName("latency_ms");
                g.writeNumber(BigDecimal.valueOf(c.latencyMicros(), 3));
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeNumberField("cursor", cursor);
            g.writeEndObject();
        });
    }
}
