package dev.tokenwise.server;

import static dev.tokenwise.server.LedgerAndAdminEndToEndTest.CHAT;
import static dev.tokenwise.server.LedgerAndAdminEndToEndTest.config;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tokenwise.core.testing.LeakDetectingExtension;
import java.math.BigDecimal;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A key's own budget set, replaced and removed through the admin API after the key was made, on a real gateway:
 * what the key spent this period counts against the new limit, a call past it gets 402 while its team still has
 * money, and the change survives a restart on the same SQLite ledger.
 */
@ExtendWith(LeakDetectingExtension.class)
class KeyBudgetEndToEndTest {
    private static final String BUDGET = "/api/v1/keys/demo-key/budget";

    /** A daily budget of {@code nanos}, as the API's body. */
    private static String daily(long nanos) {
        return "{\"limit_usd\":" + BigDecimal.valueOf(nanos, 9).toPlainString() + ",\"period\":\"daily\"}";
    }

    private static long spentNanos(TestGateway gateway) throws Exception {
        gateway.flushLedger();
        JsonNode usage = TestGateway.json(gateway.get("/api/v1/usage?group_by=key", TestGateway.ADMIN_KEY).body());
        for (JsonNode row : usage.get("data")) {
            if (row.path("key_id").asText().equals("demo-key")) {
                return row.get("cost_nanos").asLong();
            }
        }
        return 0;
    }

    private static int chat(TestGateway gateway) throws Exception {
        return gateway.post("/v1/chat/completions", "tw-test-key", CHAT).statusCode();
    }

    @Test
    void aKeysBudgetSetReplacedAndRemovedAfterItWasMadeHoldsAndSurvivesARestart() throws Exception {
        String ledger = TestGateway.freshLedgerPath();
        long spent;
        try (TestGateway gateway = new TestGateway(config(ledger))) {
            assertEquals(200, chat(gateway));
            assertEquals(200, chat(gateway));
            spent = spentNanos(gateway);
            assertTrue(spent > 0, "the simulator's calls cost something");

            // One nano-dollar more than the key spent before it had a budget: its next call cannot fit.
            HttpResponse<String> set = gateway.send("PUT", BUDGET, TestGateway.ADMIN_KEY, daily(spent + 1));
            assertEquals(200, set.statusCode(), set.body());
            JsonNode key = TestGateway.json(set.body());
            assertEquals("demo-key", key.get("id").asText());
            assertEquals("daily", key.at("/budget/period").asText());
            assertTrue(key.get("key") == null, "no secret in the answer: " + set.body());

            HttpResponse<String> refused = gateway.post("/v1/chat/completions", "tw-test-key", CHAT);
            assertEquals(402, refused.statusCode(), refused.body());
            assertTrue(refused.body().contains("key demo-key has $0.000000001 of "), refused.body());
            JsonNode team = TestGateway.json(gateway.get("/api/v1/teams/demo", TestGateway.ADMIN_KEY).body());
            assertTrue(team.get("remaining_usd").decimalValue().compareTo(BigDecimal.ONE) > 0,
                    "the team still has money: " + team);

            assertEquals(200, gateway.send("PUT", BUDGET, TestGateway.ADMIN_KEY, daily(1_000_000_000L)).statusCode());
            assertEquals(200, chat(gateway), "the raised budget admits the call at once");

            HttpResponse<String> removed = gateway.send("DELETE", BUDGET, TestGateway.ADMIN_KEY, null);
            assertEquals(200, removed.statusCode(), removed.body());
            assertTrue(TestGateway.json(removed.body()).get("budget").isNull(), removed.body());
            assertEquals(200, chat(gateway), "the key spends within its team's budget only");

            // Set again after calls made without a budget of its own: they count too.
            spent = spentNanos(gateway);
            assertEquals(200, gateway.send("PUT", BUDGET, TestGateway.ADMIN_KEY, daily(spent + 1)).statusCode());
            assertEquals(402, chat(gateway), "every call of the period counts against the new limit");
        }

        try (TestGateway gateway = new TestGateway(config(ledger))) {
            JsonNode listed = TestGateway.json(gateway.get("/api/v1/keys", TestGateway.ADMIN_KEY).body()).get("data");
            assertEquals(0, listed.get(0).at("/budget/limit_usd").decimalValue()
                    .compareTo(BigDecimal.valueOf(spent + 1, 9)), "the key's budget survives a restart: " + listed);
            assertEquals(402, chat(gateway), "and holds with the period's spend restored from the ledger");
            assertEquals(200, gateway.send("DELETE", BUDGET, TestGateway.ADMIN_KEY, null).statusCode());
        }
        try (TestGateway gateway = new TestGateway(config(ledger))) {
            assertEquals(200, chat(gateway), "a removed budget stays removed after a restart");
        }
    }

    @Test
    void refusesTheBudgetOfAnUnknownOrRevokedKeyAndABadBody() throws Exception {
        try (TestGateway gateway = new TestGateway(config(TestGateway.freshLedgerPath()))) {
            HttpResponse<String> unknown = gateway.send("PUT", "/api/v1/keys/nope/budget", TestGateway.ADMIN_KEY,
                    daily(1));
            assertEquals(404, unknown.statusCode(), unknown.body());
            assertTrue(unknown.body().contains("no key nope"), unknown.body());
            HttpResponse<String> bad = gateway.send("PUT", BUDGET, TestGateway.ADMIN_KEY, "{\"limit_usd\":1}");
            assertEquals(400, bad.statusCode(), bad.body());
            assertTrue(bad.body().contains("period: missing"), bad.body());
            assertEquals(401, gateway.send("PUT", BUDGET, null, daily(1)).statusCode());
            assertEquals(403, gateway.send("PUT", BUDGET, "tw-test-key", daily(1)).statusCode(),
                    "a key cannot raise its own budget");
            assertEquals(405, gateway.send("GET", BUDGET, TestGateway.ADMIN_KEY, null).statusCode());

            assertEquals(200, gateway.send("DELETE", "/api/v1/keys/demo-key", TestGateway.ADMIN_KEY, null).statusCode());
            HttpResponse<String> revoked = gateway.send("PUT", BUDGET, TestGateway.ADMIN_KEY, daily(1));
            assertEquals(409, revoked.statusCode(), revoked.body());
            assertTrue(revoked.body().contains("key demo-key is revoked"), revoked.body());
        }
    }
}
