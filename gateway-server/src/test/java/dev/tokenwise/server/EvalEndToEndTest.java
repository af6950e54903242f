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
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import dev.tokenwise.core.testing.LeakDetectingExtension;

/** {@code tokenwise eval} against a running gateway whose simulator models have a known accuracy. */
@ExtendWith(LeakDetectingExtension.class)
class EvalEndToEndTest {
    private static TestGateway gateway;

    @TempDir
    Path dir;

    @BeforeAll
    static void start() throws Exception {
        gateway = TestGateway.start("""
                providers:
                  sim: {type: simulator, chunk_delay_ms: 0, first_token_delay_ms: 0}
                models:
                  - {name: sim-good, provider: sim, simulate: {accuracy: 0.9, seed: 1},
                     price: {input_per_mtok: 2.50, output_per_mtok: 10.00}}
                  - {name: sim-cheap, provider: sim, simulate: {accuracy: 0.6, verbosity: 1.5, seed: 1},
                     price: {input_per_mtok: 0.15, output_per_mtok: 0.60}}
                  - {name: sim-dear, provider: sim, simulate: {accuracy: 1.0, seed: 1},
                     price: {input_per_mtok: 1000, output_per_mtok: 1000, max_output_tokens: 300}}
                """, """
                teams:
                  - name: demo
                    budget: {limit_usd: 50, period: daily}
                    keys: [{key: tw-test-key, name: demo-key}]
                  - name: poor
                    budget: {limit_usd: 1.5, period: daily}
                    keys: [{key: tw-poor-key, name: poor-key}]
                """);
    }

    @AfterAll
    static void stop() {
        gateway.close();
    }

    private record Run(int status, String out, String err) {
    }

