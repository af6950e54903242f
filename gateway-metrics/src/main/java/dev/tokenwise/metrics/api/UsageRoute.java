package dev.tokenwise.metrics.api;

import dev.tokenwise.core.auth.Principal;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.model.Money;
import dev.tokenwise.metrics.ledger.GroupBy;
import dev.tokenwise.metrics.ledger.Ledger;
import dev.tokenwise.metrics.ledger.UsageRow;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * {@code GET /api/v1/usage?group_by=team|model|key|day&from=&to=}: usage and cost totals from the ledger.
 *
 * <ul>
 *   <li>{@code group_by}: {@code team} (default), {@code model}, {@code key} (rows carry {@code team} and
 *       {@code key_id}) or {@code day} (UTC date {@code yyyy-MM-dd}).</li>
 *   <li>{@code from}, {@code to}: ISO-8601 instants ({@code 2026-11-28T10:15:30Z}, an offset instead of
 *       {@code Z} is fine) or UTC dates ({@code 2026-11-28}). The range is {@code [from, to)}; a date in
 *       {@code from} means the start of that day, a date in {@code to} the end of that day, so
 *       {@code from=2026-11-28&to=2026-11-28} is that whole day. Defaults: all time up to now.</li>
 *   <li>The admin key sees every team; a team key sees only its own team's rows; no key is a 401.</li>
 * </ul>
 *
 * <p>The answer comes from what the ledger has committed: a call is there within milliseconds of settling.
 * The query runs on the executor given to the constructor, never on the event loop.
 */
public final class UsageRoute extends LedgerRoute {
    private static final String PATH = "/api/v1/usage";

    private final Ledger ledger;
    private final Clock clock;

    /** A route reading {@code ledger} on {@code executor} (a worker pool, not an event loop). */
    public UsageRoute(Ledger ledger, Executor executor) {
        this(ledger, executor, Clock.systemUTC());
    }

    UsageRoute(Ledger ledger, Executor executor, Clock clock) {
        super(PATH, executor);
        this.ledger = Objects.requireNonNull(ledger, "ledger");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    @Override
    protected CompletableFuture<Response> answer(Request request, Principal caller) {
        GroupBy groupBy = groupBy(request.queryParam("group_by"));
        TimeRange range = TimeRange.of(request, clock.millis());
        String team = ownTeam(caller);
        return read(() -> ledger.usage(groupBy, range.fromMillis(), range.toMillis(), team),
                rows -> toJson(groupBy, range.fromMillis(), range.toMillis(), rows));
    }

    private static GroupBy groupBy(String value) {
        if (value == null || value.isEmpty()) {
            return GroupBy.TEAM;
        }
        GroupBy groupBy = GroupBy.ofLabel(value);
        if (groupBy == null) {
            throw new GatewayException(ErrorType.BAD_REQUEST, "group_by: " + value + " (expected one of: "
                    + GroupBy.labels() + ")");
        }
        return groupBy;
    }

    private static byte[] toJson(GroupBy groupBy, long fromMillis, long toMillis, List<UsageRow> rows) {
        return json(256 + rows.size() * 256, g -> {
            g.writeStartObject();
            g.writeStringField("group_by", groupBy.label());
            g.writeStringField("from", Instant.ofEpochMilli(fromMillis).toString());
            g.writeStringField("to", Instant.ofEpochMilli(toMillis).toString());
            g.writeArrayFieldStart("data");
            for (UsageRow row : rows) {
                g.writeStartObject();
                switch (groupBy) {
                    case TEAM -> g.writeStringField("team", row.team());
                    case MODEL -> g.writeStringField("model", row.model());
                    case KEY -> {
                        g.writeStringField("team", row.team());
                        g.writeStringField("key_id", row.keyId());
                    }
                    case DAY -> g.writeStringField("day", row.day());
                }
                g.writeNumberField("requests", row.requests());
                g.writeNumberField("input_tokens", row.inputTokens());
                g.writeNumberField("output_tokens", row.outputTokens());
                g.writeNumberField("cached_input_tokens", row.cachedInputTokens());
                g.writeNumberField("reasoning_tokens", row.reasoningTokens());
                g.writeFieldName("cost_usd");
                g.writeNumber(Money.toUsd(row.costNanos()).toPlainString());
                g.writeNumberField("cost_nanos", row.costNanos());
                g.writeNumberField("cache_hits", row.cacheHits());
                g.writeFieldName("cache_saved_usd");
                g.writeNumber(Money.toUsd(row.cacheSavedNanos()).toPlainString());
                g.writeFieldName("prompt_cache_saved_usd");
                g.writeNumber(Money.toUsd(row.promptCacheSavedNanos()).toPlainString());
                g.writeFieldName("cached_input_share");
                g.writeNumber(BigDecimal.valueOf(row.cachedInputTokens())
                        .divide(BigDecimal.valueOf(Math.max(1, row.inputTokens())), 4, RoundingMode.HALF_UP).toPlainString());
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeEndObject();
        });
    }
}
