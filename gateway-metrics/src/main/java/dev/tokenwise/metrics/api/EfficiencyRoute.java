package dev.tokenwise.metrics.api;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.tokenwise.core.auth.Principal;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.metrics.efficiency.EfficiencyFigures;
import dev.tokenwise.metrics.efficiency.EfficiencyTracker;
import dev.tokenwise.metrics.ledger.EfficiencyTotals;
import dev.tokenwise.metrics.ledger.GroupBy;
import dev.tokenwise.metrics.ledger.Ledger;
import java.io.IOException;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * {@code GET /api/v1/efficiency?group_by=model|team&from=&to=}: what tasks cost per success, per model or team,
 * computed exactly from the ledger.
 *
 * <ul>
 *   <li>{@code group_by}: {@code model} (default; a task counts for the model of its last call, with all its
 *       calls) or {@code team}.</li>
 *   <li>{@code from}, {@code to}: as in {@code /api/v1/usage} (ISO-8601 instants or UTC dates, {@code [from, to)},
 *       default all time up to now). A task is in the range when its <em>last</em> call is, and then counts with
 *       all of its calls.</li>
 *   <li>Per group: {@code tasks, succeeded, failed, unknown, pending, success_rate, calls, calls_per_task,
 *       retries, retry_rate, tokens_per_success, cost_per_success_usd, wasted_cost_usd, truncation_rate,
 *       mean_output_tokens}, plus {@code input_tokens, output_tokens, cost_usd}. A ratio without a denominator is
 *       {@code null}. Definitions and a worked example: {@code docs/efficiency.md}.</li>
 *   <li>The admin key sees every team; a team key only its own team's tasks; no key is a 401.</li>
 * </ul>
 *
 * <p>The query runs on the executor given to the constructor, never on the event loop.
 */
public final class EfficiencyRoute extends LedgerRoute {
    private static final String PATH = "/api/v1/efficiency";

    private final Ledger ledger;
    private final EfficiencyTracker tracker;

    /**
     * @param tracker gives the task idle time (pending versus unknown) and the clock
     * @param executor where the ledger is read (a worker pool, not an event loop)
     */
    public EfficiencyRoute(Ledger ledger, EfficiencyTracker tracker, Executor executor) {
        super(PATH, executor);
        this.ledger = Objects.requireNonNull(ledger, "ledger");
        this.tracker = Objects.requireNonNull(tracker, "tracker");
    }

    @Override
    protected CompletableFuture<Response> answer(Request request, Principal caller) {
        GroupBy groupBy = groupBy(request.queryParam("group_by"));
        TimeRange range = TimeRange.of(request, tracker.nowMillis());
        String team = ownTeam(caller);
        long idleMillis = tracker.taskIdle().toMillis();
        long idleBefore = tracker.nowMillis() - idleMillis;
        return read(() -> ledger.tasks().efficiency(groupBy, range.fromMillis(), range.toMillis(), team, idleBefore),
                rows -> toJson(groupBy, range.fromMillis(), range.toMillis(), idleMillis, rows));
    }

    private static GroupBy groupBy(String value) {
        if (value == null || value.isEmpty()) {
            return GroupBy.MODEL;
        }
        GroupBy groupBy = GroupBy.ofLabel(value);
        if (groupBy != GroupBy.MODEL && groupBy != GroupBy.TEAM) {
            throw new GatewayException(ErrorType.BAD_REQUEST, "group_by: " + value + " (expected one of: model, team)");
        }
        return groupBy;
    }

    static byte[] toJson(GroupBy groupBy, long fromMillis, long toMillis, long idleMillis, List<EfficiencyTotals> rows) {
        return json(256 + rows.size() * 512, g -> {
            g.writeStartObject();
            g.writeStringField("group_by", groupBy.label());
            g.writeStringField("from", Instant.ofEpochMilli(fromMillis).toString());
            g.writeStringField("to", Instant.ofEpochMilli(toMillis).toString());
            g.writeNumberField("task_idle_seconds", idleMillis / 1000);
            g.writeArrayFieldStart("data");
            for (EfficiencyTotals t : rows) {
                write(g, groupBy.label(), t);
            }
            g.writeEndArray();
            g.writeEndObject();
        });
    }

    /** One group's figures as a JSON object; {@code groupField} names the group ({@code model} or {@code team}). */
    public static void write(JsonGenerator g, String groupField, EfficiencyTotals t) throws IOException {
        EfficiencyFigures f = new EfficiencyFigures(t);
        g.writeStartObject();
        g.writeStringField(groupField, t.group());
        g.writeNumberField("tasks", t.tasks());
        g.writeNumberField("succeeded", t.succeeded());
        g.writeNumberField("failed", t.failed());
        g.writeNumberField("unknown", t.unknown());
        g.writeNumberField("pending", t.pending());
        JsonBody.numberOrNull(g, "success_rate", f.successRate());
        g.writeNumberField("calls", t.calls());
        JsonBody.numberOrNull(g, "calls_per_task", f.callsPerTask());
        g.writeNumberField("retries", t.retries());
        JsonBody.numberOrNull(g, "retry_rate", f.retryRate());
        JsonBody.numberOrNull(g, "tokens_per_success", f.tokensPerSuccess());
        usd(g, "cost_per_success_usd", f.costPerSuccessUsd());
        usd(g, "wasted_cost_usd", f.wastedCostUsd());
        g.writeNumberField("truncated", t.truncated());
        JsonBody.numberOrNull(g, "truncation_rate", f.truncationRate());
        JsonBody.numberOrNull(g, "mean_output_tokens", f.meanOutputTokens());
        g.writeNumberField("input_tokens", t.inputTokens());
        g.writeNumberField("output_tokens", t.outputTokens());
        usd(g, "cost_usd", f.costUsd());
        g.writeEndObject();
    }

    private static void usd(JsonGenerator g, String name, BigDecimal usd) throws IOException {
        g.writeFieldName(name);
        if (usd == null) {
            g.writeNull();
        } else {
            g.writeNumber(usd.toPlainString());
        }
    }
}
