package dev.tokenwise.core.error;

import java.util.Objects;

/**
 * An error answered to the client. The one place that turns it into HTTP is {@link ErrorResponses}.
 * Thrown only off the hot path (request validation, local APIs); stack traces are not filled.
 */
public final class GatewayException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final ErrorType type;

    public GatewayException(ErrorType type, String message) {
        super(message, null, false, false);
        this.type = Objects.requireNonNull(type, "type");
    }

    public ErrorType type() {
        return type;
    }
}
