package dev.tokenwise.core.spi;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenwise.core.model.Endpoint;
import io.netty.handler.codec.http.HttpHeaders;

/**
 * What one kind of provider speaks: where a call goes, how it is authorised, how the body is
 * rewritten and how usage is read back. Adapters are stateless and shared by all event loops.
 *
 * <p>What an adapter learns about one call as it rewrites the request (the client's name for the model, whether the
 * call streams) travels with the call: {@link #rewrite} returns it as the {@link Rewrite}'s {@link Rewrite#plan()},
 * and the gateway hands that same {@link Rewrite} to {@link #upstreamPath(Endpoint, String, Rewrite)} and
 * {@link #observer} for that call, and to no other. Nothing is kept between the calls, on the adapter or its thread.
 */
public interface ProviderAdapter {

    /** {@code true} when this adapter serves {@code endpoint}. */
    boolean supports(Endpoint endpoint);

    /**
     * {@code true} when calls to {@code endpoint} are translated into another API by {@link #rewrite}:
     * the gateway then counts the client's body as it was, not the translation.
     */
    default boolean translates(Endpoint endpoint) {
        return false;
    }

    /** The path (and query) to call below the provider's base URL path, e.g. {@code /chat/completions}. */
    String upstreamPath(Endpoint endpoint, String upstreamModel);

    /**
     * The path of one call whose request {@link #rewrite} returned {@code rewrite}: an adapter whose path depends on
     * what the rewrite learned (Gemini streams on another URL) overrides this one.
     */
    default String upstreamPath(Endpoint endpoint, String upstreamModel, Rewrite rewrite) {
        return upstreamPath(endpoint, upstreamModel);
    }

    /** Adds the provider's credentials to the upstream request headers. */
    void authorize(HttpHeaders upstreamHeaders);

    /**
     * Rewrites the request body in place where the provider needs it, e.g. the upstream model id, or
     * {@code stream_options.include_usage} for OpenAI streams.
     *
     * @return what was changed; {@link Rewrite#UNCHANGED} lets the gateway forward the original bytes
     */
    Rewrite rewrite(Endpoint endpoint, ObjectNode body, String upstreamModel, boolean stream);

    /** A fresh observer for one response, to the call whose request {@link #rewrite} returned {@code rewrite}. */
    ResponseObserver observer(Endpoint endpoint, boolean stream, Rewrite rewrite);

    /**
     * What {@link #rewrite} did, and what it learned about the call: the call's context for the adapter, handed back
     * to it with this call's path and observer.
     *
     * @param bodyChanged the body must be re-serialised
     * @param usageEventInjected the gateway asked for a usage event the client did not ask for; the
     *     observer drops it from what the client sees
     * @param plan the adapter's own facts about the call (immutable; the gateway never reads it), or {@code null}
     */
    record Rewrite(boolean bodyChanged, boolean usageEventInjected, Object plan) {
        public static final Rewrite UNCHANGED = new Rewrite(false, false);

        /** A rewrite without a plan. */
        public Rewrite(boolean bodyChanged, boolean usageEventInjected) {
            this(bodyChanged, usageEventInjected, null);
        }

        /** The plan, when it is a {@code type}; else {@code null} (e.g. a call driven without a rewrite). */
        public <T> T plan(Class<T> type) {
            return type.isInstance(plan) ? type.cast(plan) : null;
        }
    }
}
