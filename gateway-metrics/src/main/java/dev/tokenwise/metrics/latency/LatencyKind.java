package dev.tokenwise.metrics.latency;

import java.util.Locale;

/** What a latency figure measures. All are taken from the call's {@code UsageRecord}, in microseconds. */
public enum LatencyKind {
    /**
     * The time the gateway adds: {@code latencyMicros − upstreamLatencyMicros} (routing, auth, parsing, budget,
     * connection hand-out, relaying), never below zero.
     */
    OVERHEAD,
    /** From the upstream request written to the last upstream byte. */
    UPSTREAM,
    /** Time to first token of a stream: from the request's arrival to the first response byte written. */
    TTFT;

    /** The name used in JSON, e.g. {@code overhead}. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
