package dev.tokenwise.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenwise.server.client.GatewayClient;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code tokenwise keys create|list|revoke}: the teams' virtual keys, over {@code /api/v1/teams/{team}/keys} and
 * {@code /api/v1/keys}. The secret of a new key is printed once, as the API returns it once.
 */
final class KeysCommand extends AdminCommand {
    KeysCommand(Map<String, String> env, Path workDir) {
        super("keys", env, workDir);
    }

    @Override
    public String summary() {
        return "create, list or revoke the teams' virtual keys";
    }

    @Override
    String usage() {
        return """
                tokenwise keys create TEAM [--name ID] [--models M1,M2] [--budget USD [--period P]] [--quiet]
                tokenwise keys list
                tokenwise keys revoke ID
                  --name ID        the key's id (default: key- and the first 8 hex digits of its hash)
                  --models LIST    the models the key may call (default: all)
                  --budget USD     the key's own budget, inside its team's; --period defaults to monthly
                  --quiet, -q      print only the new key's secret (for KEY=$(tokenwise keys create ... -q))
                """;
    }

    @Override
    Set<String> valued() {
        return Set.of("--name", "--models", "--budget", "--period");
    }

    @Override
    Set<String> switches() {
        return Set.of("--quiet", "-q");
    }

    @Override
    int execute(CliArgs args, AdminApi api, PrintStream out) throws CliError {
        String action = args.positional().isEmpty() ? "list" : args.positional().get(0);
        switch (action) {
            case "create" -> create(args, api, out);
            case "list" -> {
                args.atMost(1);
                AdminApi.Reply reply = api.get("/api/v1/keys");
                if (!printedJson(args, reply, out)) {
                    printKeys(reply.json().path("data"), out);
                }
            }
            case "revoke" -> {
                String id = args.positional(1, "the key's ID");
                args.atMost(2);
                AdminApi.Reply reply = api.call("DELETE", "/api/v1/keys/" + GatewayClient.segment(id), null);
                if (!printedJson(args, reply, out)) {
                    out.println("revoked key " + reply.json().path("id").asText(id)
                            + ": its next request gets 401");
                }
            }
            default -> throw CliError.usage("unknown action: " + action + " (expected: create, list or revoke)");
        }
        return TokenwiseCli.OK;
    }

    private static void create(CliArgs args, AdminApi api, PrintStream out) throws CliError {
        String team = args.positional(1, "the TEAM");
        args.atMost(2);
        ObjectNode body = JsonNodeFactory.instance.objectNode();
        if (args.has("--name")) {
            body.put("name", args.value("--name"));
        }
        if (args.has("--models")) {
            ArrayNode models = body.putArray("models");
            for (String m : args.value("--models").split(",")) {
                if (!m.isBlank()) {
                    models.add(m.strip());
                }
            }
        }
        if (args.has("--budget")) {
            body.set("budget", TeamsCommand.budget(args.value("--budget"), args.value("--period", "monthly")));
        } else if (args.has("--period")) {
            throw CliError.usage("--period needs --budget");
        }
        AdminApi.Reply reply = api.call("POST", "/api/v1/teams/" + GatewayClient.segment(team) + "/keys", body);
        JsonNode key = reply.json();
        if (printedJson(args, reply, out)) {
            return;
        }
        if (args.has("--quiet") || args.has("-q")) {
            out.println(key.path("key").asText());
            return;
        }
        out.println("created key " + key.path("id").asText() + " for team " + key.path("team").asText()
                + " (models: " + models(key) + ", budget: " + TextTable.budget(key.get("budget")) + ")");
        out.println("secret: " + key.path("key").asText());
        out.println("shown this once: store it now, it cannot be recovered (lost it? revoke the key and create another)");
    }

    private static String models(JsonNode key) {
        List<String> models = new ArrayList<>();
        key.path("models").forEach(m -> models.add(m.asText()));
        return models.isEmpty() ? "all" : String.join(",", models);
    }

    private static void printKeys(JsonNode keys, PrintStream out) {
        if (keys.isEmpty()) {
            out.println("no keys yet: tokenwise keys create TEAM");
            return;
        }
        TextTable table = new TextTable("ID", "TEAM", "MODELS", "BUDGET", "CREATED", "STATUS");
        for (JsonNode k : keys) {
            table.row(k.path("id").asText(), k.path("team").asText(), models(k), TextTable.budget(k.get("budget")),
                    TextTable.text(k, "created_at"),
                    k.path("revoked").asBoolean() ? "revoked " + TextTable.text(k, "revoked_at") : "active");
        }
        table.print(out);
    }
}
