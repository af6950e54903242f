package dev.tokenwise.core.config;

/** An invalid configuration; the message names the key and the problem, e.g. {@code "server.port: -1 (expected: 0..65535)"}. */
public final class ConfigException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ConfigException(String message) {
        super(message);
    }

    public ConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}
