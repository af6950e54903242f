package dev.tokenwise.core.spi;

import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.UsageRecord;
import io.netty.handler.codec.http.HttpHeaders;

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
 * <p>Stages never block: a decision that needs a remote store is not made here (or is made from a local slice).
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
     */
    record Call(String requestId, String team, String keyId, String model, Endpoint endpoint, long inputTokensBound,
                long outputTokensBound, long nowNanos) {
    }

    /** What one stage acquired for one call; exactly one of {@link #settle} and {@link #abort} is called, once. */
    interface Lease {
        /** Nothing acquired. */
        Lease NONE = new Lease() {
        };

        /** Adds this stage's headers to an admitted call's response (e.g. {@code x-ratelimit-*}). */
        default void decorate(HttpHeaders responseHeaders) {
        }

        /** The call ended and was booked as {@code record}. */
        default void settle(UsageRecord record) {
        }

        /** The call never went upstream: give back everything. */
        default void abort() {
        }
    }
}
