package dev.tokenwise.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tokenwise.core.testing.LeakDetectingExtension;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Tasks, outcomes and efficiency figures through a running gateway. */
@ExtendWith(LeakDetectingExtension.class)
class EfficiencyEndToEndTest {
    static TestGateway gateway;

    @BeforeAll
    static void start() throws Exception {
        gateway = TestGateway.withSimulator();
    }

    @AfterAll
    static void stop() {
        gateway.close();
    }

    private static HttpResponse<String> call(String task, String prompt) throws Exception {
        return gateway.post("/v1/chat/completions", "tw-test-key", "{\"model\":\"sim-small\",\"max_tokens\":30,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"" + prompt + "\"}]}", "X-Task-Id", task);
    }

    @Test
    void reportsCostPerSuccessfulTaskWithRetriesCounted() throws Exception {
        long costA = 0;
        for (String prompt : new String[] {"Summarise the memo", "Summarise the memo"}) { // the second is a retry
            costA += gateway.record(call("task-a", prompt)).get("cost_nanos").asLong();
        }
        long costB = gateway.record(call("task-b", "Translate the note")).get("cost_nanos").asLong();
        gateway.flushLedger();

        assertEquals(200, gateway.send("POST", "/api/v1/tasks/task-a/outcome", "tw-test-key", "{\"success\":true}").statusCode());
        assertEquals(200, gateway.send("POST", "/api/v1/tasks/task-b/outcome", "tw-test-key", "{\"success\":false}").statusCode());
        assertEquals(404, gateway.send("POST", "/api/v1/tasks/no-such-task/outcome", "tw-test-key", "{\"success\":true}").statusCode());
        assertEquals(400, gateway.send("POST", "/api/v1/tasks/task-a/outcome", "tw-test-key", "{\"success\":\"yes\"}").statusCode());

        JsonNode task = TestGateway.json(gateway.get("/api/v1/tasks/task-a", "tw-test-key").body());
        assertEquals(2, task.get("calls").asInt());
        assertEquals(1, task.get("retries").asInt());
        assertTrue(task.get("success").asBoolean());

        JsonNode efficiency = TestGateway.json(gateway.get("/api/v1/efficiency?group_by=model", TestGateway.ADMIN_KEY).body());
        JsonNode sim = efficiency.get("data").get(0);
        assertEquals("sim-small", sim.get("model").asText());
        assertEquals(2, sim.get("tasks").asInt());
        assertEquals(1, sim.get("succeeded").asInt());
        assertEquals(1, sim.get("failed").asInt());
        assertEquals(3, sim.get("calls").asInt());
        assertEquals(1, sim.get("retries").asInt());
        // Cost per success counts every task with an outcome: the failed one is what the success really cost.
        assertEquals(costA + costB, sim.get("cost_per_success_usd").decimalValue().movePointRight(9).longValueExact());
        assertEquals(costB, sim.get("wasted_cost_usd").decimalValue().movePointRight(9).longValueExact());

        HttpResponse<String> alerts = gateway.get("/api/v1/alerts", TestGateway.ADMIN_KEY);
        assertEquals(200, alerts.statusCode());
        assertTrue(TestGateway.json(alerts.body()).isArray());
    }
}