    private Run eval(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        String[] all = new String[args.length + 1];
        all[0] = "eval";
        System.arraycopy(args, 0, all, 1, args.length);
        int status = TokenwiseCli.run(all, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private String url() {
        return "http://127.0.0.1:" + gateway.app.port();
    }

    @Test
    void gradesTwoModelsWithIntervalsThatContainTheirAccuracyAndReportsEveryTaskToTheGateway() throws Exception {
        Path json = dir.resolve("out.json");
        Run run = eval("--gateway", url(), "--key", "tw-test-key", "--models", "sim-good,sim-cheap",
                "--suite", "builtin", "--tasks", "160", "--concurrency", "6", "--json", json.toString());
        assertEquals(0, run.status(), run.err());
        assertTrue(run.out().contains("sim-good") && run.out().contains("pass rate"), run.out());

        JsonNode result = TestGateway.JSON.readTree(Files.readString(json));
        Map<String, JsonNode> byModel = new HashMap<>();
        result.path("models").forEach(m -> byModel.put(m.path("model").asText(), m));
        for (Map.Entry<String, Double> expected : Map.of("sim-good", 0.9, "sim-cheap", 0.6).entrySet()) {
            JsonNode m = byModel.get(expected.getKey());
            assertEquals(160, m.path("tasks").asInt(), m.toString());
            double low = m.path("pass_rate_low").asDouble();
            double high = m.path("pass_rate_high").asDouble();
            assertTrue(low <= expected.getValue() && expected.getValue() <= high, expected + " in " + m);
            assertEquals(m.path("solved").asDouble() / 160, m.path("pass_rate").asDouble(), 1e-12);
            assertTrue(m.path("cost_per_solved_usd").asDouble() > 0, m.toString());
            assertTrue(m.path("tokens_per_solved").asDouble() > 0, m.toString());
            assertEquals(0, m.path("errors").asInt());
        }
        // The cheap model is the more verbose one, and both are on the frontier: one is better, the other cheaper.
        assertTrue(byModel.get("sim-cheap").path("mean_output_tokens").asDouble()
                > byModel.get("sim-good").path("mean_output_tokens").asDouble());
        assertTrue(byModel.get("sim-good").path("pareto").asBoolean());
        assertTrue(byModel.get("sim-cheap").path("pareto").asBoolean());
        assertTrue(result.path("summary").asText().startsWith("sim-good solves "), result.path("summary").asText());

        // Every graded task is a task of the gateway with its outcome: the efficiency API agrees with the run.
        HttpResponse<String> efficiency = gateway.get("/api/v1/efficiency?group_by=model", "tw-test-key");
        assertEquals(200, efficiency.statusCode(), efficiency.body());
        for (JsonNode group : TestGateway.JSON.readTree(efficiency.body()).path("data")) {
            JsonNode m = byModel.get(group.path("model").asText());
            if (m != null) {
                assertEquals(160, group.path("tasks").asInt(), group.toString());
                assertEquals(m.path("solved").asInt(), group.path("succeeded").asInt(), group.toString());
                assertEquals(m.path("cost_usd").asDouble(), group.path("cost_usd").asDouble(), 1e-9);
            }
        }
    }

    @Test
    void stopsCleanlyOnABudgetRefusalWithWhatWasMeasured() throws Exception {
        Path json = dir.resolve("partial.json");
        Run run = eval("--gateway", url(), "--key", "tw-poor-key", "--models", "sim-dear", "--tasks", "40",
                "--concurrency", "1", "--json", json.toString());
        assertEquals(3, run.status(), run.out() + run.err());
        assertTrue(run.err().contains("stopped after "), run.err());
        assertTrue(run.err().contains("402 budget_exceeded"), run.err());
        JsonNode result = TestGateway.JSON.readTree(Files.readString(json));
        JsonNode m = result.path("models").get(0);
        assertTrue(m.path("tasks").asInt() > 0 && m.path("tasks").asInt() < 40, m.toString());
        assertFalse(result.path("stopped").isNull());
        assertTrue(run.out().contains("sim-dear"), run.out());
    }

    @Test
    void refusesAnUnknownModelBeforeSpendingAnything() {
        Run run = eval("--gateway", url(), "--key", "tw-test-key", "--models", "sim-good,nope", "--tasks", "5");
        assertEquals(2, run.status());
        assertEquals("tokenwise eval: unknown model 'nope' (this key may use: sim-good, sim-cheap, sim-dear)\n", run.err());
        assertEquals("", run.out());
    }

    @Test
    void refusesAWrongKey() {
        Run run = eval("--gateway", url(), "--key", "tw-wrong", "--models", "sim-good");
        assertEquals(2, run.status());
        assertTrue(run.err().startsWith("tokenwise eval: the gateway refused the key (401 invalid_api_key: "), run.err());
        assertEquals(1, run.err().lines().count(), run.err());
    }

    @Test
    void saysSoWhenTheGatewayIsUnreachable() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Run run = eval("--gateway", "http://127.0.0.1:" + port, "--key", "tw-test-key", "--models", "sim-good");
        assertEquals(2, run.status());
        assertEquals("tokenwise eval: cannot reach the gateway at http://127.0.0.1:" + port
                + " (connection refused); is it running? (bin/gateway)\n", run.err());
    }

    @Test
    void namesTheLineOfAMalformedSuiteLine() throws Exception {
        Path suite = dir.resolve("suite.jsonl");
        Files.writeString(suite, """
                {"id": "a", "prompt": "2+2?", "grader": {"type": "number", "answer": 4}}
                {"id": "b", "prompt": "3+3?", "grader": {"type": "numbr", "answer": 6}}
                """);
        Run run = eval("--gateway", url(), "--key", "tw-test-key", "--models", "sim-good", "--suite", suite.toString());
        assertEquals(2, run.status());
        assertEquals("tokenwise eval: suite.jsonl line 2: grader.type: \"numbr\" (expected one of: exact, contains,"
                + " regex, number, json_schema, choice)\n", run.err());
    }

    @Test
    void refusesBadOptions() {
        assertEquals("tokenwise eval: --concurrency: '0' (expected: an integer from 1 to 256)\n",
                eval("--models", "sim-good", "--concurrency", "0").err());
        assertEquals("tokenwise eval: --models is required, e.g. --models sim-small,sim-large\n", eval().err());
        assertEquals(2, eval("--models").status());
        assertEquals(0, TokenwiseCli.run(new String[] {"--help"}, new PrintStream(new ByteArrayOutputStream()),
                new PrintStream(new ByteArrayOutputStream())));
        assertEquals(2, TokenwiseCli.run(new String[] {"evaluate"}, new PrintStream(new ByteArrayOutputStream()),
                new PrintStream(new ByteArrayOutputStream())));
    }
}
