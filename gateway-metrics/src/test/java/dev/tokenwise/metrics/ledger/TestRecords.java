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
        return new UsageRecord(id, team, keyId, model, "sim", Endpoint.CHAT_COMPLETIONS, false, CallStatus.OK, 200,
                usage, true, usage.inputTokens(), usage.outputTokens(), false, costNanos, null, 0, "stop",
                createdAtMillis, 12_345, 11_000, 0);
    }

    /** A record with every optional field set and every flag the other way round. */
    public static UsageRecord fullRecord(String id, long createdAtMillis) {
        return new UsageRecord(id, "research", "key-research", "sim-large", "sim", Endpoint.MESSAGES, true,
                CallStatus.CLIENT_CANCELLED, 499, new TokenUsage(1_000, 300, 200, 400, 150), false, 990, 401, true,
                123_456_789L, "task-42", 3, "length", createdAtMillis, 1_500_000, 1_400_000, 250_000);
    }
}
