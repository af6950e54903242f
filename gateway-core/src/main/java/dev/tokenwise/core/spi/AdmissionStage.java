package dev.tokenwise.core.spi;

import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.UsageRecord;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpHeaders;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * One step of a call's admission, run on the event loop after the call is authenticated, parsed and routed and
 * before anything is reserved or forwarded: a rate limit, a cache lookup, a shared budget. A stage either refuses
 * the call by throwing a {@link dev.tokenwise.core.error.GatewayException} (having acquired nothing), or admits it
 * and hands back a {@link Lease} for what it took. The call's admission owns every lease and runs exactly one of
 * {@link Lease#settle} (the call ended, with its record) or {@link Lease#abort} (the call never went upstream,
 * because a later stage refused it or forwarding failed) on each, in the reverse order of acquisition.
 *
 * <pre>{@code
 * final class ConcurrencyStage implements AdmissionStage {
 *     private final AtomicInteger inFlight = new AtomicInteger();
 *     public Lease admit(Call call) {
 *         if (inFlight.incrementAndGet() > 20) {
 *             inFlight.decrementAndGet();
 *             throw new GatewayException(ErrorType.RATE_LIMITED, "20 concurrent requests");
 *         }
 *         return new Lease() {
 *             public void settle(UsageRecord record) { inFlight.decrementAndGet(); }
 *             public void abort() { inFlight.decrementAndGet(); }
 *         };
 *     }
 * }
 * }</pre>
 *
 * <p>Stages never block: a decision that needs a remote store is not made here but handed back as the future of
 * {@link Lease#answer}, failed with the refusal when it refuses.
 *
 * <p>A stage may also answer a call itself ({@link Lease#answer}, a cache hit): the call then goes neither upstream
 * nor through the budget, and is booked as its own call with the record its stage makes of the answer. A stage that
 * wants the answer a forwarded call's client received says so ({@link Lease#wantsAnswer}) and is handed it
 * ({@link Lease#answered}) just before {@link Lease#settle}.
 */
public interface AdmissionStage {

    /** Admits {@code call} and returns what was acquired ({@link Lease#NONE} for nothing), or throws to refuse it. */
    Lease admit(Call call);

    /**
     * What a stage knows of the call it admits.
     *
     * @param requestId the call's id
     * @param team the paying team
     * @param keyId the virtual key's id
     * @param model the model asked for
     * @param endpoint the endpoint called
     * @param inputTokensBound an upper bound of the input tokens the provider may bill
     * @param outputTokensBound an upper bound of the output tokens (cap times choices) it may bill
     * @param nowNanos {@link System#nanoTime()} at admission
     * @param stream whether the client asked for a streamed answer
     * @param headers the client's request headers (read them during {@link #admit} only)
     * @param body the client's request body as it sent it, a strict JSON object (borrowed: read it during
     *     {@link #admit} only, never retain or release it); {@code null} when not given
     * @param maxOutputTokens the largest output cap the request names ({@code max_tokens},
     *     {@code max_completion_tokens}, {@code max_output_tokens}, Gemini's {@code maxOutputTokens}), as the gateway
     *     read it from the body; {@code 0} when it names none
     */
    record Call(String requestId, String team, String keyId, String model, Endpoint endpoint, long inputTokensBound,
                long outputTokensBound, long nowNanos, boolean stream, HttpHeaders headers, ByteBuf body,
                long maxOutputTokens) {

        /** A call whose request names no output cap. */
        public Call(String requestId, String team, String keyId, String model, Endpoint endpoint,
                    long inputTokensBound, long outputTokensBound, long nowNanos, boolean stream, HttpHeaders headers,
                    ByteBuf body) {
            this(requestId, team, keyId, model, endpoint, inputTokensBound, outputTokensBound, nowNanos, stream, headers,
                    body, 0);
        }

        /** A call seen without its request's headers and body. */
        public Call(String requestId, String team, String keyId, String model, Endpoint endpoint,
                    long inputTokensBound, long outputTokensBound, long nowNanos) {
            this(requestId, team, keyId, model, endpoint, inputTokensBound, outputTokensBound, nowNanos, false, null,
                    null);
        }
    }

    /**
     * A whole answer a stage gives a call in place of the provider's.
     *
     * @param original the record of the call that first got this answer from its provider: its model, provider,
     *     usage, finish reason and cost make the record of the call answered now (which costs nothing)
     * @param contentType the response's {@code Content-Type}
     * @param body the response body, in parts written one after the other; shared, never modified
     */
    record Answer(UsageRecord original, String contentType, List<byte[]> body) {
        public Answer {
            Objects.requireNonNull(original, "original");
            Objects.requireNonNull(contentType, "contentType");
            body = List.copyOf(body);
        }

        /** The body's length in bytes. */
        public int length() {
            int n = 0;
            for (byte[] part : body) {
                n += part.length;
            }
            return n;
        }
    }

    /**
     * The answer a forwarded call's client received, whole and successful (2xx, not cut short), for a stage that
     * asked for it ({@link Lease#wantsAnswer}).
     *
     * @param streamed whether it was streamed (server-sent events)
     * @param body for an answer that was not streamed, the body the client received (translated into the client's
     *     API when the provider speaks another); {@code null} for a stream, or when it was too large to keep
     * @param streamedText for a stream, the text its events carried (the deltas joined), else {@code null}
     */
    record Delivered(boolean streamed, byte[] body, String streamedText) {
    }

    /** What one stage acquired for one call; exactly one of {@link #settle} and {@link #abort} is called, once. */
    interface Lease {
        /** Nothing acquired. */
        Lease NONE = new Lease() {
        };

        /** Adds this stage's headers to an admitted call's response (e.g. {@code x-ratelimit-*}). */
        default void decorate(HttpHeaders responseHeaders) {
        }

        /**
         * Adds this stage's headers to the request the call sends upstream (e.g. a {@code traceparent} naming the
         * gateway's span), once per call, on its event loop, after the client's headers were copied and before any
         * attempt is built; every attempt and fallback carries them. Never called for a call a stage answers itself.
         */
        default void decorateUpstream(HttpHeaders upstreamHeaders) {
        }

        /** The call ended and was booked as {@code record}. */
        default void settle(UsageRecord record) {
        }

        /** The call never went upstream: give back everything. */
        default void abort() {
        }

        /**
         * An answer this stage has for the call in place of the provider's: {@code null} (the default) to forward the
         * call as usual; else a future that completes, on any thread, with the answer to serve, or with {@code null}
         * to forward the call after all (e.g. the stage waited for an identical call in flight, whose answer it could
         * not keep), or fails with a {@link dev.tokenwise.core.error.GatewayException} to refuse the call (a decision
         * made remotely, e.g. a rate limit shared by a cluster); a failure of any other kind forwards the call. The
         * call waits for it without holding its event loop.
         */
        default CompletableFuture<Answer> answer() {
            return null;
        }

        /** {@code true} when this stage wants the answer the call's client receives ({@link #answered}). */
        default boolean wantsAnswer() {
            return false;
        }

        /**
         * The whole, successful answer the client of a forwarded call received, handed just before {@link #settle}
         * (on whatever thread settles the call), and only when {@link #wantsAnswer} said so.
         */
        default void answered(Delivered answer) {
        }

        /**
         * The call's record before it is booked, for the stage to add what it knows (e.g. its cache status); called
         * once, just before {@link #settle}, on whatever thread settles the call.
         */
        default UsageRecord amend(UsageRecord record) {
            return record;
        }
    }
}
