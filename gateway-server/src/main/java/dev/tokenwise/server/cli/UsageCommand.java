package dev.tokenwise.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.DecimalNode;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * {@code tokenwise usage [--group-by team|model|key|day] [--from] [--to]}: calls, tokens and cost from the ledger,
 * over {@code /api/v1/usage}, with a total.
 */
final class UsageCommand extends AdminCommand {
    UsageCommand(Map<String, String> env, Path workDir) {
        super("usage", env, workDir);
    }

    @Override
    public String summary() {
        return "calls, tokens and cost per team, model, key or day";
    }

    @Override
    String usage() {
        return """
                tokenwise usage [--group-by team|model|key|day] [--from DATE|INSTANT] [--to DATE|INSTANT]
                  --group-by G     team (default), model, key or day (UTC)
                  --from, --to     the period [from, to): 2026-11-28 or 2026-11-28T10:15:30Z (a date in --to means
                                   the end of that day); default: all time up to now
                """;
    }

    @Override
    Set<String> valued() {
        return Set.of("--group-by", "--from", "--to");
    }

    @Override
    int execute(CliArgs args, AdminApi api, PrintStream out) throws CliError {
        args.atMost(0);
        String groupBy = args.value("--group-by", "team");
        StringBuilder path = new StringBuilder("/api/v1/usage?group_by=").append(encode(groupBy));
        if (args.has("--from")) {
            path.append("&from=").append(encode(args.value("--from")));
        }
        if (args.has("--to")) {
            path.append("&to=").append(encode(args.value("--to")));
        }
        AdminApi.Reply reply = api.get(path.toString());
        if (printedJson(args, reply, out)) {
            return TokenwiseCli.OK;
        }
        JsonNode usage = reply.json();
        out.println("usage by " + usage.path("group_by").asText() + " from " + usage.path("from").asText() + " to "
                + usage.path("to").asText());
        JsonNode rows = usage.path("data");
        if (rows.isEmpty()) {
            out.println("no calls in this period");
            return TokenwiseCli.OK;
        }
        boolean byKey = "key".equals(usage.path("group_by").asText());
        TextTable table = byKey
                ? new TextTable("TEAM", "KEY", "CALLS", "INPUT", "OUTPUT", "COST")
                : new TextTable(usage.path("group_by").asText().toUpperCase(Locale.ROOT), "CALLS", "INPUT",
                        "OUTPUT", "COST");
        long calls = 0;
        long input = 0;
        long output = 0;
        BigDecimal cost = BigDecimal.ZERO;
        for (JsonNode r : rows) {
            calls += r.path("requests").asLong();
            input += r.path("input_tokens").asLong();
            output += r.path("output_tokens").asLong();
            cost = cost.add(r.path("cost_usd").decimalValue());
            String[] figures = {r.path("requests").asText(), r.path("input_tokens").asText(),
                    r.path("output_tokens").asText(), TextTable.usd(r.get("cost_usd"))};
            if (byKey) {
                table.row(TextTable.text(r, "team"), TextTable.text(r, "key_id"), figures[0], figures[1], figures[2],
                        figures[3]);
            } else {
                table.row(TextTable.text(r, usage.path("group_by").asText()), figures[0], figures[1], figures[2],
                        figures[3]);
            }
        }
        String total = TextTable.usd(DecimalNode.valueOf(cost));
        if (byKey) {
            table.row("total", "", String.valueOf(calls), String.valueOf(input), String.valueOf(output), total);
        } else {
            table.row("total", String.valueOf(calls), String.valueOf(input), String.valueOf(output), total);
        }
        table.print(out);
        return TokenwiseCli.OK;
    }

    static String encode(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8);
    }
}
