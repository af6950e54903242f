package dev.tokenwise.eval;

/** A suite that cannot be read or a task that is not valid; the message names the file and line. */
public final class SuiteException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public SuiteException(String message) {
        super(message);
    }

    public SuiteException(String message, Throwable cause) {
        super(message, cause);
    }
}
