package dev.tokenwise.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;

/** The simulator bills as OpenAI does, so the billing audit raises nothing against it (the demo shows no false alarm). */
class SimulatorBillingTest {

    @Test
    void billsTheTokenThatEndsAnAnswerSoTheAuditFindsNoDiscrepancy() throws Exception {
        try (TestGateway gateway = TestGateway.withSimulator()) {
            for (int i = 0; i < 15; i++) {
                HttpResponse<String> r = gateway.post("/v1/chat/completions", "tw-test-key",
                        "{\"model\":\"sim-small\",\"messages\":[{\"role\":\"user\",\"content\":\"Tell me about " + i
                                + " things.\"}]}");
                assertEquals(200, r.statusCode(), r.body());
                JsonNode record = gateway.record(r);
                if ("stop".equals(record.get("finish_reason").asText())) {
                    assertEquals(record.get("local_output_tokens").asLong() + 1, record.get("output_tokens").asLong(),
                            "the text's tokens and the one that ends it");
                }
            }
            gateway.awaitSinks();
            String alerts = gateway.get("/api/v1/alerts", TestGateway.ADMIN_KEY).body();
            assertFalse(alerts.contains("billing_discrepancy"), alerts);
        }
    }
}
