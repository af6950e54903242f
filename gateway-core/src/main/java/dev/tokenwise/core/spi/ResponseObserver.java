package dev.tokenwise.core.spi;

import dev.tokenwise.core.model.TokenUsage;
import io.netty.buffer.ByteBuf;

/**
 * Watches one upstream response as it is relayed, to find the billed usage, the text produced and the
 * finish reason. Created per call by a {@link ProviderAdapter}; used only on that call's event loop.
 * Buffers passed in are borrowed: read them, do not retain or release them.
 */
public interface ResponseObserver {

    /**
     * Sees one complete server-sent event (the bytes up to and including its blank line).
     *
     * @return {@code true} to forward the event to the client, {@code false} to drop it (the usage
     *     chunk the gateway asked for on the client's behalf)
     */
    boolean onEvent(ByteBuf event);

    /** Sees the complete body of a non-streamed response with a 2xx status. */
    void onBody(ByteBuf body);

    /** The usage the provider reported, or {@code null} if it reported none (yet). */
    TokenUsage usage();

    /** The text the model produced so far (message content, or streamed deltas joined). */
    String outputText();

    /** The finish reason the provider reported, or {@code null}. */
    String finishReason();
}
