package dev.tokenwise.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tokenwise.server.client.GatewayClient;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/**
 * {@code tokenwise budget set TEAM USD [--period P]}: sets or replaces a team's budget over
 * {@code PUT /api/v1/teams/{team}/budget}; {@code budget set --key ID USD} and {@code budget clear --key ID} set,
 * replace or remove a key's own budget (inside its team's) over {@code PUT|DELETE /api/v1/keys/{id}/budget}.
 */
final class BudgetCommand extends AdminCommand {
    BudgetCommand(Map<String, String> env, Path workDir) {
        super("budget", env, workDir);
    }

    @Override
    public String summary() {
        return "set a team's or a key's budget, or clear a key's (what it spent this period still counts)";
    }

    @Override
    String usage() {
        return """
                tokenwise budget set TEAM USD [--period daily|weekly|monthly|total]
                tokenwise budget set --key ID USD [--period P]
                tokenwise budget clear --key ID
                  --period P       the budget's period, calendar aligned (default: monthly)
                  --key ID         a key's own budget, inside its team's (clear: the key spends within its team's only)
                """;
    }

    @Override
    Set<String> valued() {
        return Set.of("--period", "--key");
    }

    @Override
    int execute(CliArgs args, AdminApi api, PrintStream out) throws CliError {
        String action = args.positional(0, "the action (set or clear)");
        switch (action) {
            case "set" -> {
                if (args.has("--key")) {
                    setKey(args, api, out);
                } else {
                    setTeam(args, api, out);
                }
            }
            case "clear" -> clearKey(args, api, out);
            default -> throw CliError.usage("unknown action: " + action + " (expected: set or clear)");
        }
        return TokenwiseCli.OK;
    }

    private static void setTeam(CliArgs args, AdminApi api, PrintStream out) throws CliError {
        String team = args.positional(1, "the TEAM (or --key ID)");
        String usd = args.positional(2, "the budget in USD");
        args.atMost(3);
        AdminApi.Reply reply = api.call("PUT", "/api/v1/teams/" + GatewayClient.segment(team) + "/budget",
                TeamsCommand.budget(usd, args.value("--period", "monthly")));
        if (!printedJson(args, reply, out)) {
            JsonNode t = reply.json();
            out.println("team " + team + ": budget " + TextTable.budget(t.get("budget")) + ", spent "
                    + TextTable.usd(t.get("spent_usd")) + ", remaining " + TextTable.usd(t.get("remaining_usd")));
        }
    }

    private static void setKey(CliArgs args, AdminApi api, PrintStream out) throws CliError {
        String id = args.value("--key");
        String usd = args.positional(1, "the budget in USD");
        args.atMost(2);
        AdminApi.Reply reply = api.call("PUT", keyBudget(id), TeamsCommand.budget(usd, args.value("--period", "monthly")));
        if (!printedJson(args, reply, out)) {
            JsonNode k = reply.json();
            out.println("key " + k.path("id").asText(id) + " of team " + k.path("team").asText() + ": budget "
                    + TextTable.budget(k.get("budget")) + " (what it spent this period counts)");
        }
    }

    private static void clearKey(CliArgs args, AdminApi api, PrintStream out) throws CliError {
        if (!args.has("--key")) {
            throw CliError.usage("clear needs --key ID (a team's budget is changed with: budget set TEAM USD)");
        }
        if (args.has("--period")) {
            throw CliError.usage("clear takes no --period");
        }
        String id = args.value("--key");
        args.atMost(1);
        AdminApi.Reply reply = api.call("DELETE", keyBudget(id), null);
        if (!printedJson(args, reply, out)) {
            JsonNode k = reply.json();
            out.println("key " + k.path("id").asText(id) + " of team " + k.path("team").asText()
                    + ": no budget of its own, it spends within its team's");
        }
    }

    private static String keyBudget(String id) {
        return "/api/v1/keys/" + GatewayClient.segment(id) + "/budget";
    }
}
