package dev.tokenwise.providers.anthropic;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.spi.ProviderAdapter;
import dev.tokenwise.core.spi.ResponseObserver;
import dev.tokenwise.providers.translate.AnthropicToChat;
import dev.tokenwise.providers.translate.TranslatedCall;
import dev.tokenwise.providers.translate.ChatToAnthropic;
import dev.tokenwise.providers.translate.OpenAiChatRequest;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;

/**
 * Anthropic's native Messages API: {@code POST {base_url}/messages} with the provider key in {@code x-api-key}.
 * Streams need no rewrite, because Anthropic always reports usage ({@code message_start} and
 * {@code message_delta}); only a renamed model changes the body.
 *
 * <p>{@link Endpoint#CHAT_COMPLETIONS} is served by translation: the OpenAI request is rewritten into a Messages
 * request ({@link ChatToAnthropic}, which refuses with 400 what cannot be translated) and the answer, JSON or SSE,
 * back into OpenAI's shape ({@link AnthropicToChat}). Usage is read from Anthropic's answer either way.
 *
 * <pre>{@code
 * ProviderAdapter anthropic = new AnthropicAdapter(System.getenv("ANTHROPIC_API_KEY"));
 * }</pre>
 */
public final class AnthropicAdapter implements ProviderAdapter {
    /** The API version sent when the client did not name one. */
    public static final String DEFAULT_API_VERSION = "2023-06-01";

    static final AsciiString X_API_KEY = AsciiString.cached("x-api-key");
    static final AsciiString ANTHROPIC_VERSION = AsciiString.cached("anthropic-version");

    private final String apiKey;

    /** @param apiKey the provider key, or {@code null} to send none (a stub in tests) */
    public AnthropicAdapter(String apiKey) {
        this.apiKey = apiKey == null || apiKey.isEmpty() ? null : apiKey;
    }

    @Override
    public boolean supports(Endpoint endpoint) {
        return endpoint == Endpoint.MESSAGES || endpoint == Endpoint.MESSAGES_COUNT_TOKENS
                || endpoint == Endpoint.CHAT_COMPLETIONS;
    }

    /** OpenAI chat completions are translated into this provider's API. */
    @Override
    public boolean translates(Endpoint endpoint) {
        return endpoint == Endpoint.CHAT_COMPLETIONS;
    }

    /** {@code /messages}, for native and translated calls alike; {@code /messages/count_tokens} for a token count. */
    @Override
    public String upstreamPath(Endpoint endpoint, String upstreamModel) {
        return endpoint == Endpoint.MESSAGES_COUNT_TOKENS ? endpoint.upstreamSuffix() : Endpoint.MESSAGES.upstreamSuffix();
    }

    /**
     * Sets {@code x-api-key}, and {@code anthropic-version} unless the client sent one (client headers other
     * than credentials are forwarded, so an SDK's own version and {@code anthropic-beta} flags reach Anthropic).
     */
    @Override
    public void authorize(HttpHeaders upstreamHeaders) {
        if (apiKey != null) {
            upstreamHeaders.set(X_API_KEY, apiKey);
        }
        if (!upstreamHeaders.contains(ANTHROPIC_VERSION)) {
            upstreamHeaders.set(ANTHROPIC_VERSION, DEFAULT_API_VERSION);
        }
    }

    /**
     * Native calls: only the model id of a renamed model. Chat completions: the whole body is translated; for a
     * stream, {@link Rewrite#usageEventInjected()} says that the client did <em>not</em> ask for the usage chunk
     * ({@code stream_options.include_usage}), which Anthropic's usage always makes available, so the observer
     * leaves it out, as for OpenAI streams whose usage the gateway asked for.
     */
    @Override
    public Rewrite rewrite(Endpoint endpoint, ObjectNode body, String upstreamModel, boolean stream) {
        if (endpoint == Endpoint.CHAT_COMPLETIONS) {
            OpenAiChatRequest chat = ChatToAnthropic.translate(body, upstreamModel);
            return new Rewrite(true, stream && !chat.includeUsage(),
                    new TranslatedCall(chat.model(), stream, ChatToAnthropic.jsonObjectMode(chat)));
        }
        if (upstreamModel.equals(body.path("model").asText())) {
            return Rewrite.UNCHANGED;
        }
        body.put("model", upstreamModel);
        return new Rewrite(true, false);
    }

    @Override
    public ResponseObserver observer(Endpoint endpoint, boolean stream, Rewrite rewrite) {
        if (endpoint != Endpoint.CHAT_COMPLETIONS) {
            return new AnthropicResponseObserver();
        }
        TranslatedCall call = TranslatedCall.of(rewrite);
        return new AnthropicResponseObserver(new AnthropicToChat(call == null ? null : call.clientModel(),
                !rewrite.usageEventInjected(), call != null && call.jsonObject()));
    }
}
