package dev.tokenwise.metrics.latency;

import dev.tokenwise.core.model.CallStatus;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.TokenUsage;
import dev.tokenwise.core.model.UsageRecord;

/** Usage records with chosen timings. */
final class LatencyCalls {
    private LatencyCalls() {
    }

    static UsageRecord call(String model, long latencyMicros, long upstreamMicros, long ttftMicros, boolean stream,
                            CallStatus status) {
        return UsageRecord.builder().id("req").team("team").keyId("key").model(model).provider("sim")
                .endpoint(Endpoint.CHAT_COMPLETIONS).stream(stream).status(status).httpStatus(200)
                .usage(TokenUsage.of(10, 5)).usageFromProvider(true).localInputTokens(10).localOutputTokens(5)
                .costNanos(100).finishReason("stop").latencyMicros(latencyMicros)
                .upstreamLatencyMicros(upstreamMicros).ttftMicros(ttftMicros).build();
    }

    static UsageRecord ok(String model, long overheadMicros, long upstreamMicros) {
        return call(model, upstreamMicros + overheadMicros, upstreamMicros, 0, false, CallStatus.OK);
    }
}
