package dev.tokenwise.core.model;

/** The provider-facing endpoints the gateway proxies, by the path a client calls. */
public enum Endpoint {
    CHAT_COMPLETIONS("/v1/chat/completions", "/chat/completions"),
    EMBEDDINGS("/v1/embeddings", "/embeddings"),
    RESPONSES("/v1/responses", "/responses"),
    MESSAGES("/v1/messages", "/messages"),
    /** Gemini's {@code POST /v1beta/models/{model}:generateContent}; the model is in the path. */
    GEMINI_GENERATE("/v1beta/models/{model}:generateContent", ":generateContent"),
    /** Gemini's {@code POST /v1beta/models/{model}:streamGenerateContent} (SSE with {@code ?alt=sse}). */
    GEMINI_STREAM_GENERATE("/v1beta/models/{model}:streamGenerateContent", ":streamGenerateContent");

    private static final String GEMINI_PREFIX = "/v1beta/models/";

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
            if (path.endsWith(GEMINI_STREAM_GENERATE.upstreamSuffix)) {
                return GEMINI_STREAM_GENERATE;
            }
            if (path.endsWith(GEMINI_GENERATE.upstreamSuffix)) {
                return GEMINI_GENERATE;
            }
        }
        return null;
    }

    /** {@code true} for endpoints that name the model in the path rather than in the body. */
    public boolean modelInPath() {
        return this == GEMINI_GENERATE || this == GEMINI_STREAM_GENERATE;
    }

    /** {@code true} for endpoints whose answer is always a stream, whatever the body says. */
    public boolean alwaysStreams() {
        return this == GEMINI_STREAM_GENERATE;
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
