package dev.tokenwise.metrics.ledger;

/**
 * The times of one completed call, as the ledger holds them ({@link SqliteLedger#timings}).
 *
 * @param model the model that answered
 * @param stream whether the answer was streamed
 * @param latencyMicros the whole call, as the client saw it
 * @param upstreamLatencyMicros the provider's part; 0 when the provider was not reached
 * @param ttftMicros time to the first token of a stream; 0 when unknown
 */
public record CallTiming(String model, boolean stream, long latencyMicros, long upstreamLatencyMicros,
                         long ttftMicros) {
}
