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
        return new UsageRecord("req", "team", "key", model, "sim", Endpoint.CHAT_COMPLETIONS, stream, status, 200,
                TokenUsage.of(10, 5), true, 10, 5, false, 100, null, 0, "stop", 0, latencyMicros, upstreamMicros,
                ttftMicros);
    }

    static UsageRecord ok(String model, long overheadMicros, long upstreamMicros) {
        return call(model, upstreamMicros + overheadMicros, upstreamMicros, 0, false, CallStatus.OK);
    }
}
