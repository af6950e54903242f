package dev.tokenwise.server.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * A subcommand over the gateway's admin API: it parses the options every such command shares ({@code --url},
 * {@code --admin-key}, {@code --config}, {@code --json}, {@code --help}) and its own, finds the gateway and the key
 * ({@link AdminApi}) and reports any failure as one line on stderr with a non-zero exit status.
 */
abstract class AdminCommand implements TokenwiseCli.Command {
    static final String COMMON_HELP = """
              --url URL        the gateway (default: $TOKENWISE_URL, else http://127.0.0.1:8080)
              --admin-key KEY  the admin key (default: $TOKENWISE_ADMIN_KEY, else data/admin.key beside the gateway)
              --json           print the API's JSON instead of a table
            """;

    private final String name;
    private final Map<String, String> env;
    private final Path workDir;

    AdminCommand(String name, Map<String, String> env, Path workDir) {
        this.name = name;
        this.env = env;
        this.workDir = workDir;
    }

    /** The usage lines after {@code usage: }, without the common options. */
    abstract String usage();

    /** This subcommand's options that take a value. */
    Set<String> valued() {
        return Set.of();
    }

    /** This subcommand's options that take none. */
    Set<String> switches() {
        return Set.of();
    }

    /** Runs with parsed arguments; returns the exit status. */
    abstract int execute(CliArgs args, AdminApi api, PrintStream out) throws CliError;

    @Override
    public final int run(String[] argv, PrintStream out, PrintStream err) {
        try {
            Set<String> valued = new HashSet<>(valued());
            valued.addAll(Set.of("--url", "--admin-key", "--config"));
            Set<String> switches = new HashSet<>(switches());
            switches.addAll(Set.of("--json", "--help", "-h"));
            CliArgs args = CliArgs.parse(argv, valued, switches);
            if (args.has("--help") || args.has("-h")) {
                help(out);
                return TokenwiseCli.OK;
            }
            return execute(args, AdminApi.resolve(args, env, workDir), out);
        } catch (CliError e) {
            err.println("tokenwise " + name + ": " + e.getMessage());
            if (e.status() == TokenwiseCli.USAGE) {
                help(err);
            }
            return e.status();
        }
    }

    private void help(PrintStream to) {
        to.print("usage: " + usage().replace("\n", "\n       ").stripTrailing() + "\n");
        to.print(COMMON_HELP);
    }

    /** Prints the API's JSON as it came, when {@code --json} asks for it; returns whether it did. */
    static boolean printedJson(CliArgs args, AdminApi.Reply reply, PrintStream out) {
        if (!args.has("--json")) {
            return false;
        }
        out.println(reply.text());
        return true;
    }
}
