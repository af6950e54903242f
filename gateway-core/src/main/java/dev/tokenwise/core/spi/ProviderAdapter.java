package dev.tokenwise.core.spi;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenwise.core.model.Endpoint;
import io.netty.handler.codec.http.HttpHeaders;

/**
 * What one kind of provider speaks: where a call goes, how it is authorised, how the body is
 * rewritten and how usage is read back. Adapters are stateless and shared by all event loops.
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

    /** Adds the provider's credentials to the upstream request headers. */
    void authorize(HttpHeaders upstreamHeaders);

    /**
     * Rewrites the request body in place where the provider needs it, e.g. the upstream model id, or
     * {@code stream_options.include_usage} for OpenAI streams.
     *
     * @return what was changed; {@link Rewrite#UNCHANGED} lets the gateway forward the original bytes
     */
    Rewrite rewrite(Endpoint endpoint, ObjectNode body, String upstreamModel, boolean stream);

    /** A fresh observer for one response. */
    ResponseObserver observer(Endpoint endpoint, boolean stream, Rewrite rewrite);

    /**
     * What {@link #rewrite} did.
     *
     * @param bodyChanged the body must be re-serialised
     * @param usageEventInjected the gateway asked for a usage event the client did not ask for; the
     *     observer drops it from what the client sees
     */
    record Rewrite(boolean bodyChanged, boolean usageEventInjected) {
        public static final Rewrite UNCHANGED = new Rewrite(false, false);
    }
}
