package dev.tokenwise.core.spi;

import java.util.concurrent.CompletableFuture;

/**
 * Tells when a call's usage record is durable, for {@code storage.sync: strict}: the proxy holds the
 * final bytes of a response until then, so a client never sees a complete response whose record a crash
 * could lose. {@link #whenDurable} is called before the call settles.
 */
public interface DurabilityGate {

    /** Completes (on any thread) once the record of {@code requestId} is durable. */
    CompletableFuture<Void> whenDurable(String requestId);
}
