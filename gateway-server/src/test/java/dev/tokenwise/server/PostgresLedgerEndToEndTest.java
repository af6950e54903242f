package dev.tokenwise.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenwise.core.testing.LeakDetectingExtension;
import dev.tokenwise.core.testing.PostgresServer;
import dev.tokenwise.metrics.ledger.PostgresLedger;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A gateway with {@code storage.url} on a real PostgreSQL: the ledger's APIs answer as on SQLite, and records made
 * while PostgreSQL is down wait in the writer's queue (reported by {@code /healthz}) and land when it is back.
 */
@ExtendWith(LeakDetectingExtension.class)
class PostgresLedgerEndToEndTest {
    @RegisterExtension
    static final PostgresServer.PerClass postgres = new PostgresServer.PerClass();

    private static String config(String storage) {
        return config(storage, "");
    }

    private static String config(String storage, String instanceId) {
        return """
                %s
                server: {host: 127.0.0.1, port: 0, max_request_bytes: 65536, max_header_bytes: 8192}
                admin: {key: %s}
                storage: {%s}
                pricing: {catalog: ../config/prices.yaml}
                providers:
                  sim: {type: simulator, chunk_delay_ms: 1, first_token_delay_ms: 1}
                models:
                  - {name: sim-small, provider: sim}
                %s
                """.formatted(instanceId.isEmpty() ? "" : "instance_id: " + instanceId, TestGateway.ADMIN_KEY, storage,
                TestGateway.DEFAULT_TEAMS);
    }

    private static HttpResponse<String> chat(TestGateway gateway, String key, String task, String prompt) throws Exception {
        HttpResponse<String> r = gateway.post("/v1/chat/completions", key, "{\"model\":\"sim-small\",\"max_tokens\":30,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"" + prompt + "\"}]}", "X-Task-Id", task);
        assertEquals(200, r.statusCode(), r.body());
        return r;
    }

    /** The same calls on a gateway; what the ledger's APIs answer afterwards, without ids, times and latencies. */
    private static List<JsonNode> answers(TestGateway gateway) throws Exception {
        List<String> ids = new ArrayList<>();
        for (String[] call : new String[][] {{"tw-test-key", "task-a", "Summarise the memo"},
                {"tw-test-key", "task-a", "Summarise the memo"}, {"tw-test-key", "task-b", "Translate the note"},
                {"tw-other-key", "task-c", "Write a haiku"}}) {
            ids.add(chat(gateway, call[0], call[1], call[2]).headers().firstValue("x-request-id").orElseThrow());
        }
        gateway.flushLedger();
        assertEquals(200, gateway.send("POST", "/api/v1/tasks/task-a/outcome", "tw-test-key", "{\"success\":true}")
                .statusCode());
        assertEquals(200, gateway.send("POST", "/api/v1/tasks/task-b/outcome", "tw-test-key", "{\"success\":false}")
                .statusCode());
        List<JsonNode> answers = new ArrayList<>();
        for (String path : List.of("/api/v1/usage?group_by=team", "/api/v1/usage?group_by=model",
                "/api/v1/usage?group_by=key", "/api/v1/usage?group_by=day", "/api/v1/efficiency?group_by=model",
                "/api/v1/efficiency?group_by=team")) {
            HttpResponse<String> r = gateway.get(path, TestGateway.ADMIN_KEY);
            assertEquals(200, r.statusCode(), path + ": " + r.body());
            answers.add(TestGateway.json(r.body()).get("data"));
        }
        for (String task : List.of("task-a", "task-b")) {
            HttpResponse<String> r = gateway.get("/api/v1/tasks/" + task, "tw-test-key");
            assertEquals(200, r.statusCode(), r.body());
            answers.add(withoutTimes(TestGateway.json(r.body())));
        }
        for (String id : ids) {
            answers.add(withoutTimes(gateway.record(id)));
        }
        return answers;
    }

