package dev.tokenwise.core.error;

/**
 * The JSON shape of the gateway's own errors, chosen by the route a client called, so that each client library
 * reads the message it expects:
 *
 * <ul>
 *   <li>{@link #OPENAI}: {@code {"error":{"message","type","code"}}}, on every route but the two below;</li>
 *   <li>{@link #ANTHROPIC}: {@code {"type":"error","error":{"type","message","code"}}} on {@code /v1/messages} and
 *       {@code /v1/messages/count_tokens}, with Anthropic's error type for the status ({@code authentication_error},
 *       {@code billing_error}, ...);</li>
 *   <li>{@link #GOOGLE}: {@code {"error":{"code","message","status","details"}}} on Gemini's {@code /v1beta/} routes,
 *       with the HTTP status as {@code code}, Google's canonical {@code status} and our code as the {@code reason}
 *       of a {@code google.rpc.ErrorInfo}.</li>
 * </ul>
 *
 * <pre>{@code
 * ErrorShape.forPath("/v1/messages");   // ANTHROPIC
 * }</pre>
 */
public enum ErrorShape {
    OPENAI,
    ANTHROPIC,
    GOOGLE;

    /** The shape of errors on {@code path} (without its query). */
    public static ErrorShape forPath(String path) {
        if (path == null) {
            return OPENAI;
        }
        if (path.equals("/v1/messages") || path.startsWith("/v1/messages/")) {
            return ANTHROPIC;
        }
        if (path.startsWith("/v1beta/")) {
            return GOOGLE;
        }
        return OPENAI;
    }

    /** Anthropic's error {@code type} for an HTTP status (its documented list, and the closest for ours). */
    static String anthropicType(int status) {
        return switch (status) {
            case 401 -> "authentication_error";
            case 402 -> "billing_error";
            case 403 -> "permission_error";
            case 404 -> "not_found_error";
            case 408, 504 -> "timeout_error";
            case 413 -> "request_too_large";
            case 429 -> "rate_limit_error";
            case 503, 529 -> "overloaded_error";
            default -> status >= 500 ? "api_error" : "invalid_request_error";
        };
    }

    /** Google's canonical status name for an HTTP status ({@code google.rpc.Code}). */
    static String googleStatus(int status) {
        return switch (status) {
            case 401 -> "UNAUTHENTICATED";
            case 402, 429 -> "RESOURCE_EXHAUSTED";
            case 403 -> "PERMISSION_DENIED";
            case 404 -> "NOT_FOUND";
            case 408, 504 -> "DEADLINE_EXCEEDED";
            case 409 -> "ABORTED";
            case 502, 503 -> "UNAVAILABLE";
            default -> status >= 500 ? "INTERNAL" : "INVALID_ARGUMENT";
        };
    }
}
