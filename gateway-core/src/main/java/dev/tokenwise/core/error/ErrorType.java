package dev.tokenwise.core.error;

/**
 * The classes of error the gateway answers with; each fixes the HTTP status and the OpenAI-style
 * {@code type} and {@code code} of the JSON body.
 */
public enum ErrorType {
    BAD_REQUEST(400, "invalid_request_error", "invalid_request"),
    INVALID_API_KEY(401, "authentication_error", "invalid_api_key"),
    BUDGET_EXCEEDED(402, "budget_exceeded", "budget_exceeded"),
    FORBIDDEN(403, "permission_error", "forbidden"),
    MODEL_NOT_ALLOWED(403, "permission_error", "model_not_allowed"),
    /** The model has no price, so no budget could hold its calls; refused unless {@code pricing.allow_unpriced}. */
    MODEL_NOT_PRICED(403, "permission_error", "model_not_priced"),
    NOT_FOUND(404, "invalid_request_error", "not_found"),
    MODEL_NOT_FOUND(404, "invalid_request_error", "model_not_found"),
    METHOD_NOT_ALLOWED(405, "invalid_request_error", "method_not_allowed"),
    REQUEST_TIMEOUT(408, "invalid_request_error", "request_timeout"),
    CONFLICT(409, "invalid_request_error", "conflict"),
    REQUEST_TOO_LARGE(413, "invalid_request_error", "request_too_large"),
    URI_TOO_LONG(414, "invalid_request_error", "uri_too_long"),
    RATE_LIMITED(429, "rate_limit_error", "rate_limited"),
    /** A gateway rate limit (requests, tokens or concurrent calls of a team, key or model); sent with {@code Retry-After}. */
    RATE_LIMIT_EXCEEDED(429, "rate_limit_exceeded", "rate_limit_exceeded"),
    HEADERS_TOO_LARGE(431, "invalid_request_error", "headers_too_large"),
    INTERNAL(500, "server_error", "internal_error"),
    UPSTREAM_FAILED(502, "upstream_error", "upstream_failed"),
    UNAVAILABLE(503, "server_error", "unavailable"),
    /** A shared budget or rate limit could not be decided (cluster mode, Redis unreachable, {@code fail_closed}). */
    BUDGET_UNAVAILABLE(503, "budget_unavailable", "budget_unavailable"),
    UPSTREAM_TIMEOUT(504, "upstream_error", "upstream_timeout");

    private final int status;
    private final String type;
    private final String code;

    ErrorType(int status, String type, String code) {
        this.status = status;
        this.type = type;
        this.code = code;
    }

    public int status() {
        return status;
    }

    public String type() {
        return type;
    }

    public String code() {
        return code;
    }
}
