package dev.tokenwise.providers.gemini;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.spi.ProviderAdapter;
import dev.tokenwise.core.spi.ResponseObserver;
import dev.tokenwise.providers.translate.TranslatedCall;
import dev.tokenwise.providers.translate.ChatToGemini;
import dev.tokenwise.providers.translate.GeminiToChat;
import dev.tokenwise.providers.translate.OpenAiChatRequest;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.EnumSet;
import java.util.Set;

/**
 * Google's Gemini API: {@code POST {base_url}/models/{model}:generateContent}, and
 * {@code :streamGenerateContent?alt=sse} for streams (server-sent events, each a {@code GenerateContentResponse}),
 * with the provider key in {@code x-goog-api-key}. Native calls are forwarded unchanged (the model is in the URL);
 * an OpenAI chat completion is translated ({@link ChatToGemini} there, {@link GeminiToChat} back).
 *
 * <pre>{@code
 * ProviderAdapter gemini = new GeminiAdapter(System.getenv("GEMINI_API_KEY"));
 * gemini.upstreamPath(Endpoint.GEMINI_STREAM_GENERATE, "gemini-2.5-flash");
 * // "/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
 * }</pre>
 */
public final class GeminiAdapter implements ProviderAdapter {
    static final AsciiString X_GOOG_API_KEY = AsciiString.cached("x-goog-api-key");
    private static final Set<Endpoint> SUPPORTED = EnumSet.of(Endpoint.GEMINI_GENERATE,
            Endpoint.GEMINI_STREAM_GENERATE, Endpoint.GEMINI_EMBED, Endpoint.GEMINI_BATCH_EMBED,
            Endpoint.GEMINI_COUNT_TOKENS, Endpoint.CHAT_COMPLETIONS);
    private static final String MODELS = "models/";
    /** Streams as server-sent events; without it Gemini answers one JSON array at the end. */
    private static final String SSE = "?alt=sse";

    private final String apiKey;

    /** @param apiKey the provider key, or {@code null} to send none (a stub in tests) */
    public GeminiAdapter(String apiKey) {
        this.apiKey = apiKey == null || apiKey.isEmpty() ? null : apiKey;
    }

    @Override
    public boolean supports(Endpoint endpoint) {
        return SUPPORTED.contains(endpoint);
    }

    /** OpenAI chat completions are translated into this provider's API. */
    @Override
    public boolean translates(Endpoint endpoint) {
        return endpoint == Endpoint.CHAT_COMPLETIONS;
    }

    /**
     * {@code /models/{model}:generateContent}, or {@code :streamGenerateContent?alt=sse} for the native stream
     * endpoint and for a translated chat completion that streams (known from the call's rewrite, its
     * {@link TranslatedCall}; without one, a chat completion does not stream); the model id is percent-encoded.
     */
    @Override
    public String upstreamPath(Endpoint endpoint, String upstreamModel, Rewrite rewrite) {
        boolean stream = endpoint == Endpoint.GEMINI_STREAM_GENERATE;
        if (endpoint == Endpoint.CHAT_COMPLETIONS) {
            TranslatedCall call = TranslatedCall.of(rewrite);
            stream = call != null && call.stream();
        }
        // URLEncoder encodes for forms: a space becomes '+', which a path must carry as %20.
        String model = URLEncoder.encode(upstreamModel, StandardCharsets.UTF_8).replace("+", "%20");
        if (endpoint == Endpoint.GEMINI_EMBED || endpoint == Endpoint.GEMINI_BATCH_EMBED
                || endpoint == Endpoint.GEMINI_COUNT_TOKENS) {
            return "/models/" + model + endpoint.upstreamSuffix();
        }
        return "/models/" + model + (stream ? Endpoint.GEMINI_STREAM_GENERATE.upstreamSuffix() + SSE
                : Endpoint.GEMINI_GENERATE.upstreamSuffix());
    }

    /** The path of a call without its rewrite: a chat completion's non-streaming URL. */
    @Override
    public String upstreamPath(Endpoint endpoint, String upstreamModel) {
        return upstreamPath(endpoint, upstreamModel, Rewrite.UNCHANGED);
    }

    @Override
    public void authorize(HttpHeaders upstreamHeaders) {
        if (apiKey != null) {
            upstreamHeaders.set(X_GOOG_API_KEY, apiKey);
        }
    }

    /**
     * Native calls: nothing (the model is in the URL, and Gemini reports usage in every stream), except the
     * {@code model} each request of a {@code batchEmbedContents} names, which must be the upstream model's. Chat
     * completions: the whole body is translated; for a stream, {@link Rewrite#usageEventInjected()} says that the
     * client did <em>not</em> ask for the usage chunk, so the observer leaves it out.
     */
    @Override
    public Rewrite rewrite(Endpoint endpoint, ObjectNode body, String upstreamModel, boolean stream) {
        if (endpoint == Endpoint.GEMINI_BATCH_EMBED) {
            boolean changed = false;
            for (JsonNode request : body.path("requests")) {
                if (request instanceof ObjectNode r && r.has("model")
                        && !(MODELS + upstreamModel).equals(r.path("model").asText())) {
                    r.put("model", MODELS + upstreamModel);
                    changed = true;
                }
            }
            return changed ? new Rewrite(true, false) : Rewrite.UNCHANGED;
        }
        if (endpoint != Endpoint.CHAT_COMPLETIONS) {
            return Rewrite.UNCHANGED;
        }
        OpenAiChatRequest chat = ChatToGemini.translate(body);
        return new Rewrite(true, stream && !chat.includeUsage(), new TranslatedCall(chat.model(), stream, false));
    }

    @Override
    public ResponseObserver observer(Endpoint endpoint, boolean stream, Rewrite rewrite) {
        if (endpoint != Endpoint.CHAT_COMPLETIONS) {
            return new GeminiResponseObserver();
        }
        TranslatedCall call = TranslatedCall.of(rewrite);
        return new GeminiResponseObserver(new GeminiToChat(call == null ? null : call.clientModel(),
                !rewrite.usageEventInjected()));
    }
}
