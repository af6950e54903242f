package dev.tokenwise.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tokenwise.server.cli.TokenwiseCli;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code bin/tokenwise}'s admin subcommands against a real gateway, as a person runs them beside it. */
class AdminCliEndToEndTest {
    private static TestGateway gateway;

    @TempDir
    Path dir;

    @BeforeAll
    static void start() throws Exception {
        gateway = TestGateway.withSimulator();
    }

    @AfterAll
    static void stop() {
        if (gateway != null) {
            gateway.close();
        }
    }

    /** What one run printed and its exit status. */
    record Run(int status, String out, String err) {
        JsonNode json() throws Exception {
            return TestGateway.JSON.readTree(out);
        }
    }

    private static Run cli(Map<String, String> env, Path workDir, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
             PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            int status = TokenwiseCli.run(args, env, workDir, o, e);
            return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        }
    }

    /** A run with the gateway's URL and admin key in the environment, as {@code export TOKENWISE_URL=...} gives. */
    private Run admin(String... args) {
        Run run = cli(Map.of("TOKENWISE_URL", "http://127.0.0.1:" + gateway.app.port(),
                "TOKENWISE_ADMIN_KEY", TestGateway.ADMIN_KEY), dir, args);
        return run;
    }

    private Run ok(String... args) {
        Run run = admin(args);
        assertEquals(0, run.status(), String.join(" ", args) + ": " + run.err());
        assertEquals("", run.err(), String.join(" ", args));
        return run;
    }

    private static int chat(String key, String model, boolean stream) throws Exception {
        String body = "{\"model\":\"" + model + "\",\"max_tokens\":16" + (stream ? ",\"stream\":true" : "")
                + ",\"messages\":[{\"role\":\"user\",\"content\":\"hello there\"}]}";
        return gateway.post("/v1/chat/completions", key, body).statusCode();
    }

    @Test
    void createsTeamsKeysAndBudgetsAndShowsThemAsTablesOrAsTheApisJson() throws Exception {
        assertEquals("created team research (budget $12.50 weekly)\n",
                ok("teams", "create", "research", "--budget", "12.50", "--period", "weekly").out());
        String list = ok("teams", "list").out();
        assertTrue(list.startsWith("TEAM"), list);
        assertTrue(list.lines().anyMatch(l -> l.matches("research +\\$12\\.50 weekly +\\$0\\.00 +\\$0\\.00 +\\$12\\.50 +0")),
                list);
        assertTrue(list.lines().anyMatch(l -> l.startsWith("demo ") && l.contains("$5.00 daily")), list);
        List<String> names = new ArrayList<>();
        ok("teams", "list", "--json").json().get("data").forEach(t -> names.add(t.get("name").asText()));
        assertTrue(names.containsAll(List.of("demo", "other", "research")), names.toString());

        String budget = ok("budget", "set", "research", "50", "--period", "monthly").out();
        assertEquals("team research: budget $50.00 monthly, spent $0.00, remaining $50.00\n", budget);
        JsonNode shown = ok("teams", "show", "research", "--json").json();
        assertEquals("monthly", shown.at("/budget/period").asText());
        assertEquals(0, shown.at("/budget/limit_usd").decimalValue().compareTo(new java.math.BigDecimal("50")));

        Run created = ok("keys", "create", "research", "--name", "research-ci", "--models", "sim-small",
                "--budget", "1", "--period", "daily");
        String secret = created.out().lines().filter(l -> l.startsWith("secret: ")).findFirst().orElseThrow()
                .substring("secret: ".length());
        assertTrue(created.out().startsWith("created key research-ci for team research (models: sim-small, budget: "
                + "$1.00 daily)"), created.out());
        assertEquals(200, chat(secret, "sim-small", false), "the new key works at once");
        String quiet = ok("keys", "create", "research", "-q").out().strip();
        assertTrue(quiet.matches("tw-[0-9A-Za-z]{40}"), "only the secret: " + quiet);
        assertEquals(200, chat(quiet, "sim-small", false));

        String show = ok("teams", "show", "research").out();
        assertTrue(show.lines().anyMatch(l -> l.matches("keys +research-ci, key-[0-9a-f]{8}")), show);
        String keys = ok("keys", "list").out();
        assertTrue(keys.lines().anyMatch(l -> l.matches("research-ci +research +sim-small +\\$1\\.00 daily +\\S+ +active")),
                keys);
        assertEquals("revoked key research-ci: its next request gets 401\n", ok("keys", "revoke", "research-ci").out());
        assertEquals(401, chat(secret, "sim-small", false), "the revoked key is refused at once");
        JsonNode revoked = null;
        for (JsonNode k : ok("keys", "list", "--json").json().get("data")) {
            if (k.get("id").asText().equals("research-ci")) {
                revoked = k;
            }
        }
        assertTrue(revoked != null && revoked.get("revoked").asBoolean(), String.valueOf(revoked));
        assertTrue(ok("keys", "list").out().lines().anyMatch(l -> l.startsWith("research-ci ") && l.contains("revoked 20")));
    }

    @Test
    void reportsUsageByEveryGroupingAndTheOpenAlerts() throws Exception {
        ok("teams", "create", "tiny", "--budget", "0.0002", "--period", "daily");
        String key = ok("keys", "create", "tiny", "--name", "tiny-key", "-q").out().strip();
        int refused = 0;
        for (int i = 0; i < 40 && refused == 0; i++) {
            int status = chat(key, "sim-small", i % 2 == 0);
            assertTrue(status == 200 || status == 402, "status " + status);
            refused += status == 402 ? 1 : 0;
        }
        assertEquals(1, refused, "the tiny budget runs out");
        gateway.flushLedger();

        String byTeam = ok("usage").out();
        assertTrue(byTeam.startsWith("usage by team from "), byTeam);
        assertTrue(byTeam.lines().anyMatch(l -> l.matches("tiny +\\d+ +\\d+ +\\d+ +\\$0\\.000\\d+")), byTeam);
        assertTrue(byTeam.lines().anyMatch(l -> l.startsWith("total ")), byTeam);
        String byModel = ok("usage", "--group-by", "model").out();
        assertTrue(byModel.lines().anyMatch(l -> l.startsWith("sim-small ")), byModel);
        String byKey = ok("usage", "--group-by", "key", "--from", "2020-01-01").out();
        assertTrue(byKey.lines().anyMatch(l -> l.matches("tiny +tiny-key +\\d+ .*")), byKey);
        String today = java.time.LocalDate.now(java.time.ZoneOffset.UTC).toString();
        String byDay = ok("usage", "--group-by=day", "--from", today, "--to", today).out();
        assertTrue(byDay.lines().anyMatch(l -> l.startsWith(today + " ")), byDay);
        JsonNode json = ok("usage", "--group-by", "key", "--json").json();
        assertEquals("key", json.get("group_by").asText());
        assertTrue(json.get("data").size() >= 1);

        String alerts = ok("alerts").out();
        assertTrue(alerts.startsWith("SINCE"), alerts);
        assertTrue(alerts.lines().anyMatch(l -> l.contains("budget_threshold") && l.contains("team tiny")), alerts);
        boolean listed = false;
        for (JsonNode a : ok("alerts", "--json").json()) {
            listed |= a.get("type").asText().equals("budget_threshold") && a.path("team").asText().equals("tiny");
        }
        assertTrue(listed);

        Run badGroup = admin("usage", "--group-by", "colour");
        assertEquals(1, badGroup.status());
        assertTrue(badGroup.err().startsWith("tokenwise usage: 400 "), badGroup.err());
        assertTrue(badGroup.err().contains("group_by: colour"), badGroup.err());
    }

    @Test
    void tailPrintsEveryCallMadeWhileItRunsExactlyOnce() throws Exception {
        ok("teams", "create", "tailed");
        String key = ok("keys", "create", "tailed", "-q").out().strip();
        gateway.flushLedger();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8);
        Map<String, String> env = Map.of("TOKENWISE_URL", "http://127.0.0.1:" + gateway.app.port(),
                "TOKENWISE_ADMIN_KEY", TestGateway.ADMIN_KEY);
        CompletableFuture<Integer> tail = CompletableFuture.supplyAsync(() -> TokenwiseCli.run(new String[] {"tail",
                "-n", "0", "--team", "tailed", "--interval", "0.1", "--count", "6", "--json"}, env, dir, o, e));
        Thread.sleep(300); // tail has read its cursor: what follows is new
        List<String> made = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            HttpResponse<String> r = gateway.post("/v1/chat/completions", key, "{\"model\":\"sim-small\",\"max_tokens\":8"
                    + (i % 2 == 1 ? ",\"stream\":true" : "") + ",\"messages\":[{\"role\":\"user\",\"content\":\"call " + i
                    + "\"}]}");
            assertEquals(200, r.statusCode(), r.body());
            made.add(r.headers().firstValue("x-request-id").orElseThrow());
            if (i == 2) {
                Thread.sleep(250); // some calls land between two polls, some in one
            }
        }
        assertEquals(0, tail.get(20, TimeUnit.SECONDS), err.toString(StandardCharsets.UTF_8));
        List<String> seen = new ArrayList<>();
        for (String line : out.toString(StandardCharsets.UTF_8).strip().split("\n")) {
            JsonNode call = TestGateway.JSON.readTree(line);
            assertEquals("tailed", call.get("team").asText());
            seen.add(call.get("id").asText());
        }
        assertEquals(6, seen.size(), seen.toString());
        assertEquals(6, new HashSet<>(seen).size(), "no call twice: " + seen);
        assertEquals(new HashSet<>(made), new HashSet<>(seen), "every call made while it ran");

        String human = ok("tail", "-n", "2", "--team", "tailed", "--count", "2").out();
        List<String> lines = human.lines().toList();
        assertEquals(3, lines.size(), human);
        assertTrue(lines.get(0).matches("TIME \\(UTC\\) +TEAM +MODEL +IN +OUT +COST +LATENCY +STATUS"), human);
        for (String line : lines.subList(1, 3)) {
            assertTrue(line.matches("\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d +tailed +sim-small +\\d+ +\\d+ +\\$0\\.\\d+ +"
                    + "\\d+\\.\\d ms +ok"), line);
        }
    }

    @Test
    void setsReplacesAndClearsAKeysOwnBudgetAfterTheKeyWasMade() throws Exception {
        ok("teams", "create", "keyed", "--budget", "10", "--period", "daily");
        String secret = ok("keys", "create", "keyed", "--name", "keyed-ci", "-q").out().strip();
        assertEquals(200, chat(secret, "sim-small", false));

        assertEquals("key keyed-ci of team keyed: budget $0.000001 daily (what it spent this period counts)\n",
                ok("budget", "set", "--key", "keyed-ci", "0.000001", "--period", "daily").out());
        assertEquals(402, chat(secret, "sim-small", false), "what it spent already is past the new limit");
        JsonNode replaced = ok("budget", "set", "--key", "keyed-ci", "2", "--json").json();
        assertEquals("keyed-ci", replaced.get("id").asText());
        assertEquals("monthly", replaced.at("/budget/period").asText(), "the period defaults to monthly");
        assertTrue(replaced.get("key") == null, "no secret: " + replaced);
        assertEquals(200, chat(secret, "sim-small", false));
        assertTrue(ok("keys", "list").out().lines()
                .anyMatch(l -> l.matches("keyed-ci +keyed +all +\\$2\\.00 monthly +\\S+ +active")));

        assertEquals("key keyed-ci of team keyed: no budget of its own, it spends within its team's\n",
                ok("budget", "clear", "--key", "keyed-ci").out());
        assertTrue(ok("budget", "clear", "--key", "keyed-ci", "--json").json().get("budget").isNull());
        assertTrue(ok("keys", "list").out().lines().anyMatch(l -> l.matches("keyed-ci +keyed +all +none +\\S+ +active")),
                ok("keys", "list").out());

        Run noKey = admin("budget", "set", "--key", "nosuch", "1");
        assertEquals(1, noKey.status());
        assertEquals("tokenwise budget: 404 not_found: no key nosuch\n", noKey.err());
        ok("keys", "revoke", "keyed-ci");
        Run revoked = admin("budget", "clear", "--key", "keyed-ci");
        assertEquals(1, revoked.status());
        assertTrue(revoked.err().startsWith("tokenwise budget: 409 conflict: key keyed-ci is revoked"), revoked.err());
        assertEquals(1, revoked.err().lines().count(), revoked.err());
        for (String[] bad : new String[][] {{"budget", "clear"}, {"budget", "clear", "--key", "x", "--period", "daily"},
                {"budget", "set", "--key", "x"}, {"budget", "set", "--key", "x", "lots"}, {"budget", "raise", "x"}}) {
            Run run = admin(bad);
            assertEquals(2, run.status(), String.join(" ", bad) + " " + run.err());
            assertTrue(run.err().lines().skip(1).findFirst().orElse("").startsWith("usage: tokenwise budget"),
                    "the usage follows: " + run.err());
        }
    }

    @Test
    void failsWithOneClearLineAndANonZeroStatus() throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        Run refused = cli(Map.of(), dir, "teams", "list", "--url", "http://127.0.0.1:" + closedPort, "--admin-key", "x");
        assertEquals(1, refused.status());
        assertEquals("tokenwise teams: cannot reach the gateway at http://127.0.0.1:" + closedPort
                + ": connection refused (is it running? set --url or TOKENWISE_URL)\n", refused.err());
        assertEquals("", refused.out());

        Run wrongKey = cli(Map.of("TOKENWISE_ADMIN_KEY", "tw-not-the-admin"), dir, "teams", "list", "--url",
                "http://127.0.0.1:" + gateway.app.port());
        assertEquals(1, wrongKey.status());
        assertEquals(1, wrongKey.err().lines().count(), wrongKey.err());
        assertTrue(wrongKey.err().startsWith("tokenwise teams: 401 invalid_api_key: "), wrongKey.err());
        assertTrue(wrongKey.err().contains("the admin key from TOKENWISE_ADMIN_KEY"), wrongKey.err());

        Run teamKey = cli(Map.of(), dir, "keys", "list", "--url", "http://127.0.0.1:" + gateway.app.port(),
                "--admin-key", "tw-test-key");
        assertEquals(1, teamKey.status());
        assertEquals("tokenwise keys: 403 forbidden: admin key required\n", teamKey.err());

        Run noTeam = admin("teams", "show", "nosuch");
        assertEquals(1, noTeam.status());
        assertEquals("tokenwise teams: 404 not_found: no team nosuch\n", noTeam.err());
        Run noTeamBudget = admin("budget", "set", "nosuch", "10");
        assertEquals("tokenwise budget: 404 not_found: no team nosuch\n", noTeamBudget.err());

        Run exists = admin("teams", "create", "demo");
        assertEquals(1, exists.status());
        assertEquals("tokenwise teams: 409 conflict: team demo already exists\n", exists.err());

        for (String[] bad : new String[][] {{"teams", "frobnicate"}, {"budget", "set", "demo", "lots"},
                {"keys", "create"}, {"teams", "list", "--colour", "red"}, {"tail", "-n", "many"},
                {"budget", "set", "demo"}, {"teams", "create", "x", "--period", "daily"}}) {
            Run run = admin(bad);
            assertEquals(2, run.status(), String.join(" ", bad) + " " + run.err());
            assertTrue(run.err().startsWith("tokenwise " + bad[0] + ": "), run.err());
            assertTrue(run.err().lines().skip(1).findFirst().orElse("").startsWith("usage: tokenwise " + bad[0]),
                    "the usage follows: " + run.err());
            assertEquals("", run.out());
        }
        Run unknown = admin("frobnicate");
        assertEquals(2, unknown.status());
        assertTrue(unknown.err().startsWith("tokenwise: unknown command: frobnicate\n"), unknown.err());
    }

    @Test
    void findsTheGatewayAndItsKeyFromFlagsThenTheEnvironmentThenTheFilesBesideTheGateway() throws Exception {
        String url = "http://127.0.0.1:" + gateway.app.port();
        Files.createDirectories(dir.resolve("data"));
        Files.writeString(dir.resolve("data/admin.key"), TestGateway.ADMIN_KEY + "\n");
        Run fromFile = cli(Map.of("TOKENWISE_URL", url), dir, "teams", "list", "--json");
        assertEquals(0, fromFile.status(), fromFile.err());
        assertTrue(fromFile.json().get("data").isArray());

        Run flagWins = cli(Map.of("TOKENWISE_URL", "http://127.0.0.1:1", "TOKENWISE_ADMIN_KEY", "tw-wrong"), dir,
                "teams", "list", "--url", url, "--admin-key", TestGateway.ADMIN_KEY);
        assertEquals(0, flagWins.status(), flagWins.err());

        Run envWins = cli(Map.of("TOKENWISE_URL", url, "TOKENWISE_ADMIN_KEY", "tw-wrong"), dir, "alerts");
        assertEquals(1, envWins.status(), "the environment's key wins over data/admin.key");

        Files.writeString(dir.resolve("data/admin.key"), "tw-stale-key\n");
        Run staleFile = cli(Map.of("TOKENWISE_URL", url), dir, "alerts");
        assertEquals(1, staleFile.status());
        assertTrue(staleFile.err().contains("the admin key from " + dir.resolve("data/admin.key")), staleFile.err());

        // Beside a gateway whose configuration puts it on another port and its ledger (and key) elsewhere.
        Path beside = Files.createDirectories(dir.resolve("beside"));
        Files.createDirectories(beside.resolve("config"));
        Files.createDirectories(beside.resolve("state"));
        Files.writeString(beside.resolve("config/gateway.yaml"), """
                server:
                  host: 0.0.0.0
                  port: ${GATEWAY_PORT:-1}
                storage:
                  path: state/ledger.db
                providers:
                  openai:
                    type: openai
                    api_key: ${OPENAI_API_KEY}
                """);
        Files.writeString(beside.resolve("state/admin.key"), TestGateway.ADMIN_KEY + "\n");
        Run fromConfig = cli(Map.of("GATEWAY_PORT", String.valueOf(gateway.app.port())), beside, "teams", "list");
        assertEquals(0, fromConfig.status(), fromConfig.err());
        assertEquals("", fromConfig.err(), "nothing logged from reading the configuration");
        assertTrue(fromConfig.out().startsWith("TEAM"), fromConfig.out());

        Path empty = Files.createDirectories(dir.resolve("elsewhere"));
        Run none = cli(Map.of("TOKENWISE_URL", url), empty, "alerts");
        assertEquals(1, none.status());
        assertEquals("tokenwise alerts: no admin key: pass --admin-key, set TOKENWISE_ADMIN_KEY, or run beside the "
                + "gateway (it keeps its key in data/admin.key)\n", none.err());
        assertFalse(none.err().contains(TestGateway.ADMIN_KEY));
    }
}
