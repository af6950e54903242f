package dev.tokenwise.providers.simulator;

/**
 * A request the simulator refuses with {@code 400}, carrying the fields of OpenAI's error object.
 * Stackless: it describes the client's input, not a fault in the server.
 */
final class InvalidRequestException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String param;
    private final String code;

    InvalidRequestException(String message, String param, String code) {
        super(message, null, false, false);
        this.param = param;
        this.code = code;
    }

    /** The offending parameter, or {@code null}. */
    String param() {
        return param;
    }

    /** OpenAI's machine-readable code, or {@code null}. */
    String code() {
        return code;
    }

    static InvalidRequestException missing(String param) {
        return new InvalidRequestException("Missing required parameter: '" + param + "'.", param,
                "missing_required_parameter");
    }

    static InvalidRequestException invalidType(String param, String expected) {
        return new InvalidRequestException("Invalid type for '" + param + "': expected " + expected + ".", param,
                "invalid_type");
    }

    static InvalidRequestException invalidValue(String param, String problem) {
        return new InvalidRequestException("Invalid '" + param + "': " + problem + ".", param, "invalid_value");
    }
}
