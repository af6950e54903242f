package dev.tokenwise.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenwise.server.client.GatewayClient;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code tokenwise teams list|create|show}: the teams, their budgets and this period's books, over
 * {@code /api/v1/teams}.
 */
final class TeamsCommand extends AdminCommand {
    TeamsCommand(Map<String, String> env, Path workDir) {
        super("teams", env, workDir);
    }

    @Override
    public String summary() {
        return "list, create or show teams with their budgets and this period's spend";
    }

    @Override
    String usage() {
        return """
                tokenwise teams list
                tokenwise teams create NAME [--budget USD] [--period daily|weekly|monthly|total]
                tokenwise teams show NAME
                  --budget USD     a budget for the new team (default: none, unlimited); --period defaults to monthly
                """;
    }

    @Override
    Set<String> valued() {
        return Set.of("--budget", "--period");
    }

    @Override
    int execute(CliArgs args, AdminApi api, PrintStream out) throws CliError {
        String action = args.positional().isEmpty() ? "list" : args.positional().get(0);
        switch (action) {
            case "list" -> {
                args.atMost(1);
                AdminApi.Reply reply = api.get("/api/v1/teams");
                if (!printedJson(args, reply, out)) {
                    printTeams(reply.json().path("data"), out);
                }
            }
            case "create" -> {
                String name = args.positional(1, "the team's NAME");
                args.atMost(2);
                ObjectNode body = JsonNodeFactory.instance.objectNode().put("name", name);
                if (args.has("--budget")) {
                    body.set("budget", budget(args.value("--budget"), args.value("--period", "monthly")));
                } else if (args.has("--period")) {
                    throw CliError.usage("--period needs --budget");
                }
                AdminApi.Reply reply = api.call("POST", "/api/v1/teams", body);
                if (!printedJson(args, reply, out)) {
                    out.println("created team " + name + " (budget " + TextTable.budget(reply.json().get("budget"))
                            + ")");
                }
            }
            case "show" -> {
                String name = args.positional(1, "the team's NAME");
                args.atMost(2);
                AdminApi.Reply reply = api.get("/api/v1/teams/" + GatewayClient.segment(name));
                if (!printedJson(args, reply, out)) {
                    printTeam(reply.json(), out);
                }
            }
            default -> throw CliError.usage("unknown action: " + action + " (expected: list, create or show)");
        }
        return TokenwiseCli.OK;
    }

    /** {@code {"limit_usd", "period"}} from the command line's amount and period. */
    static ObjectNode budget(String usd, String period) throws CliError {
        BigDecimal limit;
        try {
            limit = new BigDecimal(usd.startsWith("$") ? usd.substring(1) : usd);
        } catch (NumberFormatException e) {
            throw CliError.usage("budget: " + usd + " (expected a USD amount such as 50 or 12.50)");
        }
        return JsonNodeFactory.instance.objectNode().put("limit_usd", limit).put("period", period);
    }

    private static void printTeams(JsonNode teams, PrintStream out) {
        if (teams.isEmpty()) {
            out.println("no teams yet: tokenwise teams create NAME --budget 50");
            return;
        }
        TextTable table = new TextTable("TEAM", "BUDGET", "SPENT", "RESERVED", "REMAINING", "KEYS");
        for (JsonNode t : teams) {
            table.row(t.path("name").asText(), TextTable.budget(t.get("budget")), TextTable.usd(t.get("spent_usd")),
                    TextTable.usd(t.get("reserved_usd")), TextTable.usd(t.get("remaining_usd")),
                    String.valueOf(t.path("keys").size()));
        }
        table.print(out);
    }

    private static void printTeam(JsonNode t, PrintStream out) {
        List<String> keys = new ArrayList<>();
        t.path("keys").forEach(k -> keys.add(k.asText()));
        TextTable table = new TextTable("team", t.path("name").asText());
        table.row("budget", TextTable.budget(t.get("budget")));
        if (t.hasNonNull("period_start")) {
            table.row("period", t.path("period_start").asText() + " to " + t.path("period_end").asText());
        }
        table.row("spent", TextTable.usd(t.get("spent_usd")));
        table.row("reserved", TextTable.usd(t.get("reserved_usd")));
        table.row("remaining", TextTable.usd(t.get("remaining_usd")));
        table.row("keys", keys.isEmpty() ? "none" : String.join(", ", keys));
        table.print(out);
    }
}
