package dev.tokenwise.server.cli;

/** Why a subcommand stops: one line for stderr, and the exit status ({@link TokenwiseCli#USAGE} or {@link TokenwiseCli#FAILED}). */
final class CliError extends Exception {
    private static final long serialVersionUID = 1L;

    private final int status;

    private CliError(String message, int status) {
        super(message);
        this.status = status;
    }

    /** Bad arguments: the usage follows the message. */
    static CliError usage(String message) {
        return new CliError(message, TokenwiseCli.USAGE);
    }

    /** The command could not be done (the gateway is unreachable or said no). */
    static CliError failed(String message) {
        return new CliError(message, TokenwiseCli.FAILED);
    }

    int status() {
        return status;
    }
}
