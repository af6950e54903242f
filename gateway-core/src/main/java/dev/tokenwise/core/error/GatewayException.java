package dev.tokenwise.core.error;

import java.util.Objects;

/**
 * An error answered to the client. The one place that turns it into HTTP is {@link ErrorResponses}.
 * Thrown only off the hot path (request validation, local APIs); stack traces are not filled.
 */
public final class GatewayException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final ErrorType type;
    private final String allow;
    private final long retryAfterSeconds;

    public GatewayException(ErrorType type, String message) {
        this(type, message, null, 0);
    }

    private GatewayException(ErrorType type, String message, String allow, long retryAfterSeconds) {
        super(message, null, false, false);
        this.type = Objects.requireNonNull(type, "type");
        this.allow = allow;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    /** A 429 {@code rate_limit_exceeded} telling the client to wait {@code retryAfterSeconds} ({@code Retry-After}). */
    public static GatewayException rateLimited(String message, long retryAfterSeconds) {
        return new GatewayException(ErrorType.RATE_LIMIT_EXCEEDED, message, null, Math.max(1, retryAfterSeconds));
    }

    /** The whole seconds for the {@code Retry-After} header, {@code 0} when none. */
    public long retryAfterSeconds() {
        return retryAfterSeconds;
    }

    /** A 405 naming the methods the resource supports (sent in the {@code Allow} header). */
    public static GatewayException methodNotAllowed(String method, String path, String allow) {
        return new GatewayException(ErrorType.METHOD_NOT_ALLOWED,
                method + " is not allowed on " + path + " (allowed: " + allow + ")", allow, 0);
    }

    /** The methods for the {@code Allow} header of a 405, or {@code null}. */
    public String allow() {
        return allow;
    }

    public ErrorType type() {
        return type;
    }
}
