package dev.tokenwise.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tokenwise.core.model.CallStatus;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.testing.LeakDetectingExtension;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** {@code /metrics}, {@code /api/v1/latency}, the recent calls and the dashboard summary through a running gateway. */
@ExtendWith(LeakDetectingExtension.class)
class MetricsEndToEndTest {
    static TestGateway gateway;
    static final List<String> ids = new ArrayList<>();
    static final int PLAIN = 3;
    static final int STREAMED = 2;

    @BeforeAll
    static void start() throws Exception {
        gateway = TestGateway.withSimulator();
        for (int i = 0; i < PLAIN + STREAMED; i++) {
            String body = "{\"model\":\"sim-small\",\"max_tokens\":20," + (i >= PLAIN ? "\"stream\":true," : "")
                    + "\"messages\":[{\"role\":\"user\",\"content\":\"Count the costs, call " + i + "\"}]}";
            HttpResponse<String> r = gateway.post("/v1/chat/completions", "tw-test-key", body, "X-Task-Id", "task-" + i);
            assertEquals(200, r.statusCode(), r.body());
            ids.add(r.headers().firstValue("x-request-id").orElseThrow());
        }
        HttpResponse<String> other = gateway.post("/v1/chat/completions", "tw-other-key",
                "{\"model\":\"sim-small\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertEquals(200, other.statusCode());
        gateway.awaitSinks();
        gateway.flushLedger();
        assertEquals(200, gateway.send("POST", "/api/v1/tasks/task-0/outcome", "tw-test-key", "{\"success\":true}").statusCode());
        assertEquals(200, gateway.send("POST", "/api/v1/tasks/task-1/outcome", "tw-test-key", "{\"success\":false}").statusCode());
    }

    @AfterAll
    static void stop() {
        gateway.close();
    }

    static double value(String scrape, String series) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " (\\S+)$").matcher(scrape);
        assertTrue(m.find(), "no line " + series);
        return Double.parseDouble(m.group(1));
    }

    private static List<UsageRecord> demoRecords() {
        return gateway.sunk.stream().filter(r -> r.team().equals("demo")).toList();
    }

    @Test
    void metricsCountWhatTheCallsRecorded() throws Exception {
        HttpResponse<String> r = gateway.get("/metrics", TestGateway.ADMIN_KEY);
        assertEquals(200, r.statusCode());
        assertEquals("text/plain; version=0.0.4; charset=utf-8", r.headers().firstValue("content-type").orElseThrow());
        String s = r.body();
        java.nio.file.Files.writeString(java.nio.file.Path.of("target", "metrics-sample.txt"), s); // for docs and eyes
        List<UsageRecord> demo = demoRecords();
        assertEquals(PLAIN + STREAMED, demo.size());
        long input = demo.stream().mapToLong(x -> x.usage().inputTokens()).sum();
        long output = demo.stream().mapToLong(x -> x.usage().outputTokens()).sum();
        long costNanos = demo.stream().mapToLong(UsageRecord::costNanos).sum();
        assertTrue(costNanos > 0);
        assertEquals(PLAIN + STREAMED,
                value(s, "tokenwise_requests_total{model=\"sim-small\",provider=\"sim\",status=\"ok\",team=\"demo\"}"));
        assertEquals(1, value(s, "tokenwise_requests_total{model=\"sim-small\",provider=\"sim\",status=\"ok\",team=\"other\"}"));
        assertEquals(input, value(s, "tokenwise_tokens_total{direction=\"input\",model=\"sim-small\",team=\"demo\"}"));
        assertEquals(output, value(s, "tokenwise_tokens_total{direction=\"output\",model=\"sim-small\",team=\"demo\"}"));
        assertEquals(costNanos / 1e9, value(s, "tokenwise_cost_usd_total{model=\"sim-small\",team=\"demo\"}"), 1e-12);

        assertEquals(5.0, value(s, "tokenwise_budget_limit_usd{team=\"demo\"}"));
        assertEquals(costNanos / 1e9, value(s, "tokenwise_budget_spent_usd{team=\"demo\"}"), 1e-12);
        assertEquals(5.0 - costNanos / 1e9, value(s, "tokenwise_budget_remaining_usd{team=\"demo\"}"), 1e-12);
        assertFalse(s.contains("tokenwise_budget_limit_usd{team=\"other\"}"), "team other has no budget");

        int completed = PLAIN + STREAMED + 1;
        assertEquals(completed, value(s, "tokenwise_gateway_overhead_seconds_count"));
        assertEquals(completed, value(s, "tokenwise_upstream_latency_seconds_count{model=\"sim-small\",provider=\"sim\"}"));
        assertEquals(STREAMED, value(s, "tokenwise_time_to_first_token_seconds_count{model=\"sim-small\",provider=\"sim\"}"));

        assertEquals(0.5, value(s, "tokenwise_task_success_ratio{model=\"sim-small\"}"));
        long judgedCost = demo.stream().filter(x -> x.taskId().equals("task-0") || x.taskId().equals("task-1"))
                .mapToLong(UsageRecord::costNanos).sum();
        assertEquals(judgedCost / 1e9, value(s, "tokenwise_cost_per_success_usd{model=\"sim-small\"}"), 1e-12);
        assertEquals(0, value(s, "tokenwise_alerts_open{type=\"budget_threshold\"}"));
        assertEquals(0, value(s, "tokenwise_provider_circuit_state{provider=\"sim\"}"));
        assertTrue(value(s, "tokenwise_upstream_connections_idle") >= 1, "the simulator's keep-alive connection waits in the pool");
        assertEquals(0, value(s, "tokenwise_upstream_connects_remade_total"));
        assertEquals(0, value(s, "tokenwise_ledger_queue_depth"));
        assertEquals(1, value(s, "tokenwise_ledger_healthy"));
        assertEquals(0, value(s, "tokenwise_record_queue_depth"));
        assertEquals(0, value(s, "tokenwise_recording_stopped"));
        assertEquals(0, value(s, "tokenwise_ledger_rejected_records_total"));
        assertTrue(s.contains("jvm_memory_used_bytes{"));
        assertTrue(s.contains("netty_allocator_memory_used{"));
        assertFalse(s.contains("tw-test-key") || s.contains("demo-key") || s.contains("other-key"), "keys are never labels");
    }

    @Test
    void metricsNeedTheAdminKey() throws Exception {
        assertEquals(401, gateway.get("/metrics", null).statusCode());
        assertEquals(403, gateway.get("/metrics", "tw-test-key").statusCode());
        assertEquals(405, gateway.send("POST", "/metrics", TestGateway.ADMIN_KEY, "{}").statusCode());
    }

    @Test
    void latencyApiReportsPercentilesPerModel() throws Exception {
        HttpResponse<String> r = gateway.get("/api/v1/latency?window=5m", "tw-test-key");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode json = TestGateway.json(r.body());
        JsonNode small = json.get("models").get(0);
        assertEquals("sim-small", small.get("model").asText());
        assertEquals(PLAIN + STREAMED, small.get("overhead").get("count").asInt(), "a team key sees its team's calls");
        JsonNode admin = TestGateway.json(gateway.get("/api/v1/latency?window=5m", TestGateway.ADMIN_KEY).body());
        assertEquals(PLAIN + STREAMED + 1, admin.at("/models/0/overhead/count").asInt(), "the admin sees every team's");
        assertEquals(STREAMED, small.get("ttft").get("count").asInt());
        double p50 = small.get("upstream").get("p50").asDouble();
        assertTrue(p50 > 0 && p50 <= small.get("upstream").get("p99").asDouble()
                && small.get("upstream").get("p99").asDouble() <= small.get("upstream").get("max").asDouble(), r.body());
        assertEquals(400, gateway.get("/api/v1/latency?window=3d", "tw-test-key").statusCode());
        assertEquals(401, gateway.get("/api/v1/latency", null).statusCode());
    }

    @Test
    void recentCallsComeFromTheLedgerNewestFirst() throws Exception {
        JsonNode admin = TestGateway.json(gateway.get("/api/v1/requests?limit=50", TestGateway.ADMIN_KEY).body());
        assertEquals(PLAIN + STREAMED + 1, admin.get("data").size());
        assertEquals("other", admin.get("data").get(0).get("team").asText());
        JsonNode own = TestGateway.json(gateway.get("/api/v1/requests?limit=2", "tw-test-key").body());
        assertEquals(List.of(ids.get(4), ids.get(3)),
                List.of(own.get("data").get(0).get("id").asText(), own.get("data").get(1).get("id").asText()));
        assertEquals("task-4", own.get("data").get(0).get("task_id").asText());
        // The id leads to the full record.
        assertEquals(200, gateway.get("/api/v1/requests/" + ids.get(4), TestGateway.ADMIN_KEY).statusCode());
        assertEquals(400, gateway.get("/api/v1/requests?limit=0", TestGateway.ADMIN_KEY).statusCode());
    }

    @Test
    void dashboardSummaryShowsTeamsAgainstTheirBudgets() throws Exception {
        HttpResponse<String> r = gateway.get("/api/v1/dashboard/summary", TestGateway.ADMIN_KEY);
        assertEquals(200, r.statusCode(), r.body());
        JsonNode s = TestGateway.json(r.body());
        JsonNode demo = s.get("teams").get("shown").get(0);
        assertEquals("demo", demo.get("team").asText());
        assertEquals(5, demo.get("budget").get("limit_usd").asInt());
        long costNanos = demoRecords().stream().mapToLong(UsageRecord::costNanos).sum();
        assertEquals(costNanos, demo.get("budget").get("spent_usd").decimalValue().movePointRight(9).longValueExact());
        assertEquals(PLAIN + STREAMED + 1, s.get("totals").get("requests").asInt());
        assertEquals("sim-small", s.get("models").get("shown").get(0).get("model").asText());
        JsonNode team = TestGateway.json(gateway.get("/api/v1/dashboard/summary", "tw-test-key").body());
        assertEquals("demo", team.get("team").asText(), "a team's key sees its own team");
        assertEquals(1, team.at("/teams/count").asInt(), team.toString());
    }

    @Test
    void servesTheDashboardAndItsFiles() throws Exception {
        HttpResponse<String> page = gateway.get("/dashboard", null);
        assertEquals(200, page.statusCode());
        assertTrue(page.headers().firstValue("content-type").orElseThrow().startsWith("text/html"));
        assertTrue(page.body().contains("Tokenwise"));
        assertEquals(200, gateway.get("/dashboard/vendor/chart.umd.js", null).statusCode());
        assertEquals(200, gateway.get("/dashboard/app.js", null).statusCode());
        assertEquals(200, gateway.get("/favicon.ico", null).statusCode());
        assertEquals(404, gateway.get("/dashboard/nope.js", null).statusCode());
        assertTrue(gateway.get("/dashboard", TestGateway.ADMIN_KEY).body().contains("content=\"header\""));
        assertTrue(gateway.sunk.stream().allMatch(x -> x.status() == CallStatus.OK));
    }
}