    private static JsonNode withoutTimes(JsonNode node) {
        ObjectNode copy = node.deepCopy();
        List<String> drop = new ArrayList<>();
        copy.fieldNames().forEachRemaining(name -> {
            if (name.equals("id") || name.contains("latency") || name.contains("ttft") || name.contains("_at")
                    || name.startsWith("first") || name.startsWith("last")) {
                drop.add(name);
            }
        });
        copy.remove(drop);
        return copy;
    }

    @Test
    void answersUsageRequestsTasksAndEfficiencyAsTheSqliteLedgerDoes() throws Exception {
        List<JsonNode> onSqlite;
        try (TestGateway sqlite = TestGateway.fromYaml(config("path: " + TestGateway.freshLedgerPath()))) {
            onSqlite = answers(sqlite);
        }
        List<JsonNode> onPostgres;
        try (TestGateway onServer = TestGateway.fromYaml(config("url: \"" + postgres.server().createDatabase() + "\""))) {
            assertTrue(onServer.app.ledger() instanceof PostgresLedger, "storage.url opens the PostgreSQL ledger");
            onPostgres = answers(onServer);
        }
        assertEquals(onSqlite.size(), onPostgres.size());
        for (int i = 0; i < onSqlite.size(); i++) {
            assertEquals(onSqlite.get(i), onPostgres.get(i), "answer " + i);
        }
        assertTrue(onSqlite.get(0).size() == 2, "usage of both teams: " + onSqlite.get(0));
    }

    @Test
    void twoInstancesWriteOneLedgerEachRecordNamingItsInstanceAndANewInstanceRestoresTheSpendFromIt() throws Exception {
        String storage = "url: \"" + postgres.server().createDatabase() + "\"";
        long spent = 0;
        String lastOfB = null;
        try (TestGateway a = TestGateway.fromYaml(config(storage, "gw-a"));
             TestGateway b = TestGateway.fromYaml(config(storage, "gw-b"))) {
            for (int i = 0; i < 3; i++) {
                JsonNode ofA = a.record(chat(a, "tw-test-key", "t-a", "from a " + i));
                assertEquals("gw-a", ofA.path("instance_id").asText(), ofA.toString());
                spent += ofA.get("cost_nanos").asLong();
                JsonNode ofB = b.record(chat(b, "tw-test-key", "t-b", "from b " + i));
                spent += ofB.get("cost_nanos").asLong();
                lastOfB = ofB.get("id").asText();
            }
            a.flushLedger();
            b.flushLedger();
            // A call B served, read from the shared ledger through A: it names the instance that served it.
            assertEquals("gw-b", a.record(lastOfB).path("instance_id").asText());
            // Either instance's usage API reads the one ledger: both instances' calls.
            for (TestGateway g : List.of(a, b)) {
                JsonNode usage = TestGateway.json(g.get("/api/v1/usage?group_by=team", "tw-test-key")
                        .body()).get("data").get(0);
                assertEquals(6, usage.get("requests").asLong(), usage.toString());
            }
        }
        assertTrue(spent > 0);
        try (TestGateway c = TestGateway.fromYaml(config(storage))) {
            JsonNode demo = TestGateway.json(c.get("/api/v1/teams/demo", TestGateway.ADMIN_KEY).body());
            assertEquals(spent, demo.get("spent_usd").decimalValue().movePointRight(9).longValueExact(),
                    "the period's spend of both instances, restored from PostgreSQL at start-up: " + demo);
        }
    }

