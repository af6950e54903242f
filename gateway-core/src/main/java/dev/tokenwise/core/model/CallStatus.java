package dev.tokenwise.core.model;

import java.util.Locale;

/** How a proxied call ended; written to its {@link UsageRecord} in lower case. */
public enum CallStatus {
    /** The upstream answered 2xx and the whole response reached the client. */
    OK,
    /** The upstream answered with an HTTP error, relayed to the client. */
    UPSTREAM_ERROR,
    /** The upstream could not be reached (connect failure, TLS failure). */
    UPSTREAM_UNREACHABLE,
    /**
     * The upstream answered 2xx and then reported an error inside the answer (an {@code error} event of a stream):
     * the client got the head and what came before the error; billed for what was produced.
     */
    UPSTREAM_STREAM_ERROR,
    /** The upstream connection dropped before the response was complete. */
    UPSTREAM_RESET,
    /** The upstream went silent for longer than its read timeout. */
    UPSTREAM_TIMEOUT,
    /** The client went away before the response was complete; the upstream call was cancelled. */
    CLIENT_CANCELLED;

    private final String label = name().toLowerCase(Locale.ROOT);

    /** The name in lower case, as the ledger and the metrics write it. */
    public String label() {
        return label;
    }
}
