package dev.tokenwise.providers.openai;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.spi.ProviderAdapter;
import dev.tokenwise.core.spi.ResponseObserver;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import java.util.EnumSet;
import java.util.Set;

/**
 * OpenAI and every OpenAI-compatible provider (and the built-in simulator): chat completions,
 * embeddings and responses. Streams of chat completions get {@code stream_options.include_usage}
 * so the provider reports usage; when the client did not ask for it, the usage chunk is dropped
 * again on the way back.
 */
public final class OpenAiAdapter implements ProviderAdapter {
    private static final Set<Endpoint> SUPPORTED = EnumSet.of(Endpoint.CHAT_COMPLETIONS, Endpoint.EMBEDDINGS,
            Endpoint.RESPONSES);

    private final String bearer;

    /** @param apiKey the provider key, or {@code null} for providers that need none (local servers, the simulator) */
    public OpenAiAdapter(String apiKey) {
        this.bearer = apiKey == null || apiKey.isEmpty() ? null : "Bearer " + apiKey;
    }

    @Override
    public boolean supports(Endpoint endpoint) {
        return SUPPORTED.contains(endpoint);
    }

    @Override
    public String upstreamPath(Endpoint endpoint, String upstreamModel) {
        return endpoint.upstreamSuffix();
    }

    @Override
    public void authorize(HttpHeaders upstreamHeaders) {
        if (bearer != null) {
            upstreamHeaders.set(HttpHeaderNames.AUTHORIZATION, bearer);
        }
    }

    @Override
    public Rewrite rewrite(Endpoint endpoint, ObjectNode body, String upstreamModel, boolean stream) {
        boolean changed = false;
        if (!upstreamModel.equals(body.path("model").asText())) {
            body.put("model", upstreamModel);
            changed = true;
        }
        boolean injected = false;
        if (endpoint == Endpoint.CHAT_COMPLETIONS && stream) {
            JsonNode options = body.get("stream_options");
            if (options == null || options.isNull()) {
                body.putObject("stream_options").put("include_usage", true);
                injected = true;
            } else if (options instanceof ObjectNode object && !object.path("include_usage").asBoolean(false)) {
                object.put("include_usage", true);
                injected = true;
            }
            changed |= injected;
        }
        return changed ? new Rewrite(true, injected) : Rewrite.UNCHANGED;
    }

    @Override
    public ResponseObserver observer(Endpoint endpoint, boolean stream, Rewrite rewrite) {
        return new OpenAiResponseObserver(rewrite.usageEventInjected());
    }
}
