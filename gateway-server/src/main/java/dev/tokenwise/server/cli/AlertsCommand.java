package dev.tokenwise.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Map;

/** {@code tokenwise alerts}: the open alerts, oldest first, over {@code /api/v1/alerts}. */
final class AlertsCommand extends AdminCommand {
    AlertsCommand(Map<String, String> env, Path workDir) {
        super("alerts", env, workDir);
    }

    @Override
    public String summary() {
        return "the open alerts: budgets, drift, billing discrepancies, ...";
    }

    @Override
    String usage() {
        return "tokenwise alerts\n";
    }

    @Override
    int execute(CliArgs args, AdminApi api, PrintStream out) throws CliError {
        args.atMost(0);
        AdminApi.Reply reply = api.get("/api/v1/alerts");
        if (printedJson(args, reply, out)) {
            return TokenwiseCli.OK;
        }
        if (reply.json().isEmpty()) {
            out.println("no open alerts");
            return TokenwiseCli.OK;
        }
        TextTable table = new TextTable("SINCE", "TYPE", "SUBJECT", "MESSAGE");
        for (JsonNode a : reply.json()) {
            table.row(TextTable.text(a, "since"), TextTable.text(a, "type"), subject(a), TextTable.text(a, "message"));
        }
        table.print(out);
        return TokenwiseCli.OK;
    }

    /** {@code team demo}, {@code model sim-large} or {@code key ci (team demo)}. */
    private static String subject(JsonNode alert) {
        if (alert.has("key")) {
            return "key " + alert.path("key").asText() + " (team " + alert.path("team").asText() + ")";
        }
        for (String field : new String[] {"team", "model"}) {
            if (alert.has(field)) {
                return field + " " + alert.path(field).asText();
            }
        }
        return "-";
    }
}
