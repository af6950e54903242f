package dev.tokenwise.server;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.tomakehurst.wiremock.WireMockServer;
import dev.tokenwise.core.accounting.AccountingCore;
import dev.tokenwise.core.accounting.UsageTotals;
import dev.tokenwise.core.budget.Budget;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.testing.LeakDetectingExtension;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Budgets are reservations: no burst of concurrent calls can spend past a limit. */
@ExtendWith(LeakDetectingExtension.class)
class BudgetEnforcementTest {
    // 3 + 1 ("user") + 8 (content) + 3 priming = 15 prompt tokens in o200k_base.
    static final String CHAT = "{\"model\":\"gpt-4o-mini\",\"max_tokens\":10,"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"Say hello, in a friendly way.\"}]}";
    static final String COMPLETION = "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"gpt-4o-mini\","
            + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hello there, friend! How are you today?\"},"
            + "\"finish_reason\":\"length\"}],\"usage\":{\"prompt_tokens\":15,\"completion_tokens\":10,\"total_tokens\":25}}";
    /** 15 x $0.15/Mtok + 10 x $0.60/Mtok: the worst case and the actual cost are the same. */
    static final long CALL_NANOS = 15 * 150 + 10 * 600;
    static final int FITS = 5;

    WireMockServer upstream;
    TestGateway gateway;

