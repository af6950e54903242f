package dev.tokenwise.core.model;

/** The provider-facing endpoints the gateway proxies, by the path a client calls. */
public enum Endpoint {
    CHAT_COMPLETIONS("/v1/chat/completions", "/chat/completions"),
    EMBEDDINGS("/v1/embeddings", "/embeddings"),
    RESPONSES("/v1/responses", "/responses"),
    MESSAGES("/v1/messages", "/messages");

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
        return null;
    }
}
