package dev.tokenwise.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.spi.UsageSink;
import dev.tokenwise.core.testing.LeakDetectingExtension;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@code GET /healthz}: only the status without the admin key, the details with it; 503 and refused calls while
 * the records of calls cannot be booked.
 */
@ExtendWith(LeakDetectingExtension.class)
class HealthRouteTest {
    private static final String CHAT = "{\"model\":\"sim-small\",\"max_tokens\":5,"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}";

    @Test
    void showsOnlyTheStatusToAnyoneButTheAdmin() throws Exception {
        try (TestGateway gateway = TestGateway.withSimulator()) {
            assertEquals(200, gateway.post("/v1/chat/completions", "tw-test-key", CHAT).statusCode());

            for (String key : new String[] {null, "tw-test-key", "not-a-key"}) {
                HttpResponse<String> health = gateway.get("/healthz", key);
                assertEquals(200, health.statusCode(), health.body());
                assertEquals("{\"status\":\"ok\"}", health.body(),
                        "no provider, breaker, ledger error or queue for key " + key);
            }

            HttpResponse<String> admin = gateway.get("/healthz", TestGateway.ADMIN_KEY);
            assertEquals(200, admin.statusCode(), admin.body());
            JsonNode details = TestGateway.json(admin.body());
            assertEquals("ok", details.get("status").asText());
            assertTrue(details.at("/recording/flowing").asBoolean(), admin.body());
            assertTrue(details.at("/ledger/healthy").asBoolean(), admin.body());
            assertTrue(details.at("/ledger").has("last_error"), admin.body());
            assertEquals("closed", details.at("/providers/sim/circuit").asText(), admin.body());
            assertTrue(details.has("records_queued") && details.has("calls_in_flight"), admin.body());
            // The periodic tasks that keep the budgets right, each with its last failure or ok (PeriodicTaskTest).
            assertEquals("ok", details.at("/background/budget-reaper").asText(), admin.body());
        }
    }

    @Test
    void answers503AndRefusesCallsWhileASinkCannotTakeRecordsAndRecoversWhenItCan() throws Exception {
        AtomicReference<String> stopped = new AtomicReference<>();
        UsageSink ledgerLike = new UsageSink() {
            @Override
            public void accept(UsageRecord record) {
            }

            @Override
            public String stoppedReason() {
                return stopped.get();
            }
        };
        try (TestGateway gateway = withSimulator(ledgerLike)) {
            stopped.set("the ledger writer thread died");

            HttpResponse<String> health = gateway.get("/healthz", null);
            assertEquals(503, health.statusCode(), health.body());
            assertEquals("{\"status\":\"degraded\"}", health.body());
            JsonNode details = TestGateway.json(gateway.get("/healthz", TestGateway.ADMIN_KEY).body());
            assertFalse(details.at("/recording/flowing").asBoolean(), details.toString());
            assertEquals("the ledger writer thread died", details.at("/recording/stopped_reason").asText());

            HttpResponse<String> refused = gateway.post("/v1/chat/completions", "tw-test-key", CHAT);
            assertEquals(503, refused.statusCode(), refused.body());
            assertEquals("unavailable", TestGateway.json(refused.body()).at("/error/code").asText(), refused.body());
            assertFalse(refused.body().contains("ledger"), "the client is not told the gateway's insides");
            gateway.awaitSinks();
            assertEquals(0, gateway.sunk.size(), "nothing was served, so nothing to book");

            stopped.set(null);
            assertEquals(200, gateway.get("/healthz", null).statusCode());
            assertEquals(200, gateway.post("/v1/chat/completions", "tw-test-key", CHAT).statusCode());
        }
    }

    @Test
    void turnsDegradedAtOnceWhenTheRecordDispatcherDiesAndCountsTheUnwrittenRecordsAtShutdown() throws Exception {
        UsageSink fatal = record -> {
            throw new InternalError("the JVM is in trouble");
        };
        TestGateway gateway = withSimulator(fatal, 20);
        long unwritten;
        try {
            // A long stream in flight while the dispatcher dies: it is finished, but its record is never booked.
            String essay = "{\"model\":\"sim-small\",\"stream\":true,"
                    + "\"messages\":[{\"role\":\"user\",\"content\":\"Write a long essay about tokens.\"}]}";
            var streaming = gateway.http.sendAsync(java.net.http.HttpRequest.newBuilder(gateway.uri("/v1/chat/completions"))
                    .header("Authorization", "Bearer tw-test-key").header("Content-Type", "application/json")
                    .POST(java.net.http.HttpRequest.BodyPublishers.ofString(essay)).build(),
                    HttpResponse.BodyHandlers.ofString());
            HttpResponse<String> served = gateway.post("/v1/chat/completions", "tw-test-key",
                    CHAT.replace("\"max_tokens\":5", "\"max_tokens\":1"));
            assertEquals(200, served.statusCode(), served.body());
            assertFalse(streaming.isDone(), "precondition: the stream is still in flight");

            HttpResponse<String> health = awaitHealth(gateway, 503);
            assertEquals("{\"status\":\"degraded\"}", health.body());
            String reason = TestGateway.json(gateway.get("/healthz", TestGateway.ADMIN_KEY).body())
                    .at("/recording/stopped_reason").asText();
            assertTrue(reason.contains("record dispatcher stopped"), reason);
            assertTrue(reason.contains("the JVM is in trouble"), reason);
            assertEquals(503, gateway.post("/v1/chat/completions", "tw-test-key", CHAT).statusCode(),
                    "no new call is served that could not be booked");
            assertEquals(200, streaming.get(30, TimeUnit.SECONDS).statusCode(), "the call in flight was finished");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (gateway.app.accounting().inFlightCount() > 0 && System.nanoTime() < deadline) {
                Thread.sleep(2); // the stream settles; its record is offered and never handed on
            }
        } finally {
            unwritten = gateway.app.shutdown(0);
        }
        assertEquals(1, unwritten, "the stream's record never reached the ledger, and shutdown says so");
    }

    private static TestGateway withSimulator(UsageSink sink) throws InterruptedException {
        return withSimulator(sink, 1);
    }

    private static TestGateway withSimulator(UsageSink sink, int chunkDelayMillis) throws InterruptedException {
        return new TestGateway(dev.tokenwise.server.config.ConfigLoader.parse("""
                server: {host: 127.0.0.1, port: 0}
                admin: {key: %s}
                storage: {path: %s}
                pricing: {catalog: ../config/prices.yaml}
                providers:
                  sim: {type: simulator, chunk_delay_ms: %d, first_token_delay_ms: 1, max_output_words: 200}
                models:
                  - {name: sim-small, provider: sim}
                %s
                """.formatted(TestGateway.ADMIN_KEY, TestGateway.freshLedgerPath(), chunkDelayMillis,
                        TestGateway.DEFAULT_TEAMS),
                java.nio.file.Path.of("."), java.util.Map.of(),
                dev.tokenwise.providers.pricing.YamlPriceCatalog::load), List.of(sink));
    }

    private static HttpResponse<String> awaitHealth(TestGateway gateway, int status) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        HttpResponse<String> health = gateway.get("/healthz", null);
        while (health.statusCode() != status && System.nanoTime() < deadline) {
            Thread.sleep(5);
            health = gateway.get("/healthz", null);
        }
        assertNotNull(health);
        assertEquals(status, health.statusCode(), health.body());
        return health;
    }
}
