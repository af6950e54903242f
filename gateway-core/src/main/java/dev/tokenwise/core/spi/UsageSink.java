package dev.tokenwise.core.spi;

import dev.tokenwise.core.model.UsageRecord;

/**
 * Receives every finished call's record, off the hot path: the accounting core hands records to sinks
 * on its dispatcher thread, in order. A sink that is slow delays the others, never the proxy.
 */
public interface UsageSink {

    void accept(UsageRecord record);

    /**
     * Why this sink no longer takes records in (its writer thread died, or has made no progress for long), or
     * {@code null} while it does. A sink that is only failing for a while and keeps what it was given (a ledger
     * retrying a full disk) has not stopped. Called on every call the gateway takes, from any thread: read a
     * volatile field or two, nothing more.
     */
    default String stoppedReason() {
        return null;
    }

    /** Called once at shutdown after the last record was handed over. */
    default void close() {
    }
}
