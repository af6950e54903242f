package dev.tokenwise.server.cli;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code bin/tokenwise SUBCOMMAND [OPTIONS]}: the gateway's commands, run beside (or without) a running gateway. Each subcommand is a {@link Command}; add one to {@link #COMMANDS} to offer it.
 *
 * <pre>{@code
 * bin/tokenwise --help
 * bin/tokenwise reprice --from 2026-11-01 --to 2026-11-30 [--apply] [--config config/gateway.yaml]
 * bin/tokenwise eval --models sim-small,sim-large --tasks 200
 * }</pre>
 *
 * Exit status: 0 on success, 1 when the command failed, 2 for a usage error (unknown subcommand or option).
 */
public final class TokenwiseCli {

    /** One subcommand. */
    interface Command {
        /** One line for {@code --help}. */
        String summary();

        /** Runs with the arguments after the subcommand's name; returns the exit status. */
        int run(String[] args, PrintStream out, PrintStream err);
    }

    static final int OK = 0;
    static final int FAILED = 1;
    static final int USAGE = 2;

    private static final Map<String, Command> COMMANDS = new LinkedHashMap<>();

    static {
        COMMANDS.put("reprice", new RepriceCommand());
        COMMANDS.put("eval", new EvalCommand());
    }

    private TokenwiseCli() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs {@code args} ({@code SUBCOMMAND [OPTIONS]}); returns the exit status. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0 || "--help".equals(args[0]) || "-h".equals(args[0]) || "help".equals(args[0])) {
            usage(args.length == 0 ? err : out);
            return args.length == 0 ? USAGE : OK;
        }
        Command command = COMMANDS.get(args[0]);
        if (command == null) {
            err.println("tokenwise: unknown command: " + args[0]);
            usage(err);
            return USAGE;
        }
        return command.run(Arrays.copyOfRange(args, 1, args.length), out, err);
    }

    private static void usage(PrintStream to) {
        to.println("usage: tokenwise COMMAND [OPTIONS]   (tokenwise COMMAND --help for its options)");
        to.println();
        to.println("commands:");
        COMMANDS.forEach((name, command) -> to.printf("  %-10s %s%n", name, command.summary()));
    }
}
