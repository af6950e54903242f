package dev.tokenwise.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tokenwise.server.client.GatewayClient;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/**
 * {@code tokenwise budget set TEAM USD [--period P]}: sets or replaces a team's budget over
 * {@code PUT /api/v1/teams/{team}/budget}. (A key's own budget is set when the key is made: {@code keys create}.)
 */
final class BudgetCommand extends AdminCommand {
    BudgetCommand(Map<String, String> env, Path workDir) {
        super("budget", env, workDir);
    }

    @Override
    public String summary() {
        return "set a team's budget (what it spent this period still counts)";
    }

    @Override
    String usage() {
        return """
                tokenwise budget set TEAM USD [--period daily|weekly|monthly|total]
                  --period P       the budget's period, calendar aligned (default: monthly)
                """;
    }

    @Override
    Set<String> valued() {
        return Set.of("--period");
    }

    @Override
    int execute(CliArgs args, AdminApi api, PrintStream out) throws CliError {
        String action = args.positional(0, "the action (set)");
        if (!action.equals("set")) {
            throw CliError.usage("unknown action: " + action + " (expected: set)");
        }
        String team = args.positional(1, "the TEAM");
        String usd = args.positional(2, "the budget in USD");
        args.atMost(3);
        AdminApi.Reply reply = api.call("PUT", "/api/v1/teams/" + GatewayClient.segment(team) + "/budget",
                TeamsCommand.budget(usd, args.value("--period", "monthly")));
        if (!printedJson(args, reply, out)) {
            JsonNode t = reply.json();
            out.println("team " + team + ": budget " + TextTable.budget(t.get("budget")) + ", spent "
                    + TextTable.usd(t.get("spent_usd")) + ", remaining " + TextTable.usd(t.get("remaining_usd")));
        }
        return TokenwiseCli.OK;
    }
}
