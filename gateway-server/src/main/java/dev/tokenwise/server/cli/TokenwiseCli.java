package dev.tokenwise.server.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code bin/tokenwise SUBCOMMAND [OPTIONS]}: the gateway's commands, run beside (or without) a running gateway. Each subcommand is a {@link Command}; add one to {@link #commands} to offer it.
 *
 * <pre>{@code
 * bin/tokenwise --help
 * bin/tokenwise teams create research --budget 50 --period monthly
 * bin/tokenwise keys create research --name research-ci
 * bin/tokenwise tail
 * bin/tokenwise reprice --from 2026-11-01 --to 2026-11-30 [--apply] [--config config/gateway.yaml]
 * bin/tokenwise eval --models sim-small,sim-large --tasks 200
 * }</pre>
 *
 * The admin subcommands ({@code teams}, {@code keys}, {@code budget}, {@code usage}, {@code alerts}, {@code tail})
 * talk to a running gateway's API with the admin key ({@link AdminApi}); see {@code docs/cli.md}.
 *
 * <p>Exit status: 0 on success, 1 when the command failed, 2 for a usage error (unknown subcommand or option).
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

    /** The subcommands, for a process with environment {@code env} run in {@code workDir}. */
    private static Map<String, Command> commands(Map<String, String> env, Path workDir) {
        Map<String, Command> commands = new LinkedHashMap<>();
        commands.put("teams", new TeamsCommand(env, workDir));
        commands.put("keys", new KeysCommand(env, workDir));
        commands.put("budget", new BudgetCommand(env, workDir));
        commands.put("usage", new UsageCommand(env, workDir));
        commands.put("alerts", new AlertsCommand(env, workDir));
        commands.put("tail", new TailCommand(env, workDir));
        commands.put("reprice", new RepriceCommand());
        commands.put("eval", new EvalCommand());
        return commands;
    }

    private TokenwiseCli() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs {@code args} ({@code SUBCOMMAND [OPTIONS]}); returns the exit status. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        return run(args, System.getenv(), Path.of("").toAbsolutePath(), out, err);
    }

    /**
     * Runs {@code args} as a process with environment {@code env} (for {@code TOKENWISE_URL},
     * {@code TOKENWISE_ADMIN_KEY}) whose working directory is {@code workDir} (for {@code data/admin.key}).
     */
    public static int run(String[] args, Map<String, String> env, Path workDir, PrintStream out, PrintStream err) {
        Map<String, Command> commands = commands(env, workDir);
        if (args.length == 0 || "--help".equals(args[0]) || "-h".equals(args[0]) || "help".equals(args[0])) {
            usage(commands, args.length == 0 ? err : out);
            return args.length == 0 ? USAGE : OK;
        }
        Command command = commands.get(args[0]);
        if (command == null) {
            err.println("tokenwise: unknown command: " + args[0]);
            usage(commands, err);
            return USAGE;
        }
        return command.run(Arrays.copyOfRange(args, 1, args.length), out, err);
    }

    private static void usage(Map<String, Command> commands, PrintStream to) {
        to.println("usage: tokenwise COMMAND [OPTIONS]   (tokenwise COMMAND --help for its options)");
        to.println();
        to.println("commands:");
        commands.forEach((name, command) -> to.printf("  %-10s %s%n", name, command.summary()));
    }
}
