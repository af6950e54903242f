package dev.tokenwise.metrics.ledger;

import dev.tokenwise.core.model.CallStatus;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.TokenUsage;
import dev.tokenwise.core.model.UsageRecord;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The worked example of {@code docs/efficiency.md} (three tasks with retries and mixed outcomes, one task
 * spanning two models, one without outcome, one outcome reported twice), and a reference implementation of
 * the efficiency definitions in plain Java, written apart from the SQL, for tests to compare against.
 */
public final class TaskFixture {
    public static final long T0 = Instant.parse("2026-11-28T10:00:00Z").toEpochMilli();
    public static final long IDLE_MILLIS = 3_600_000;
    public static final long NANOS_PER_MILLI_USD = 1_000_000;

    private TaskFixture() {
    }

    /** A call; {@code costMilliUsd} in thousandths of a dollar. */
    public static UsageRecord call(String id, String team, String key, String model, String task, int attempt,
                                   long promptHash, long input, long output, double costMilliUsd, String finish,
                                   long atMillis) {
        TokenUsage usage = TokenUsage.of(input, output);
        return UsageRecord.builder().id(id).team(team).keyId(key).model(model).provider("sim")
                .endpoint(Endpoint.CHAT_COMPLETIONS).status(CallStatus.OK).httpStatus(200).usage(usage)
                .usageFromProvider(true).localInputTokens(input).localOutputTokens(output)
                .costNanos(Math.round(costMilliUsd * NANOS_PER_MILLI_USD)).taskId(task).taskAttempt(attempt)
                .finishReason(finish).createdAtMillis(atMillis).latencyMicros(10_000).upstreamLatencyMicros(9_000)
                .promptHash(promptHash).build();
    }

    /** The same call, after {@code attempts} upstream attempts by the gateway. */
    public static UsageRecord withAttempts(UsageRecord r, int attempts) {
        return UsageRecord.builder().id(r.id()).team(r.team()).keyId(r.keyId()).model(r.model())
                .provider(r.provider()).endpoint(r.endpoint()).stream(r.stream()).status(r.status())
                .httpStatus(r.httpStatus()).usage(r.usage()).usageFromProvider(r.usageFromProvider())
                .localInputTokens(r.localInputTokens()).localOutputTokens(r.localOutputTokens())
                .localEstimated(r.localEstimated()).costNanos(r.costNanos()).taskId(r.taskId())
                .taskAttempt(r.taskAttempt()).finishReason(r.finishReason()).createdAtMillis(r.createdAtMillis())
                .latencyMicros(r.latencyMicros()).upstreamLatencyMicros(r.upstreamLatencyMicros())
                .ttftMicros(r.ttftMicros()).promptHash(r.promptHash()).requestedModel(r.requestedModel())
                .attempts(attempts).build();
    }

    /** The calls of the worked example, in the order they settle. */
    public static List<UsageRecord> calls() {
        return List.of(
                call("c1", "a", "a1", "sim-small", "fix-login", 0, 11, 100, 50, 1.0, "stop", T0),
                call("c2", "a", "a1", "sim-small", "fix-login", 0, 11, 100, 200, 2.0, "length", T0 + 10_000),
                call("c3", "a", "a1", "sim-small", "fix-login", 2, 12, 150, 60, 1.5, "stop", T0 + 20_000),
                call("c4", "a", "a2", "sim-small", "write-tests", 0, 21, 80, 40, 0.8, "stop", T0 + 30_000),
                call("c5", "a", "a2", "sim-large", "write-tests", 0, 22, 90, 30, 3.0, "stop", T0 + 40_000),
                call("c6", "b", "b1", "sim-small", "summarise", 0, 31, 50, 500, 5.0, "length", T0 + 50_000),
                call("c7", "b", "b1", "sim-small", "summarise", 0, 31, 50, 20, 0.7, "stop", T0 + 60_000),
                call("c8", "a", "a1", "sim-small", null, 0, 41, 10, 10, 0.1, "stop", T0 + 70_000));
    }

    /** The outcomes in the order they are reported: write-tests first succeeds, then the report is replaced. */
    public static List<TaskOutcome> outcomes() {
        return List.of(
                new TaskOutcome("a", "fix-login", "a1", true, 0.9, "tests pass", T0 + 100_000),
                new TaskOutcome("a", "write-tests", "a2", true, null, null, T0 + 110_000),
                new TaskOutcome("a", "write-tests", "a2", false, 0.2, "flaky", T0 + 120_000));
    }

    /**
     * The efficiency totals the definitions give, computed in plain Java from the calls (in settle order) and
     * the outcomes (the last per task wins).
     *
     * @param groupBy {@code "model"} or {@code "team"}
     */
    public static Map<String, EfficiencyTotals> reference(List<UsageRecord> calls, List<TaskOutcome> outcomes,
                                                          String groupBy, long from, long to, String teamFilter,
                                                          long idleBefore) {
        Map<String, Boolean> outcome = new LinkedHashMap<>();
        for (TaskOutcome o : outcomes) {
            outcome.put(o.team() + "/" + o.taskId(), o.success());
        }
        // retry flags, in settle order
        Set<String> seen = new HashSet<>();
        Map<String, List<UsageRecord>> byTask = new LinkedHashMap<>();
        Map<String, Boolean> retry = new LinkedHashMap<>();
        for (UsageRecord r : calls) {
            if (r.taskId() == null) {
                continue;
            }
            String prompt = r.team() + "/" + r.taskId() + "/" + r.model() + "/" + r.promptHash();
            boolean again = r.promptHash() != 0 && !seen.add(prompt);
            retry.put(r.id(), r.taskAttempt() > 1 || r.attempts() > 1 || again);
            byTask.computeIfAbsent(r.team() + "/" + r.taskId(), k -> new ArrayList<>()).add(r);
        }
        Map<String, long[]> sums = new TreeMap<>();
        for (Map.Entry<String, List<UsageRecord>> e : byTask.entrySet()) {
            List<UsageRecord> task = e.getValue();
            UsageRecord last = task.get(0);
            for (UsageRecord r : task) {
                if (r.createdAtMillis() >= last.createdAtMillis()) {
                    last = r;
                }
            }
            if (last.createdAtMillis() < from || last.createdAtMillis() >= to
                    || teamFilter != null && !teamFilter.equals(last.team())) {
                continue;
            }
            String group = groupBy.equals("model") ? last.model() : last.team();
            long[] s = sums.computeIfAbsent(group, g -> new long[14]);
            Boolean success = outcome.get(e.getKey());
            long tokens = 0;
            long cost = 0;
            s[0]++;
            if (success == null) {
                s[last.createdAtMillis() < idleBefore ? 3 : 4]++;
            } else {
                s[success ? 1 : 2]++;
            }
            for (UsageRecord r : task) {
                s[5]++;
                s[6] += retry.get(r.id()) ? 1 : 0;
                s[7] += "length".equals(r.finishReason()) ? 1 : 0;
                s[8] += r.usage().inputTokens();
                s[9] += r.usage().outputTokens();
                tokens += r.usage().inputTokens() + r.usage().outputTokens();
                cost += r.costNanos();
            }
            if (success != null) {
                s[10] += tokens;
                s[11] += cost;
                if (!success) {
                    s[12] += cost;
                }
            }
            s[13] += cost;
        }
        Map<String, EfficiencyTotals> result = new TreeMap<>();
        sums.forEach((group, s) -> result.put(group, new EfficiencyTotals(group, s[0], s[1], s[2], s[3], s[4], s[5],
                s[6], s[7], s[8], s[9], s[10], s[11], s[12], s[13])));
        return result;
    }
}
