package dev.tokenwise.core.accounting;

import dev.tokenwise.core.model.UsageRecord;
import java.util.concurrent.atomic.LongAdder;

/**
 * Live totals of one (team, key, model): striped adders, written wait-free by settling calls and
 * summed without locks by readers. A reader may see a call's tokens before its cost (the adders are
 * independent); each figure is exact once writers are quiet.
 */
public final class UsageTotals {
    private final LongAdder calls = new LongAdder();
    private final LongAdder inputTokens = new LongAdder();
    private final LongAdder outputTokens = new LongAdder();
    private final LongAdder cachedInputTokens = new LongAdder();
    private final LongAdder reasoningTokens = new LongAdder();
    private final LongAdder costNanos = new LongAdder();

    void add(UsageRecord record) {
        calls.increment();
        inputTokens.add(record.usage().inputTokens());
        outputTokens.add(record.usage().outputTokens());
        cachedInputTokens.add(record.usage().cachedInputTokens());
        reasoningTokens.add(record.usage().reasoningTokens());
        costNanos.add(record.costNanos());
    }

    public long calls() {
        return calls.sum();
    }

    public long inputTokens() {
        return inputTokens.sum();
    }

    public long outputTokens() {
        return outputTokens.sum();
    }

    public long cachedInputTokens() {
        return cachedInputTokens.sum();
    }

    public long reasoningTokens() {
        return reasoningTokens.sum();
    }

    public long costNanos() {
        return costNanos.sum();
    }
}
