package dev.tokenwise.core.spi;

import dev.tokenwise.core.model.UsageRecord;

/**
 * Receives every finished call's record, off the hot path: the accounting core hands records to sinks
 * on its dispatcher thread, in order. A sink that is slow delays the others, never the proxy.
 */
public interface UsageSink {

    void accept(UsageRecord record);

    /** Called once at shutdown after the last record was handed over. */
    default void close() {
    }
}
