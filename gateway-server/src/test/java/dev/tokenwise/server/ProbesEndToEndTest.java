package dev.tokenwise.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tokenwise.core.testing.LeakDetectingExtension;
import java.net.http.HttpResponse;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Scheduled probes in a running gateway: two simulator models, one stable, one that degrades after 100 calls
 * (accuracy 0.95 → 0.5, twice as verbose). The probes call the gateway's own port with a key of team
 * {@code probes} (created at start-up), so every probe is a recorded, priced call.
 */
@ExtendWith(LeakDetectingExtension.class)
class ProbesEndToEndTest {
    private static final int TASKS_PER_RUN = 10;
    private static final int DEGRADE_AFTER_CALLS = 100;

    @Test
    void catchesADegradationWithinABoundedNumberOfProbeTasksAndLeavesTheStableModelAlone() throws Exception {
        try (TestGateway gateway = TestGateway.start("""
                providers:
                  sim: {type: simulator, chunk_delay_ms: 0, first_token_delay_ms: 0}
                models:
                  - {name: sim-steady, provider: sim, simulate: {accuracy: 0.9, seed: 3},
                     price: {input_per_mtok: 0.5, output_per_mtok: 1.5}}
                  - {name: sim-fading, provider: sim, price: {input_per_mtok: 0.5, output_per_mtok: 1.5},
                     simulate: {accuracy: 0.95, seed: 3, degrade: {after_calls: %d, accuracy: 0.5, verbosity: 2.0}}}
                probes: {interval_seconds: 1, models: [sim-steady, sim-fading], tasks_per_run: %d, team: probes,
                         reference_runs: 5}
                """.formatted(DEGRADE_AFTER_CALLS, TASKS_PER_RUN))) {
            JsonNode alert = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            while (alert == null && System.nanoTime() < deadline) {
                Thread.sleep(500);
                for (JsonNode a : TestGateway.JSON.readTree(gateway.get("/api/v1/alerts", TestGateway.ADMIN_KEY).body())) {
                    if (a.path("model").asText().equals("sim-fading") && a.path("metric").asText().equals("probe_pass_rate")) {
                        alert = a;
                    }
                }
            }
            assertNotNull(alert, "no probe alert for sim-fading within 90 s");
            assertEquals("quality_drift", alert.path("type").asText());
            assertEquals("probe", alert.path("source").asText());
            assertTrue(alert.path("message").asText().contains("probe tasks (tokens per solved task"), alert.toString());

            JsonNode probes = TestGateway.JSON.readTree(gateway.get("/api/v1/probes", "tw-test-key").body());
            assertTrue(probes.path("enabled").asBoolean());
            assertEquals(1, probes.path("interval_seconds").asInt());
            JsonNode fading = model(probes, "sim-fading");
            int runs = fading.path("runs").size();
            int tasksAfterDegrade = (runs - DEGRADE_AFTER_CALLS / TASKS_PER_RUN) * TASKS_PER_RUN;
            assertTrue(tasksAfterDegrade <= 200, "caught after " + tasksAfterDegrade + " probe tasks of the worse model");
            assertTrue(fading.path("reference").path("pinned").asBoolean());
            assertTrue(fading.path("runs").get(0).path("pass_rate").asDouble() > 0.5, fading.toString());

            JsonNode steady = model(probes, "sim-steady");
            assertFalse(steady.path("alarmed").asBoolean(), steady.toString());
            for (JsonNode a : TestGateway.JSON.readTree(gateway.get("/api/v1/alerts", TestGateway.ADMIN_KEY).body())) {
                boolean drift = a.path("type").asText().equals("quality_drift");
                assertFalse(drift && a.path("model").asText().equals("sim-steady"), "a stable model raises no drift: " + a);
            }

            // Probes are ordinary calls of team probes: in the ledger, with their outcomes.
            JsonNode byTeam = TestGateway.JSON.readTree(gateway.get("/api/v1/efficiency?group_by=team",
                    TestGateway.ADMIN_KEY).body());
            JsonNode team = null;
            for (JsonNode g : byTeam.path("data")) {
                if (g.path("team").asText().equals("probes")) {
                    team = g;
                }
            }
            assertNotNull(team, byTeam.toString());
            assertTrue(team.path("tasks").asInt() >= runs * TASKS_PER_RUN, team.toString());
            assertTrue(team.path("cost_usd").asDouble() > 0, team.toString());

            // Only the admin acknowledges; acknowledging closes the alert and starts a new reference.
            assertEquals(403, gateway.post("/api/v1/drift/sim-fading/acknowledge", "tw-test-key", "{}").statusCode());
            HttpResponse<String> ack = gateway.post("/api/v1/drift/sim-fading/acknowledge", TestGateway.ADMIN_KEY,
                    "{\"source\": \"probe\"}");
            assertEquals(200, ack.statusCode(), ack.body());
            assertFalse(TestGateway.JSON.readTree(ack.body()).path("data").get(0).path("reference").path("pinned")
                    .asBoolean(), ack.body());
            JsonNode after = TestGateway.JSON.readTree(gateway.get("/api/v1/alerts", TestGateway.ADMIN_KEY).body());
            for (JsonNode a : after) {
                assertFalse(a.path("model").asText().equals("sim-fading") && a.path("source").asText().equals("probe"),
                        a.toString());
            }
            assertEquals(404, gateway.post("/api/v1/drift/nope/acknowledge", TestGateway.ADMIN_KEY, "").statusCode());
            assertEquals(400, gateway.post("/api/v1/drift/sim-fading/acknowledge", TestGateway.ADMIN_KEY,
                    "{\"source\": \"moon\"}").statusCode());
        }
    }

    private static JsonNode model(JsonNode probes, String name) {
        for (JsonNode m : probes.path("models")) {
            if (m.path("model").asText().equals(name)) {
                return m;
            }
        }
        throw new AssertionError("no model " + name + " in " + probes);
    }

    @Test
    void answersThatNoProbesAreConfigured() throws Exception {
        try (TestGateway gateway = TestGateway.withSimulator()) {
            HttpResponse<String> r = gateway.get("/api/v1/probes", "tw-test-key");
            assertEquals(200, r.statusCode());
            assertEquals("{\"enabled\":false,\"models\":[]}", r.body());
            assertEquals(401, gateway.get("/api/v1/probes", null).statusCode());
            assertNull(null);
        }
    }
}
