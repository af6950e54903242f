package dev.tokenwise.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code tokenwise tail}: follows the calls as they complete, like {@code kubectl logs -f}: the last few, then each
 * new one as the ledger commits it (time, team, model, tokens, cost, latency, status). It polls
 * {@code GET /api/v1/requests?after=CURSOR}, which answers the calls written since the cursor in the order they were
 * written, so every call is printed once, none is skipped, and a long call that started early still shows up when it
 * ends.
 */
final class TailCommand extends AdminCommand {
    private static final int PAGE = 500;
    private static final String LINE = "%-19s  %-14s  %-20s  %8s  %8s  %11s  %10s  %s%n";

    TailCommand(Map<String, String> env, Path workDir) {
        super("tail", env, workDir);
    }

    @Override
    public String summary() {
        return "follow the calls as they complete (time, team, model, tokens, cost, latency, status)";
    }

    @Override
    String usage() {
        return """
                tokenwise tail [-n N] [--team TEAM] [--model MODEL] [--interval SECONDS] [--count N]
                  -n N             first print the last N calls (default: 10)
                  --team, --model  only this team's or model's calls
                  --interval S     how often to ask the gateway for new calls (default: 1)
                  --count N        stop after N calls (default: follow until interrupted)
                  --json           one JSON object per call, as /api/v1/requests lists them
                """;
    }

    @Override
    Set<String> valued() {
        return Set.of("-n", "--team", "--model", "--interval", "--count");
    }

    @Override
    int execute(CliArgs args, AdminApi api, PrintStream out) throws CliError {
        args.atMost(0);
        int last = whole(args, "-n", 10, 0, PAGE);
        long count = whole(args, "--count", Integer.MAX_VALUE, 1, Integer.MAX_VALUE);
        long intervalMillis = interval(args.value("--interval", "1"));
        StringBuilder filter = new StringBuilder();
        if (args.has("--team")) {
            filter.append("&team=").append(UsageCommand.encode(args.value("--team")));
        }
        if (args.has("--model")) {
            filter.append("&model=").append(UsageCommand.encode(args.value("--model")));
        }
        boolean json = args.has("--json");
        if (!json) {
            out.printf(LINE, "TIME (UTC)", "TEAM", "MODEL", "IN", "OUT", "COST", "LATENCY", "STATUS");
        }
        JsonNode page = api.get("/api/v1/requests?limit=" + Math.max(last, 1) + filter).json();
        List<JsonNode> recent = new ArrayList<>();
        page.path("data").forEach(recent::add);
        long printed = 0;
        for (int i = Math.min(last, recent.size()) - 1; i >= 0 && printed < count; i--) {
            print(recent.get(i), json, out);
            printed++;
        }
        long cursor = page.path("cursor").asLong();
        while (printed < count) {
            page = api.get("/api/v1/requests?after=" + cursor + "&limit=" + PAGE + filter).json();
            JsonNode calls = page.path("data");
            for (JsonNode call : calls) {
                if (printed++ >= count) {
                    break;
                }
                print(call, json, out);
            }
            cursor = page.path("cursor").asLong(cursor);
            if (calls.size() < PAGE && printed < count) {
                try {
                    Thread.sleep(intervalMillis);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return TokenwiseCli.OK;
                }
            }
        }
        return TokenwiseCli.OK;
    }

    private static void print(JsonNode call, boolean json, PrintStream out) {
        if (json) {
            out.println(call.toString());
        } else {
            String time = TextTable.text(call, "created_at").replace('T', ' ');
            String status = TextTable.text(call, "status");
            int http = call.path("http_status").asInt();
            out.printf(LINE, time.length() > 19 ? time.substring(0, 19) : time, TextTable.text(call, "team"),
                    TextTable.text(call, "model"), call.path("input_tokens").asText(),
                    call.path("output_tokens").asText(), TextTable.usd(call.get("cost_usd")),
                    call.path("latency_ms").decimalValue().setScale(1, RoundingMode.HALF_UP).toPlainString() + " ms",
                    http == 200 ? status : status + " " + http);
        }
        out.flush();
    }

    private static int whole(CliArgs args, String name, int otherwise, int min, int max) throws CliError {
        String value = args.value(name);
        if (value == null) {
            return otherwise;
        }
        try {
            int n = Integer.parseInt(value);
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException ignored) {
            // answered below
        }
        throw CliError.usage(name + ": " + value + " (expected: a whole number from " + min + " to " + max + ")");
    }

    private static long interval(String value) throws CliError {
        try {
            BigDecimal seconds = new BigDecimal(value);
            if (seconds.compareTo(new BigDecimal("0.05")) >= 0 && seconds.compareTo(BigDecimal.valueOf(3600)) <= 0) {
                return seconds.movePointRight(3).longValue();
            }
        } catch (NumberFormatException ignored) {
            // answered below
        }
        throw CliError.usage("--interval: " + value + " (expected: seconds from 0.05 to 3600)");
    }
}
