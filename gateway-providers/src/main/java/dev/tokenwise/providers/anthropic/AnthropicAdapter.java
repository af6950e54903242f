package dev.tokenwise.providers.anthropic;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.spi.ProviderAdapter;
import dev.tokenwise.core.spi.ResponseObserver;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;

/**
 * Anthropic's native Messages API: {@code POST {base_url}/messages} with the provider key in {@code x-api-key}.
 * Streams need no rewrite, because Anthropic always reports usage ({@code message_start} and
 * {@code message_delta}); only a renamed model changes the body.
 *
 * <p>Only {@link Endpoint#MESSAGES} is served: an OpenAI-style chat completion for an Anthropic model needs
 * translation, which this adapter does not do, so the gateway answers it with 400.
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
        return endpoint == Endpoint.MESSAGES;
    }

    @Override
    public String upstreamPath(Endpoint endpoint, String upstreamModel) {
        return endpoint.upstreamSuffix();
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

    @Override
    public Rewrite rewrite(Endpoint endpoint, ObjectNode body, String upstreamModel, boolean stream) {
        if (upstreamModel.equals(body.path("model").asText())) {
            return Rewrite.UNCHANGED;
        }
        body.put("model", upstreamModel);
        return new Rewrite(true, false);
    }

    @Override
    public ResponseObserver observer(Endpoint endpoint, boolean stream, Rewrite rewrite) {
        return new AnthropicResponseObserver();
    }
}
