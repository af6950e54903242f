package dev.tokenwise.core.spi;

import dev.tokenwise.core.model.ServiceTier;
import dev.tokenwise.core.model.TokenUsage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

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

    /**
     * For adapters that translate another provider's answer into the client's API: the bytes to send in
     * place of {@code event} (an empty buffer to send nothing), allocated from {@code alloc} and owned by
     * the caller; {@code null} (the default) relays the event as {@link #onEvent} decides. Called after
     * {@link #onEvent} for the same event.
     */
    default ByteBuf translateEvent(ByteBuf event, ByteBufAllocator alloc) {
        return null;
    }

    /**
     * {@code true} when a non-streamed answer must be rewritten whole ({@link #translateBody}): the proxy
     * then holds the body until it is complete instead of relaying it piece by piece.
     */
    default boolean translatesBody() {
        return false;
    }

    /** The complete body to send in place of the upstream's (after {@link #onBody}); owned by the caller. */
    default ByteBuf translateBody(ByteBuf body, ByteBufAllocator alloc) {
        throw new IllegalStateException("translateBody called on an observer whose translatesBody() is false");
    }

    /** The usage the provider reported, or {@code null} if it reported none (yet) or none that can be believed. */
    TokenUsage usage();

    /**
     * {@code true} when the provider reported usage that cannot be believed: a token count that is negative, not
     * an integer (a fraction, a string, a boolean) or above {@link TokenUsage#MAX_PLAUSIBLE_TOKENS}. {@link #usage}
     * is then {@code null}, and the call is billed on the local count and flagged
     * {@link dev.tokenwise.core.model.RecordFlag#USAGE_REJECTED}. Once rejected, a call's usage stays rejected.
     */
    default boolean usageRejected() {
        return false;
    }

    /**
     * {@code true} when {@link #usage} is the provider's final word on the call (a whole body, OpenAI's usage chunk,
     * Anthropic's {@code message_delta}, Gemini's finishing event); {@code false} while it is only a running figure
     * that a stream reported before its end (Anthropic's {@code message_start} carries {@code output_tokens: 1}).
     * An answer that ends before its usage is final is billed for the larger of the running figure and the local
     * count of what was relayed.
     */
    default boolean usageFinal() {
        return true;
    }

    /**
     * The error the provider reported inside an answer that began as a success (an {@code error} event in the middle
     * of a 200 stream), as a short description for the log, or {@code null} when it reported none.
     */
    default String streamError() {
        return null;
    }

    /**
     * The service tier the provider says it served the call on (OpenAI's {@code service_tier}, Anthropic's
     * {@code usage.service_tier}), read from the response as {@link ServiceTier#served}; {@code null} when the
     * response did not say, and the call is priced at the standard tier. The price of a call follows what the
     * provider served, not what the request asked for.
     */
    default ServiceTier serviceTier() {
        return null;
    }

    /**
     * Output tokens billed for a predicted output the model did not use ({@code rejected_prediction_tokens} of
     * OpenAI's {@code completion_tokens_details}): part of {@link TokenUsage#outputTokens()}, never in
     * {@link #outputText()}. {@code 0} when not reported, or when {@link #usage} is {@code null}.
     */
    default long rejectedPredictionTokens() {
        return 0;
    }

    /** The text the model produced so far (message content, or streamed deltas joined). */
    String outputText();

    /** The finish reason the provider reported, or {@code null}. */
    String finishReason();
}
