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

    public GatewayException(ErrorType type, String message) {
        this(type, message, null);
    }

    private GatewayException(ErrorType type, String message, String allow) {
        super(message, null, false, false);
        this.type = Objects.requireNonNull(type, "type");
        this.allow = allow;
    }

    /** A 405 naming the methods the resource supports (sent in the {@code Allow} header). */
    public static GatewayException methodNotAllowed(String method, String path, String allow) {
        return new GatewayException(ErrorType.METHOD_NOT_ALLOWED,
                method + " is not allowed on " + path + " (allowed: " + allow + ")", allow);
    }

    /** The methods for the {@code Allow} header of a 405, or {@code null}. */
    public String allow() {
        return allow;
    }

    public ErrorType type() {
        return type;
    }
}
