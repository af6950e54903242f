package dev.tokenwise.server;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.containing;
import static com.github.tomakehurst.wiremock.client.WireMock.equalToJson;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.tomakehurst.wiremock.WireMockServer;
import dev.tokenwise.core.budget.Budget;
import dev.tokenwise.core.testing.LeakDetectingExtension;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Every way a single request could make a provider bill more than was reserved is either reserved for or
 * refused: many choices, context the provider keeps, conflicting output caps, no cap at all, a model without a
 * price, and bodies a provider might read differently from the gateway.
 *
 * <p>Team {@code small} has $0.01 a day; {@code big} has $10. {@code gpt-4o-mini} costs 150 nano-USD an input
 * token and 600 an output token (catalog cap 16,384 output tokens); {@code capless} has the same prices and no
 * cap. The chat message below is 15 prompt tokens, so a worst case is {@code 15 x 150 + cap x choices x 600}.
 */
@ExtendWith(LeakDetectingExtension.class)
class BudgetBypassTest {
    static final String MESSAGES = "\"messages\":[{\"role\":\"user\",\"content\":\"Say hello, in a friendly way.\"}]";
    static final String COMPLETION = BudgetEnforcementTest.COMPLETION;
    static final long INPUT_NANOS = 15 * 150;

    WireMockServer upstream;
    TestGateway gateway;

