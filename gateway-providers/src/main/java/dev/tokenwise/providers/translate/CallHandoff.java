package dev.tokenwise.providers.translate;

/**
 * Hands what a translating adapter's {@code rewrite} learned about a call to the same adapter's
 * {@code upstreamPath} and {@code observer} for that call, which the SPI does not give it: the client's name for the
 * model (named in the translated answer) and whether the call streams (Gemini streams on another URL).
 *
 * <p>Implementation note: the proxy calls {@code rewrite}, then {@code upstreamPath}, then {@code observer} for one
 * call synchronously on one event-loop thread, with no other call's adapter methods in between
 * ({@code ClientFrontendHandler.startCall}; {@code UpstreamRequests.forFallback} followed by
 * {@code ProxyCall.nextDeployment} for a fallback). So a thread-local slot, set by {@code rewrite} and taken by
 * {@code observer}, carries the call's facts without any lock. A slot left behind (a call refused between rewrite
 * and forwarding, e.g. by its budget) is overwritten by the next translating rewrite before anyone reads it, and
 * native rewrites {@link #clear} it. Readers check the upstream model, and fall back to safe defaults (the provider's
 * model name, the non-streaming URL) when the slot is empty, as it is when an adapter is driven directly in tests.
 * A per-call context in the SPI would make this unnecessary.
 */
public final class CallHandoff {
    /**
     * What {@code rewrite} knew: the client's model name, the upstream model id, whether the call streams, and
     * whether it asked for a JSON object answered through a tool ({@code ChatToAnthropic.JSON_TOOL}).
     */
    public record Call(String clientModel, String upstreamModel, boolean stream, boolean jsonObject) {
        public Call(String clientModel, String upstreamModel, boolean stream) {
            this(clientModel, upstreamModel, stream, false);
        }
    }

    private static final ThreadLocal<Call> PENDING = new ThreadLocal<>();

    private CallHandoff() {
    }

    /** Called at the end of a translating {@code rewrite}. */
    public static void offer(Call call) {
        PENDING.set(call);
    }

    /** The pending call for {@code upstreamModel}, left in place; {@code null} if there is none. */
    public static Call peek(String upstreamModel) {
        Call call = PENDING.get();
        return call != null && call.upstreamModel().equals(upstreamModel) ? call : null;
    }

    /** The pending call, removed; {@code null} if there is none. */
    public static Call take() {
        Call call = PENDING.get();
        PENDING.remove();
        return call;
    }

    /** Forgets any pending call (a rewrite that does not translate). */
    public static void clear() {
        PENDING.remove();
    }
}
