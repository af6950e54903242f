package dev.tokenwise.core.model;

/** The provider-facing endpoints the gateway proxies, by the path a client calls. */
public enum Endpoint {
    CHAT_COMPLETIONS("/v1/chat/completions", "/chat/completions"),
    EMBEDDINGS("/v1/embeddings", "/embeddings"),
    RESPONSES("/v1/responses", "/responses"),
    MESSAGES("/v1/messages", "/messages"),
    /** Anthropic's {@code POST /v1/messages/count_tokens}: free upstream, so never billed. */
    MESSAGES_COUNT_TOKENS("/v1/messages/count_tokens", "/messages/count_tokens"),
    /** Gemini's {@code POST /v1beta/models/{model}:generateContent}; the model is in the path. */
    GEMINI_GENERATE("/v1beta/models/{model}:generateContent", ":generateContent"),
    /** Gemini's {@code POST /v1beta/models/{model}:streamGenerateContent} (SSE with {@code ?alt=sse}). */
    GEMINI_STREAM_GENERATE("/v1beta/models/{model}:streamGenerateContent", ":streamGenerateContent"),
    /** Gemini's {@code POST /v1beta/models/{model}:embedContent}: one embedding. */
    GEMINI_EMBED("/v1beta/models/{model}:embedContent", ":embedContent"),
    /** Gemini's {@code POST /v1beta/models/{model}:batchEmbedContents} (what {@code @google/genai} calls). */
    GEMINI_BATCH_EMBED("/v1beta/models/{model}:batchEmbedContents", ":batchEmbedContents"),
    /** Gemini's {@code POST /v1beta/models/{model}:countTokens}: free upstream, so never billed. */
    GEMINI_COUNT_TOKENS("/v1beta/models/{model}:countTokens", ":countTokens");

    private static final String GEMINI_PREFIX = "/v1beta/models/";
    private static final Endpoint[] GEMINI = {GEMINI_GENERATE, GEMINI_STREAM_GENERATE, GEMINI_EMBED, GEMINI_BATCH_EMBED,
            GEMINI_COUNT_TOKENS};

    private final String clientPath;
    private final String upstreamSuffix;

    Endpoint(String clientPath, String upstreamSuffix) {
        this.clientPath = clientPath;
        this.upstreamSuffix = upstreamSuffix;
    }

    /** The path clients call, e.g. {@code /v1/chat/completions}. */
    public String clientPath() {
        return clientPath;
    }

    /** The path below a provider's base URL, e.g. {@code /chat/completions}. */
    public String upstreamSuffix() {
        return upstreamSuffix;
    }

    /** The endpoint a client path names, or {@code null}. */
    public static Endpoint ofPath(String path) {
        for (Endpoint e : values()) {
            if (e.clientPath.equals(path)) {
                return e;
            }
        }
        if (path.startsWith(GEMINI_PREFIX)) {
            for (Endpoint e : GEMINI) {
                if (path.endsWith(e.upstreamSuffix)) {
                    return e;
                }
            }
        }
        return null;
    }

    /** {@code true} for endpoints that name the model in the path rather than in the body (Gemini's). */
    public boolean modelInPath() {
        return clientPath.startsWith(GEMINI_PREFIX);
    }

    /** {@code true} for endpoints whose answer is always a stream, whatever the body says. */
    public boolean alwaysStreams() {
        return this == GEMINI_STREAM_GENERATE;
    }

    /**
     * {@code false} for endpoints the provider does not bill (token counting): their calls reserve nothing, need no
     * price, are recorded at cost 0 and do not count the request locally.
     */
    public boolean billed() {
        return this != MESSAGES_COUNT_TOKENS && this != GEMINI_COUNT_TOKENS;
    }

    /** The model named in a path of an endpoint that has one ({@link #modelInPath}), or {@code null}. */
    public String modelOf(String path) {
        if (!modelInPath() || !path.startsWith(GEMINI_PREFIX) || !path.endsWith(upstreamSuffix)) {
            return null;
        }
        String model = path.substring(GEMINI_PREFIX.length(), path.length() - upstreamSuffix.length());
        return model.isEmpty() || model.indexOf('/') >= 0 ? null
                : java.net.URLDecoder.decode(model, java.nio.charset.StandardCharsets.UTF_8);
    }
}
