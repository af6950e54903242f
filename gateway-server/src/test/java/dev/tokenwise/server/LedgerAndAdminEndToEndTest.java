package dev.tokenwise.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tokenwise.core.config.GatewayConfig;
import dev.tokenwise.core.testing.LeakDetectingExtension;
import dev.tokenwise.providers.pricing.YamlPriceCatalog;
import dev.tokenwise.server.config.ConfigLoader;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The ledger, the usage API and the admin API through a real gateway, across a restart. */
@ExtendWith(LeakDetectingExtension.class)
class LedgerAndAdminEndToEndTest {
    static final String CHAT = "{\"model\":\"sim-small\",\"max_tokens\":20,"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"Count to three.\"}]}";

    /** A gateway with team demo (daily budget $5, key demo-key) on the simulator, its ledger at {@code ledger}. */
    static GatewayConfig config(String ledger) {
        String yaml = """
                server: {host: 127.0.0.1, port: 0}
                admin: {key: %s}
                storage: {path: %s}
                pricing: {catalog: ../config/prices.yaml}
                providers:
                  sim: {type: simulator, chunk_delay_ms: 1, first_token_delay_ms: 1}
                models:
                  - {name: sim-small, provider: sim}
                teams:
                  - name: demo
                    budget: {limit_usd: 5, period: daily}
                    keys: [{key: tw-test-key, name: demo-key}]
                """.formatted(TestGateway.ADMIN_KEY, ledger);
        return ConfigLoader.parse(yaml, Path.of("."), Map.of(), YamlPriceCatalog::load);
    }

    @Test
    void booksSurviveARestartAndTheUsageApiAgreesWithTheRecords() throws Exception {
        String ledger = TestGateway.freshLedgerPath();
        long spent = 0;
        String createdKey;
        try (TestGateway gateway = new TestGateway(config(ledger))) {
            for (int i = 0; i < 3; i++) {
                HttpResponse<String> r = gateway.post("/v1/chat/completions", "tw-test-key", CHAT);
                assertEquals(200, r.statusCode());
                spent += gateway.record(r).get("cost_nanos").asLong();
            }
            // The admin API: a new team with a budget and a key, shown once.
            HttpResponse<String> team = gateway.send("POST", "/api/v1/teams", TestGateway.ADMIN_KEY,
                    "{\"name\":\"research\",\"budget\":{\"limit_usd\":0.5,\"period\":\"monthly\"}}");
            assertEquals(201, team.statusCode(), team.body());
            HttpResponse<String> key = gateway.send("POST", "/api/v1/teams/research/keys", TestGateway.ADMIN_KEY,
                    "{\"name\":\"r-key\"}");
            assertEquals(201, key.statusCode(), key.body());
            createdKey = TestGateway.json(key.body()).get("key").asText();
            assertEquals(200, gateway.post("/v1/chat/completions", createdKey, CHAT).statusCode());
            assertEquals(403, gateway.get("/api/v1/teams", "tw-test-key").statusCode());
            assertEquals(401, gateway.get("/api/v1/teams", null).statusCode());

            gateway.flushLedger();
            JsonNode health = TestGateway.json(gateway.get("/healthz", TestGateway.ADMIN_KEY).body());
            assertEquals("ok", health.get("status").asText());
            assertTrue(health.at("/ledger/healthy").asBoolean());
            assertEquals(0, health.at("/ledger/pending_records").asLong());
            assertEquals("closed", health.at("/providers/sim/circuit").asText());
            JsonNode usage = TestGateway.json(gateway.get("/api/v1/usage?group_by=team", TestGateway.ADMIN_KEY).body());
            JsonNode demo = row(usage, "team", "demo");
            assertEquals(3, demo.get("requests").asInt());
            assertEquals(spent, demo.get("cost_nanos").asLong());
            // A team key sees only its own team.
            JsonNode own = TestGateway.json(gateway.get("/api/v1/usage?group_by=team", "tw-test-key").body());
            assertEquals(1, own.get("data").size());
        }

        // Restart on the same ledger: spend of the period, API-created teams and keys come back.
        try (TestGateway gateway = new TestGateway(config(ledger))) {
            JsonNode demo = TestGateway.json(gateway.get("/api/v1/teams/demo", TestGateway.ADMIN_KEY).body());
            assertEquals(spent, demo.get("spent_usd").decimalValue().movePointRight(9).longValueExact(),
                    "the period's spend is restored from the ledger");
            assertEquals(200, gateway.post("/v1/chat/completions", createdKey, CHAT).statusCode(),
                    "a key created through the API works after a restart");
            HttpResponse<String> revoke = gateway.send("DELETE", "/api/v1/keys/r-key", TestGateway.ADMIN_KEY, null);
            assertEquals(200, revoke.statusCode(), revoke.body());
            assertEquals(401, gateway.post("/v1/chat/completions", createdKey, CHAT).statusCode(),
                    "a revoked key is refused at once");
        }
        try (TestGateway gateway = new TestGateway(config(ledger))) {
            assertEquals(401, gateway.post("/v1/chat/completions", createdKey, CHAT).statusCode(),
                    "a revocation survives a restart");
        }
    }

    private static JsonNode row(JsonNode usage, String field, String value) {
        for (JsonNode row : usage.get("data")) {
            if (value.equals(row.get(field).asText())) {
                return row;
            }
        }
        throw new AssertionError("no row " + field + "=" + value + " in " + usage);
    }
}