    @BeforeEach
    void start() throws Exception {
        upstream = new WireMockServer(options().dynamicPort().containerThreads(80));
        upstream.start();
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody(COMPLETION).withFixedDelay(300)));
        String limitUsd = new java.math.BigDecimal(FITS * CALL_NANOS).movePointLeft(9).toPlainString();
        gateway = TestGateway.start("""
                providers:
                  openai: {type: openai, base_url: "http://127.0.0.1:%d/v1", api_key: sk-upstream}
                models:
                  - {name: gpt-4o-mini, provider: openai, price: {input_per_mtok: 0.15, output_per_mtok: 0.60, cached_input_per_mtok: 0.075, max_output_tokens: 16384}}
                """.formatted(upstream.port()), """
                teams:
                  - name: demo
                    budget: {limit_usd: %s, period: daily}
                    keys: [{key: tw-test-key, name: demo-key}]
                """.formatted(limitUsd));
    }

    @AfterEach
    void stop() {
        gateway.close();
        upstream.stop();
    }

    @Test
    void tenTimesMoreConcurrentCallsThanTheBudgetHoldsNeverOverspend() throws Exception {
        int calls = 10 * FITS;
        List<CompletableFuture<HttpResponse<String>>> pending = new ArrayList<>();
        for (int i = 0; i < calls; i++) {
            HttpRequest request = HttpRequest.newBuilder(gateway.uri("/v1/chat/completions"))
                    .timeout(Duration.ofSeconds(20))
                    .header("Authorization", "Bearer tw-test-key").header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(CHAT)).build();
            pending.add(gateway.http.sendAsync(request, HttpResponse.BodyHandlers.ofString()));
        }
        int ok = 0;
        int refused = 0;
        for (CompletableFuture<HttpResponse<String>> f : pending) {
            HttpResponse<String> response = f.get();
            if (response.statusCode() == 200) {
                ok++;
            } else {
                assertEquals(402, response.statusCode(), response.body());
                JsonNode error = TestGateway.json(response.body()).get("error");
                assertEquals("budget_exceeded", error.get("type").asText());
                assertEquals("budget_exceeded", error.get("code").asText());
                assertTrue(error.get("message").asText().contains("team demo has $"), error.get("message").asText());
                assertTrue(error.get("message").asText().contains(" left this day"), error.get("message").asText());
                refused++;
            }
        }
        assertEquals(FITS, ok, "exactly the calls the budget holds succeed");
        assertEquals(calls - FITS, refused);
        upstream.verify(FITS, postRequestedFor(urlEqualTo("/v1/chat/completions"))); // nothing else was forwarded

        // The books agree to the nano-USD: records, live totals and the budget.
        List<UsageRecord> records = gateway.awaitRecords(FITS);
        long recordSum = records.stream().mapToLong(UsageRecord::costNanos).sum();
        assertEquals(FITS * CALL_NANOS, recordSum);
        UsageTotals totals = gateway.app.accounting().totals().get(new AccountingCore.UsageKey("demo", "demo-key", "gpt-4o-mini"));
        assertEquals(recordSum, totals.costNanos());
        assertEquals(FITS, totals.calls());
        Budget.Snapshot budget = gateway.app.budgets().team("demo").snapshot(System.currentTimeMillis());
        assertEquals(recordSum, budget.spentNanos());
        assertEquals(0, budget.reservedNanos());
        assertEquals(0, budget.remainingNanos());
        assertTrue(budget.spentNanos() <= budget.limitNanos());
        gateway.flushLedger();
        assertEquals(recordSum, gateway.app.ledger().totalCostNanos(), "the ledger holds the same sum");
        JsonNode usage = TestGateway.json(gateway.get("/api/v1/usage?group_by=team", TestGateway.ADMIN_KEY).body());
        assertEquals(recordSum, usage.at("/data/0/cost_nanos").asLong(), "the usage API reports the same sum");
    }

    @Test
    void refusesACallWhoseWorstCaseDoesNotFitAndForwardsNothing() throws Exception {
        String huge = CHAT.replace("\"max_tokens\":10", "\"max_tokens\":100000");
        HttpResponse<String> response = gateway.post("/v1/chat/completions", "tw-test-key", huge);
        assertEquals(402, response.statusCode());
        upstream.verify(0, postRequestedFor(urlEqualTo("/v1/chat/completions")));
        Budget.Snapshot budget = gateway.app.budgets().team("demo").snapshot(System.currentTimeMillis());
        assertEquals(budget.limitNanos(), budget.remainingNanos(), "a refused call leaves no trace");
    }

    @Test
    void rejectsAMaxTokensThatIsNotAPositiveInteger() throws Exception {
        HttpResponse<String> response = gateway.post("/v1/chat/completions", "tw-test-key",
                CHAT.replace("\"max_tokens\":10", "\"max_tokens\":\"ten\""));
        assertEquals(400, response.statusCode());
        assertTrue(response.body().contains("max_tokens"), response.body());
    }

    @Test
    void enforcesAKeysOwnBudgetBesideItsTeams() throws Exception {
        String oneCallUsd = new java.math.BigDecimal(CALL_NANOS).movePointLeft(9).toPlainString();
        try (TestGateway keyed = TestGateway.start("""
                providers:
                  openai: {type: openai, base_url: "http://127.0.0.1:%d/v1", api_key: sk-upstream}
                models:
                  - {name: gpt-4o-mini, provider: openai, price: {input_per_mtok: 0.15, output_per_mtok: 0.60, cached_input_per_mtok: 0.075, max_output_tokens: 16384}}
                """.formatted(upstream.port()), """
                teams:
                  - name: lab
                    budget: {limit_usd: 10, period: monthly}
                    keys:
                      - {key: tw-small-key, name: small, budget: {limit_usd: %s, period: total}}
                      - {key: tw-big-key, name: big}
                """.formatted(oneCallUsd))) {
            assertEquals(200, keyed.post("/v1/chat/completions", "tw-small-key", CHAT).statusCode());
            HttpResponse<String> refused = keyed.post("/v1/chat/completions", "tw-small-key", CHAT);
            assertEquals(402, refused.statusCode());
            assertTrue(refused.body().contains("key small has $0.00 of $0.00000825 left in total"), refused.body());
            assertEquals(200, keyed.post("/v1/chat/completions", "tw-big-key", CHAT).statusCode(),
                    "the team's other key is not limited by it");
            keyed.awaitRecords(2); // a call is booked just after its response: wait for both to settle
            Budget.Snapshot team = keyed.app.budgets().team("lab").snapshot(System.currentTimeMillis());
            assertEquals(2 * CALL_NANOS, team.spentNanos(), "the refused call left no trace in the team's budget");
        }
    }
}
