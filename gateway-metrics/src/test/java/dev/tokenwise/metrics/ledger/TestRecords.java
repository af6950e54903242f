package dev.tokenwise.metrics.ledger;

import dev.tokenwise.core.model.CallStatus;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.TokenUsage;
import dev.tokenwise.core.model.UsageRecord;

/** Usage records for tests. */
public final class TestRecords {
    private TestRecords() {
    }

    /** A plain successful chat call. */
    public static UsageRecord record(String id, String team, String keyId, String model, long createdAtMillis,
                                     long costNanos) {
        return record(id, team, keyId, model, createdAtMillis, costNanos, new TokenUsage(100, 20, 0, 50, 10));
    }

    public static UsageRecord record(String id, String team, String keyId, String model, long createdAtMillis,
                                     long costNanos, TokenUsage usage) {
        return UsageRecord.builder().id(id).team(team).keyId(keyId).model(model).provider("sim")
                .endpoint(Endpoint.CHAT_COMPLETIONS).status(CallStatus.OK).httpStatus(200).usage(usage)
                .usageFromProvider(true).localInputTokens(usage.inputTokens()).localOutputTokens(usage.outputTokens())
                .costNanos(costNanos).finishReason("stop").createdAtMillis(createdAtMillis).latencyMicros(12_345)
                .upstreamLatencyMicros(11_000).build();
    }

    /** A record with every optional field set and every flag the other way round. */
    public static UsageRecord fullRecord(String id, long createdAtMillis) {
        return UsageRecord.builder().id(id).team("research").keyId("key-research").model("sim-large").provider("sim")
                .endpoint(Endpoint.MESSAGES).stream(true).status(CallStatus.CLIENT_CANCELLED).httpStatus(499)
                .usage(new TokenUsage(1_000, 300, 200, 400, 150)).localInputTokens(990).localOutputTokens(401)
                .localEstimated(true).costNanos(123_456_789L).taskId("task-42").taskAttempt(3).finishReason("length")
                .createdAtMillis(createdAtMillis).latencyMicros(1_500_000).upstreamLatencyMicros(1_400_000)
                .ttftMicros(250_000).instance("gw-a").build();
    }
}
