package dev.tokenwise.server.cli;

import java.io.PrintStream;
import java.util.Arrays;

/**
 * {@code bin/tokenwise <command> [options]}: dispatches to one class per subcommand, each with its own
 * {@code --help}. Exit status: 0 done, 1 failed, 2 bad input, 3 stopped early (see each command).
 */
public final class TokenwiseCli {
    static final String USAGE = """
            usage: tokenwise <command> [options]

            commands:
              eval    grade models on a task suite through the gateway (tokenwise eval --help)

            tokenwise <command> --help shows a command's options.""";

    private TokenwiseCli() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs a command as {@link #main} does, printing to {@code out} and {@code err}; returns the exit status. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0) {
            err.println(USAGE);
            return 2;
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        return switch (args[0]) {
            case "--help", "-h", "help" -> {
                out.println(USAGE);
                yield 0;
            }
            case "eval" -> new EvalCommand(out, err, System.console() != null).run(rest);
            default -> {
                err.println("tokenwise: unknown command '" + args[0] + "' (expected: eval; see tokenwise --help)");
                yield 2;
            }
        };
    }
}