    @Test
    void twoInstancesOnOneLedgerReachTheSameRoutingPictureFromEachOthersTasks() throws Exception {
        String yaml = config("url: \"" + postgres.server().createDatabase() + "\"")
                .replace("  - {name: sim-small, provider: sim}", """
                          - {name: sim-small, provider: sim}
                          - {name: sim-large, provider: sim}
                        routes:
                          - {name: auto, candidates: [sim-small, sim-large], min_success_rate: 0.5}""");
        try (TestGateway a = TestGateway.fromYaml(yaml); TestGateway b = TestGateway.fromYaml(yaml)) {
            for (int i = 0; i < 6; i++) {
                HttpResponse<String> r = a.post("/v1/chat/completions", "tw-test-key", "{\"model\":\"auto\","
                        + "\"max_tokens\":20,\"messages\":[{\"role\":\"user\",\"content\":\"task " + i + "\"}]}",
                        "X-Task-Id", "routed-" + i);
                assertEquals(200, r.statusCode(), r.body());
                a.awaitSinks();
                assertEquals(200, a.send("POST", "/api/v1/tasks/routed-" + i + "/outcome", "tw-test-key",
                        "{\"success\":true}").statusCode());
            }
            a.flushLedger();
            // Instance b served none of these tasks: it learns them from the shared ledger at its next refresh.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Routing.SHARED_REFRESH.toSeconds() + 10);
            JsonNode seenByB;
            do {
                Thread.sleep(250);
                seenByB = TestGateway.json(b.get("/api/v1/routes/auto", TestGateway.ADMIN_KEY).body());
            } while (seenByB.path("tasks").asLong() < 6 && System.nanoTime() < deadline);
            assertEquals(6, seenByB.path("tasks").asLong(), seenByB.toString());
            JsonNode seenByA = TestGateway.json(a.get("/api/v1/routes/auto", TestGateway.ADMIN_KEY).body());
            for (int i = 0; i < 2; i++) {
                JsonNode inA = seenByA.path("candidates").get(i);
                JsonNode inB = seenByB.path("candidates").get(i);
                for (String field : List.of("model", "tasks", "solved", "success_rate", "success_rate_low", "share",
                        "posterior_success_rate")) {
                    assertEquals(inA.path(field), inB.path(field), field + " of " + inB);
                }
            }
            assertEquals(seenByA.path("current").asText(), seenByB.path("current").asText());
        }
    }

    @Test
    void queuesRecordsWhilePostgresIsDownAndWritesThemWhenItIsBack() throws Exception {
        try (TestGateway gateway = TestGateway.fromYaml(config("url: \"" + postgres.server().createDatabase() + "\""))) {
            String before = chat(gateway, "tw-test-key", "t", "before").headers().firstValue("x-request-id").orElseThrow();
            gateway.flushLedger();
            List<String> during = new ArrayList<>();
            postgres.server().stop();
            try {
                for (int i = 0; i < 20; i++) {
                    // Calls are answered while the database is away: the request path never waits for it.
                    during.add(chat(gateway, "tw-test-key", "t", "during " + i).headers().firstValue("x-request-id")
                            .orElseThrow());
                }
                gateway.awaitSinks();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                JsonNode health = null;
                while (System.nanoTime() < deadline) {
                    health = TestGateway.json(gateway.get("/healthz", TestGateway.ADMIN_KEY).body());
                    if (!health.get("ledger").get("healthy").asBoolean()) {
                        break;
                    }
                    Thread.sleep(50);
                }
                assertEquals("degraded", health.get("status").asText(), health.toString());
                assertFalse(health.get("ledger").get("healthy").asBoolean(), health.toString());
                assertEquals(20, health.get("ledger").get("pending_records").asLong(), health.toString());
                assertTrue(health.get("ledger").get("last_error").isTextual(), health.toString());
                String metrics = gateway.get("/metrics", TestGateway.ADMIN_KEY).body();
                assertTrue(metrics.contains("tokenwise_ledger_queue_depth 20.0"), "queue depth metric");
                Thread.sleep(2_000); // a few seconds down in all
            } finally {
                postgres.server().startAgain();
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (gateway.app.ledger().pendingRecords() > 0 && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertEquals(0, gateway.app.ledger().pendingRecords(), "the queued records landed");
            assertTrue(gateway.app.ledger().find(before).isPresent());
            for (String id : during) {
                assertTrue(gateway.app.ledger().find(id).isPresent(), id + " is in PostgreSQL");
            }
            JsonNode health = TestGateway.json(gateway.get("/healthz", TestGateway.ADMIN_KEY).body());
            assertEquals("ok", health.get("status").asText(), health.toString());
            assertEquals(21, gateway.app.ledger().committedRecords());
        }
    }
}
