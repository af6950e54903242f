package dev.tokenwise.metrics.api;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.tokenwise.core.model.ModelPrice;
import dev.tokenwise.core.model.Money;
import dev.tokenwise.core.model.RecordFlag;
import dev.tokenwise.core.model.ServiceTier;
import dev.tokenwise.core.model.UsageRecord;
import java.io.IOException;
import java.math.BigDecimal;
import java.time.Instant;

/**
 * Writes a {@link UsageRecord} as the JSON object of {@code GET /api/v1/requests/{id}}: with its
 * {@code price_version} (the price and tier it was charged at) and the {@code service_tier} that version names.
 */
public final class UsageRecordJson {
    private UsageRecordJson() {
    }

    /**
     * @param retry the ledger's retry flag of the call (see docs/efficiency.md), {@code null} when not known
     */
    public static void write(JsonGenerator g, UsageRecord r, Boolean retry) throws IOException {
        g.writeStartObject();
        g.writeStringField("id", r.id());
        g.writeStringField("team", r.team());
        g.writeStringField("key_id", r.keyId());
        g.writeStringField("model", r.model());
        g.writeStringField("requested_model", r.requestedModel());
        g.writeStringField("route", r.route());
        g.writeStringField("route_reason", r.routeReason());
        g.writeStringField("provider", r.provider());
        g.writeStringField("instance_id", r.instance());
        g.writeStringField("endpoint", r.endpoint().clientPath());
        g.writeBooleanField("stream", r.stream());
        g.writeStringField("status", r.status().label());
        g.writeNumberField("http_status", r.httpStatus());
        g.writeNumberField("input_tokens", r.usage().inputTokens());
        g.writeNumberField("output_tokens", r.usage().outputTokens());
        g.writeNumberField("cached_input_tokens", r.usage().cachedInputTokens());
        g.writeNumberField("cache_write_tokens", r.usage().cacheWriteTokens());
        g.writeNumberField("reasoning_tokens", r.usage().reasoningTokens());
        g.writeNumberField("cache_write_1h_tokens", r.usage().cacheWrite1hTokens());
        g.writeStringField("usage_source", r.usageFromProvider() ? "provider" : "local");
        g.writeNumberField("local_input_tokens", r.localInputTokens());
        g.writeNumberField("local_output_tokens", r.localOutputTokens());
        g.writeBooleanField("local_estimated", r.localEstimated());
        g.writeFieldName("cost_usd");
        g.writeNumber(Money.toUsd(r.costNanos()).toPlainString());
        g.writeNumberField("cost_nanos", r.costNanos());
        g.writeStringField("price_version", r.priceVersion());
        ServiceTier tier = ModelPrice.tierOf(r.priceVersion());
        g.writeStringField("service_tier", tier == null ? null : tier.label());
        g.writeStringField("cache", r.cache() == null ? null : r.cache().label());
        g.writeFieldName("saved_usd");
        g.writeNumber(Money.toUsd(r.savedNanos()).toPlainString());
        g.writeNumberField("saved_nanos", r.savedNanos());
        g.writeFieldName("prompt_cache_saved_usd");
        g.writeNumber(Money.toUsd(r.promptCacheSavedNanos()).toPlainString());
        g.writeNumberField("prompt_cache_saved_nanos", r.promptCacheSavedNanos());
        g.writeStringField("task_id", r.taskId());
        if (r.taskAttempt() > 0) {
            g.writeNumberField("task_attempt", r.taskAttempt());
        } else {
            g.writeNullField("task_attempt");
        }
        g.writeStringField("finish_reason", r.finishReason());
        g.writeNumberField("attempts", r.attempts());
        if (retry == null) {
            g.writeNullField("retry");
        } else {
            g.writeBooleanField("retry", retry);
        }
        g.writeArrayFieldStart("flags");
        for (RecordFlag flag : RecordFlag.of(r.flags())) {
            g.writeString(flag.label());
        }
        g.writeEndArray();
        g.writeNumberField("latency_ms", millis(r.latencyMicros()));
        g.writeNumberField("upstream_latency_ms", millis(r.upstreamLatencyMicros()));
        g.writeNumberField("ttft_ms", millis(r.ttftMicros()));
        g.writeStringField("created_at", Instant.ofEpochMilli(r.createdAtMillis()).toString());
        g.writeEndObject();
    }

    private static BigDecimal millis(long micros) {
        return BigDecimal.valueOf(micros, 3);
    }
}