    @BeforeEach
    void start() throws Exception {
        upstream = new WireMockServer(options().dynamicPort());
        upstream.start();
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody(COMPLETION)));
        gateway = TestGateway.fromYaml(config(upstream.port(), ""));
    }

    static String config(int port, String pricing) {
        return """
                server: {host: 127.0.0.1, port: 0, max_request_bytes: 65536, max_header_bytes: 8192}
                admin: {key: %s}
                storage: {path: %s}
                pricing: {catalog: ../config/prices.yaml%s}
                budgets: {stored_context_tokens: 100000}
                providers:
                  openai: {type: openai, base_url: "http://127.0.0.1:%d/v1", api_key: sk-upstream}
                models:
                  # The catalog's gpt-4o-mini, without its service tiers: a request that pins no tier reserves for the
                  # dearest one it may be served on (priority), and these tests are about caps and choices.
                  - {name: gpt-4o-mini, provider: openai, price: {input_per_mtok: 0.15, output_per_mtok: 0.60, cached_input_per_mtok: 0.075, max_output_tokens: 16384}}
                  - {name: capless, provider: openai, upstream_name: gpt-4o-mini, price: {input_per_mtok: 0.15, output_per_mtok: 0.60}}
                  - {name: house-model, provider: openai}
                teams:
                  - name: small
                    budget: {limit_usd: 0.01, period: daily}
                    keys: [{key: tw-small, name: small-key}]
                  - name: big
                    budget: {limit_usd: 10, period: daily}
                    keys: [{key: tw-big, name: big-key}]
                """.formatted(TestGateway.ADMIN_KEY, TestGateway.freshLedgerPath(), pricing, port);
    }

    @AfterEach
    void stop() {
        gateway.close();
        upstream.stop();
    }

    private HttpResponse<String> chat(String key, String fields) throws Exception {
        return gateway.post("/v1/chat/completions", key, "{\"model\":\"gpt-4o-mini\"," + fields + "," + MESSAGES + "}");
    }

    private static void assertRefusedFor(HttpResponse<String> response, long worstCaseNanos) throws Exception {
        assertEquals(402, response.statusCode(), response.body());
        String message = TestGateway.json(response.body()).at("/error/message").asText();
        String expected = "may cost up to " + dev.tokenwise.core.model.Money.format(worstCaseNanos);
        assertTrue(message.endsWith(expected), message + " (expected: ... " + expected + ")");
    }

    private void assertNothingLeftReserved() throws InterruptedException {
        gateway.awaitSinks(); // every call settled
        Budget.Snapshot small = gateway.app.budgets().team("small").snapshot(System.currentTimeMillis());
        assertEquals(0, small.reservedNanos());
        Budget.Snapshot big = gateway.app.budgets().team("big").snapshot(System.currentTimeMillis());
        assertEquals(0, big.reservedNanos());
    }

    @Test
    void reservesTheOutputOfEveryChoiceARequestAsksFor() throws Exception {
        // One choice of 200 tokens fits $0.01; 128 of them (n) do not, and nothing is forwarded.
        HttpResponse<String> one = chat("tw-small", "\"max_tokens\":200");
        assertEquals(200, one.statusCode(), one.body());
        assertRefusedFor(chat("tw-small", "\"max_tokens\":200,\"n\":128"), INPUT_NANOS + 200 * 128 * 600);
        assertRefusedFor(chat("tw-small", "\"max_tokens\":200,\"best_of\":100"), INPUT_NANOS + 200 * 100 * 600);
        upstream.verify(1, postRequestedFor(urlEqualTo("/v1/chat/completions")));
        assertEquals(400, chat("tw-big", "\"n\":129").statusCode());
        assertEquals(400, chat("tw-big", "\"n\":0").statusCode());
        assertNothingLeftReserved();
    }

    @Test
    void reservesForTheLargestOutputCapAndForwardsOnlyTheFieldTheProviderHonours() throws Exception {
        // A lenient server honouring only max_tokens would write 17,000 tokens: that is what is reserved.
        assertRefusedFor(chat("tw-small", "\"max_completion_tokens\":1,\"max_tokens\":17000"), INPUT_NANOS + 17_000 * 600);
        upstream.verify(0, postRequestedFor(urlEqualTo("/v1/chat/completions")));

        HttpResponse<String> admitted = chat("tw-big", "\"max_completion_tokens\":1,\"max_tokens\":16000");
        assertEquals(200, admitted.statusCode(), admitted.body());
        // Sent to an OpenAI-compatible server: only max_tokens, holding the largest cap the client named.
        upstream.verify(1, postRequestedFor(urlEqualTo("/v1/chat/completions"))
                .withRequestBody(equalToJson("{\"max_tokens\":16000}", true, true)));
        String sent = upstream.getAllServeEvents().get(0).getRequest().getBodyAsString();
        assertFalse(sent.contains("max_completion_tokens"), sent);
        assertEquals(0, gateway.record(admitted).get("flags").size());
    }

    @Test
    void reservesTheModelsOutputCapOrTheDocumentedDefaultWhenTheRequestNamesNone() throws Exception {
        // gpt-4o-mini: the catalog's 16,384; capless: budgets.default_max_output_tokens, 65,536 by default. (Its
        // input is reserved at the body's size in bytes, as no tokenizer is known for it: 90 bytes x 150.)
        HttpResponse<String> capless = gateway.post("/v1/chat/completions", "tw-small",
                "{\"model\":\"capless\"," + MESSAGES + "}");
        assertEquals(402, capless.statusCode(), capless.body());
        assertTrue(capless.body().contains("may cost up to $0.0393"), "65,536 x 600 = $0.0393216: " + capless.body());
        HttpResponse<String> catalogCap = chat("tw-small", "\"temperature\":0");
        assertEquals(200, catalogCap.statusCode(), "15 x 150 + 16,384 x 600 fits $0.01: " + catalogCap.body());
        assertNothingLeftReserved();
    }

    @Test
    void reservesTheContextTheProviderKeepsForAChainedResponse() throws Exception {
        String body = "{\"id\":\"resp_2\",\"object\":\"response\",\"status\":\"completed\",\"model\":\"gpt-4o-mini\","
                + "\"output\":[{\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\","
                + "\"text\":\"Again.\"}]}],\"usage\":{\"input_tokens\":40000,\"output_tokens\":3,\"total_tokens\":40003}}";
        upstream.stubFor(post(urlEqualTo("/v1/responses")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody(body)));

        // The stored context is reserved at budgets.stored_context_tokens (100,000 here): $0.015 > $0.01.
        HttpResponse<String> refused = gateway.post("/v1/responses", "tw-small",
                "{\"model\":\"gpt-4o-mini\",\"input\":\"Again\",\"max_output_tokens\":16,\"previous_response_id\":\"resp_1\"}");
        assertEquals(402, refused.statusCode(), refused.body());
        assertTrue(refused.body().contains("may cost up to $0.0150"), refused.body());
        HttpResponse<String> conversation = gateway.post("/v1/responses", "tw-small",
                "{\"model\":\"gpt-4o-mini\",\"input\":\"Again\",\"max_output_tokens\":16,\"conversation\":\"conv_1\"}");
        assertEquals(402, conversation.statusCode(), conversation.body());
        upstream.verify(0, postRequestedFor(urlEqualTo("/v1/responses")));

        // Admitted where it fits, and settled exactly at what the provider billed for the whole context.
        HttpResponse<String> admitted = gateway.post("/v1/responses", "tw-big",
                "{\"model\":\"gpt-4o-mini\",\"input\":\"Again\",\"max_output_tokens\":16,\"previous_response_id\":\"resp_1\"}");
        assertEquals(200, admitted.statusCode(), admitted.body());
        JsonNode record = gateway.record(admitted);
        assertEquals(40_000 * 150 + 3 * 600, record.get("cost_nanos").asLong());
        assertEquals("[\"stored_context\"]", record.get("flags").toString());
        assertNothingLeftReserved();
    }

    @Test
    void refusesAModelWithoutAPriceBeforeForwardingAnything() throws Exception {
        HttpResponse<String> response = gateway.post("/v1/chat/completions", "tw-big",
                "{\"model\":\"house-model\"," + MESSAGES + "}");
        assertEquals(403, response.statusCode(), response.body());
        JsonNode error = TestGateway.json(response.body()).get("error");
        assertEquals("model_not_priced", error.get("code").asText());
        assertTrue(error.get("message").asText().contains("house-model has no price"), error.toString());
        upstream.verify(0, postRequestedFor(urlEqualTo("/v1/chat/completions")));
    }

    @Test
    void letsAModelWithoutAPriceThroughAtItsConfiguredReserveWhenAllowed() throws Exception {
        gateway.close();
        gateway = TestGateway.fromYaml(config(upstream.port(), ", allow_unpriced: true, unpriced_reserve_usd: 0.02"));
        HttpResponse<String> refused = gateway.post("/v1/chat/completions", "tw-small",
                "{\"model\":\"house-model\"," + MESSAGES + "}");
        assertRefusedFor(refused, 20_000_000);
        HttpResponse<String> admitted = gateway.post("/v1/chat/completions", "tw-big",
                "{\"model\":\"house-model\"," + MESSAGES + "}");
        assertEquals(200, admitted.statusCode(), admitted.body());
        JsonNode record = gateway.record(admitted);
        assertEquals(0, record.get("cost_nanos").asLong());
        assertEquals("[\"unpriced\"]", record.get("flags").toString());
        assertNothingLeftReserved();
    }

    @Test
    void flagsAndCountsACallThatCostMoreThanItsReservation() throws Exception {
        // The provider ignores the cap and bills 1,000 output tokens against the 10 reserved.
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).withRequestBody(containing("Overrun"))
                .willReturn(aResponse().withStatus(200).withHeader("Content-Type", "application/json")
                        .withBody(COMPLETION.replace("\"completion_tokens\":10", "\"completion_tokens\":1000"))));
        HttpResponse<String> response = gateway.post("/v1/chat/completions", "tw-big",
                "{\"model\":\"gpt-4o-mini\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":\"Overrun\"}]}");
        assertEquals(200, response.statusCode(), response.body());
        JsonNode record = gateway.record(response);
        assertEquals(15 * 150 + 1000 * 600, record.get("cost_nanos").asLong(), "charged what the provider billed");
        assertEquals("[\"reservation_exceeded\"]", record.get("flags").toString());
        Budget.Snapshot big = gateway.app.budgets().team("big").snapshot(System.currentTimeMillis());
        assertEquals(15 * 150 + 1000 * 600, big.spentNanos());
        gateway.awaitSinks();
        String metrics = gateway.get("/metrics", TestGateway.ADMIN_KEY).body();
        assertTrue(metrics.contains("tokenwise_records_flagged_total{flag=\"reservation_exceeded\",model=\"gpt-4o-mini\","
                + "team=\"big\"} 1.0"), metrics.lines().filter(l -> l.contains("flagged")).toList().toString());
    }

    @Test
    void refusesBodiesAProviderCouldReadDifferentlyNamingWhatIsWrong() throws Exception {
        String[][] cases = {
                {"{\"model\":\"gpt-4o-mini\",\"model\":\"gpt-4o\"," + MESSAGES + "}", "Duplicate field 'model'"},
                {"{\"model\":\"gpt-4o-mini\",\"max_tokens\":1,\"max_tokens\":16000," + MESSAGES + "}", "Duplicate field 'max_tokens'"},
                {"{\"model\":\"gpt-4o-mini\"," + MESSAGES + "}{\"model\":\"gpt-4o\"}", "Unexpected content after the JSON body"},
                {"{\"model\":\"gpt-4o-mini\",\"temperature\":1e400," + MESSAGES + "}", "Number out of range"},
                {"{\"model\":\"gpt-4o-mini\",\"max_tokens\":1000000000000," + MESSAGES + "}", "field max_tokens is 1000000000000 (expected: at most 100000000)"},
        };
        for (String[] c : cases) {
            HttpResponse<String> response = gateway.post("/v1/chat/completions", "tw-big", c[0]);
            assertEquals(400, response.statusCode(), c[0] + " -> " + response.body());
            assertTrue(response.body().contains(c[1]), response.body());
        }
        HttpResponse<String> embeddings = gateway.post("/v1/embeddings", "tw-big",
                "{\"model\":\"gpt-4o-mini\",\"input\":\"a\",\"model\":\"text-embedding-3-large\"}");
        assertEquals(400, embeddings.statusCode(), embeddings.body());
        assertTrue(embeddings.body().contains("Duplicate field 'model'"), embeddings.body());

        byte[] utf16 = ("{\"model\":\"gpt-4o-mini\"," + MESSAGES + "}").getBytes(StandardCharsets.UTF_16LE);
        HttpResponse<String> wide = gateway.http.send(HttpRequest.newBuilder(gateway.uri("/v1/chat/completions"))
                .timeout(Duration.ofSeconds(10)).header("Authorization", "Bearer tw-big")
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofByteArray(utf16)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(400, wide.statusCode(), wide.body());
        assertTrue(wide.body().contains("must be UTF-8"), wide.body());
        upstream.verify(0, postRequestedFor(urlEqualTo("/v1/chat/completions")));
        upstream.verify(0, postRequestedFor(urlEqualTo("/v1/embeddings")));
    }
}
