package dev.tokenwise.server.admin;

import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;

/** The errors of the admin API that the core's {@link ErrorType}s do not name directly. */
final class AdminErrors {
    private AdminErrors() {
    }

    /** A name that is already taken: 409. */
    static GatewayException conflict(String message) {
        return new GatewayException(ErrorType.CONFLICT, message);
    }
}
