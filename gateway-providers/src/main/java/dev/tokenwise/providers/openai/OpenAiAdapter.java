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

    /** OpenAI's own API: honours {@code max_completion_tokens} (and refuses {@code max_tokens} for reasoning models). */
    public static final String MAX_COMPLETION_TOKENS = "max_completion_tokens";
    /** What OpenAI-compatible servers (vLLM, Ollama, DeepSeek, Mistral, …) honour; some ignore the other field. */
    public static final String MAX_TOKENS = "max_tokens";
    private static final String[] CHAT_CAPS = {MAX_COMPLETION_TOKENS, MAX_TOKENS};

    private final String bearer;
    private final String chatCapField;

    /** An adapter for an OpenAI-compatible server, which is sent {@value #MAX_TOKENS}. */
    public OpenAiAdapter(String apiKey) {
        this(apiKey, MAX_TOKENS);
    }

    /**
     * @param apiKey the provider key, or {@code null} for providers that need none (local servers, the simulator)
     * @param chatCapField the one output-cap field of a chat call the provider honours: a chat body naming any
     *     other is sent only this one, holding the largest cap named (what the gateway reserved for)
     */
    public OpenAiAdapter(String apiKey, String chatCapField) {
        this.bearer = apiKey == null || apiKey.isEmpty() ? null : "Bearer " + apiKey;
        this.chatCapField = chatCapField;
    }

    /** The output-cap field a chat call to the OpenAI-compatible API at {@code host} is sent. */
    public static String chatCapFieldFor(String host) {
        return "api.openai.com".equalsIgnoreCase(host) ? MAX_COMPLETION_TOKENS : MAX_TOKENS;
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
        if (endpoint == Endpoint.CHAT_COMPLETIONS) {
            changed |= keepOnlyCapField(body, chatCapField);
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

    /**
     * Leaves {@code field} as the body's only output cap, holding the largest cap the body named; {@code true}
     * when the body changed. A body naming only {@code field}, or no cap, is left as it is.
     */
    static boolean keepOnlyCapField(ObjectNode body, String field) {
        long largest = 0;
        boolean other = false;
        for (String name : CHAT_CAPS) {
            JsonNode node = body.get(name);
            if (node == null || node.isNull()) {
                continue;
            }
            if (!node.isIntegralNumber() || !node.canConvertToLong()) {
                return false; // refused before it gets here; left for the provider to refuse otherwise
            }
            largest = Math.max(largest, node.longValue());
            other |= !name.equals(field);
        }
        if (!other) {
            return false;
        }
        for (String name : CHAT_CAPS) {
            body.remove(name);
        }
        body.put(field, largest);
        return true;
    }

    @Override
    public ResponseObserver observer(Endpoint endpoint, boolean stream, Rewrite rewrite) {
        return new OpenAiResponseObserver(rewrite.usageEventInjected());
    }
}
