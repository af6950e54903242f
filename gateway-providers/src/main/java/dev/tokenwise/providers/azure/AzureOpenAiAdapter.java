package dev.tokenwise.providers.azure;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.spi.ProviderAdapter;
import dev.tokenwise.core.spi.ResponseObserver;
import dev.tokenwise.providers.openai.OpenAiAdapter;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;

/**
 * Azure OpenAI: the model is a deployment named in the URL,
 * {@code {base_url}/openai/deployments/{deployment}/chat/completions?api-version=...} (embeddings likewise),
 * and the key goes in the {@code api-key} header. Bodies and responses are OpenAI's, so the request rewrite
 * and the response observer are {@link OpenAiAdapter}'s; the body's {@code model} is left as the client sent it
 * because Azure takes the deployment from the path.
 *
 * <p>Streamed chat completions get {@code stream_options.include_usage} like OpenAI's, but only for API versions
 * that accept it (2024-08-01 and later, and undated ones such as {@code preview}); older versions reject the
 * field, so their streams are counted locally.
 *
 * <pre>{@code
 * ProviderAdapter azure = new AzureOpenAiAdapter(System.getenv("AZURE_OPENAI_API_KEY"), "2024-10-21");
 * azure.upstreamPath(Endpoint.CHAT_COMPLETIONS, "gpt-4o-prod");
 * // "/openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-10-21"
 * }</pre>
 */
public final class AzureOpenAiAdapter implements ProviderAdapter {
    private static final Set<Endpoint> SUPPORTED = EnumSet.of(Endpoint.CHAT_COMPLETIONS, Endpoint.EMBEDDINGS);
    private static final AsciiString API_KEY = AsciiString.cached("api-key");
    /** The first dated API version whose chat completions accept {@code stream_options}. */
    private static final String FIRST_VERSION_WITH_STREAM_USAGE = "2024-08-01";

    private final String apiKey;
    private final String apiVersionQuery;
    private final boolean streamUsage;
    private final OpenAiAdapter openAi = new OpenAiAdapter(null);

    /**
     * @param apiKey the provider key, or {@code null} to send none
     * @param apiVersion the {@code api-version} query parameter, e.g. {@code 2024-10-21}
     */
    public AzureOpenAiAdapter(String apiKey, String apiVersion) {
        Objects.requireNonNull(apiVersion, "apiVersion");
        if (apiVersion.isBlank()) {
            throw new IllegalArgumentException("apiVersion: blank (expected e.g. 2024-10-21)");
        }
        this.apiKey = apiKey == null || apiKey.isEmpty() ? null : apiKey;
        this.apiVersionQuery = "?api-version=" + URLEncoder.encode(apiVersion, StandardCharsets.UTF_8);
        this.streamUsage = acceptsStreamOptions(apiVersion);
    }

    /** {@code true} for API versions whose chat completions accept {@code stream_options}. */
    static boolean acceptsStreamOptions(String apiVersion) {
        boolean dated = apiVersion.length() >= 10 && Character.isDigit(apiVersion.charAt(0));
        return !dated || apiVersion.substring(0, 10).compareTo(FIRST_VERSION_WITH_STREAM_USAGE) >= 0;
    }

    @Override
    public boolean supports(Endpoint endpoint) {
        return SUPPORTED.contains(endpoint);
    }

    /** {@code /openai/deployments/{deployment}{suffix}?api-version=...}, the deployment percent-encoded. */
    @Override
    public String upstreamPath(Endpoint endpoint, String deployment) {
        // URLEncoder encodes for forms: a space becomes '+', which a path must carry as %20.
        String segment = URLEncoder.encode(deployment, StandardCharsets.UTF_8).replace("+", "%20");
        return "/openai/deployments/" + segment + endpoint.upstreamSuffix() + apiVersionQuery;
    }

    @Override
    public void authorize(HttpHeaders upstreamHeaders) {
        if (apiKey != null) {
            upstreamHeaders.set(API_KEY, apiKey);
        }
    }

    @Override
    public Rewrite rewrite(Endpoint endpoint, ObjectNode body, String deployment, boolean stream) {
        // Passing the body's own model leaves it untouched: Azure routes by the deployment in the path.
        return openAi.rewrite(endpoint, body, body.path("model").asText(deployment), stream && streamUsage);
    }

    @Override
    public ResponseObserver observer(Endpoint endpoint, boolean stream, Rewrite rewrite) {
        return openAi.observer(endpoint, stream, rewrite);
    }
}
