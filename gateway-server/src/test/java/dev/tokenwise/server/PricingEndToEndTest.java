package dev.tokenwise.server;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.equalToJson;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.tomakehurst.wiremock.WireMockServer;
import dev.tokenwise.core.model.UsageRecord;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The price of a call follows the tier the provider says it served: a real gateway in front of a WireMock
 * OpenAI that answers {@code "service_tier": "flex"} books the call at the flex price, and one that answers
 * {@code "default"} at the standard price, whole bodies and streams alike.
 */
class PricingEndToEndTest {
    /** 1,000 prompt tokens (200 cached), 500 completion tokens. */
    private static final String USAGE = """
            {"prompt_tokens": 1000, "completion_tokens": 500, "total_tokens": 1500,
             "prompt_tokens_details": {"cached_tokens": 200}}""";
    /** 800 x $2.50 + 200 x $0.25 + 500 x $15 per Mtok = $0.00955 */
    private static final long STANDARD_NANOS = 9_550_000L;
    /** Half of it on flex. */
    private static final long FLEX_NANOS = 4_775_000L;

    WireMockServer upstream;
    TestGateway gateway;

    @BeforeEach
    void start() throws Exception {
        upstream = new WireMockServer(options().dynamicPort());
        upstream.start();
        gateway = TestGateway.start("""
                providers:
                  openai: {type: openai, base_url: "http://127.0.0.1:%d/v1", api_key: sk-upstream}
                models:
                  - name: tiered
                    provider: openai
                    price:
                      input_per_mtok: 2.50
                      output_per_mtok: 15
                      cached_input_per_mtok: 0.25
                      service_tiers: {flex: {multiplier: 0.5}, priority: {input_per_mtok: 5, output_per_mtok: 30}}
                      checked: 2026-11-28
                """.formatted(upstream.port()));
    }

    @AfterEach
    void stop() {
        gateway.close();
        upstream.stop();
    }

    private void answer(String tier) {
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions"))
                .withRequestBody(equalToJson("{\"stream\": false}", true, true))
                .willReturn(aResponse().withStatus(200).withHeader("Content-Type", "application/json").withBody("""
                        {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "tiered",
                         "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello"},
                         "finish_reason": "stop"}], "usage": %s, "service_tier": "%s"}""".formatted(USAGE, tier))));
    }

    private HttpResponse<String> call(String serviceTier) throws Exception {
        String tierField = serviceTier == null ? "" : ", \"service_tier\": \"" + serviceTier + "\"";
        HttpResponse<String> response = gateway.post("/v1/chat/completions", "tw-test-key", """
                {"model": "tiered", "stream": false, "messages": [{"role": "user", "content": "Hi"}]%s}"""
                .formatted(tierField));
        assertEquals(200, response.statusCode(), response.body());
        return response;
    }

    private UsageRecord recordOf(HttpResponse<String> response) throws InterruptedException {
        String id = response.headers().firstValue("x-request-id").orElseThrow();
        return gateway.awaitRecord(r -> r.id().equals(id));
    }

    @Test
    void booksACallTheProviderServedOnFlexAtTheFlexPrice() throws Exception {
        answer("flex");
        HttpResponse<String> response = call("flex");

        UsageRecord record = recordOf(response);
        assertEquals(FLEX_NANOS, record.costNanos());
        assertTrue(record.priceVersion().endsWith(".flex"), record.priceVersion());
        JsonNode api = gateway.record(response);
        assertEquals("flex", api.get("service_tier").asText());
        assertEquals(record.priceVersion(), api.get("price_version").asText());
        assertEquals("0.004775", api.get("cost_usd").decimalValue().toPlainString());
    }

    @Test
    void booksTheTierServedNotTheTierAskedFor() throws Exception {
        // Asked for flex, served on the standard tier (no flex capacity): the standard price.
        answer("default");
        UsageRecord record = recordOf(call("flex"));

        assertEquals(STANDARD_NANOS, record.costNanos());
        assertFalse(record.priceVersion().contains("."), record.priceVersion());
    }

    @Test
    void booksAStreamTheProviderServedOnFlexAtTheFlexPrice() throws Exception {
        String chunk = "{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"tiered\","
                + "\"service_tier\":\"flex\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"},\"finish_reason\":null}]}";
        String last = "{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"tiered\","
                + "\"service_tier\":\"flex\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}";
        String usage = "{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"tiered\","
                + "\"service_tier\":\"flex\",\"choices\":[],\"usage\":" + USAGE.replace("\n", "") + "}";
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions"))
                .withRequestBody(equalToJson("{\"stream\": true}", true, true))
                .willReturn(aResponse().withStatus(200).withHeader("Content-Type", "text/event-stream")
                        .withBody("data: " + chunk + "\n\ndata: " + last + "\n\ndata: " + usage + "\n\ndata: [DONE]\n\n")));

        HttpResponse<String> response = gateway.post("/v1/chat/completions", "tw-test-key", """
                {"model": "tiered", "stream": true, "service_tier": "flex",
                 "messages": [{"role": "user", "content": "Hi"}]}""");
        assertEquals(200, response.statusCode(), response.body());

        UsageRecord record = recordOf(response);
        assertEquals(FLEX_NANOS, record.costNanos());
        assertTrue(record.priceVersion().endsWith(".flex"), record.priceVersion());
    }

    @Test
    void listsThePricesThatAreChargedToAnyKey() throws Exception {
        JsonNode data = TestGateway.json(gateway.get("/api/v1/prices", "tw-test-key").body()).get("data");
        JsonNode tiered = data.get(0);
        assertEquals("tiered", tiered.get("model").asText());
        assertEquals("2026-11-28", tiered.get("checked").asText());
        assertEquals("1.25", tiered.get("service_tiers").get("flex").get("usd_per_mtok").get("input").decimalValue()
                .toPlainString());
        assertEquals("30", tiered.get("service_tiers").get("priority").get("usd_per_mtok").get("output").decimalValue()
                .toPlainString());
        assertEquals(401, gateway.get("/api/v1/prices", null).statusCode());
    }

    @Test
    void alertsAtStartUpAboutAnUnpricedModelItLetsThrough() throws Exception {
        try (TestGateway allowing = TestGateway.fromYaml("""
                server: {host: 127.0.0.1, port: 0}
                admin: {key: %s}
                storage: {path: %s}
                pricing: {catalog: ../config/prices.yaml, allow_unpriced: true, unpriced_reserve_usd: 0.5}
                providers:
                  openai: {type: openai, base_url: "http://127.0.0.1:%d/v1", api_key: sk-upstream}
                models:
                  - {name: tiered, provider: openai, price: {input_per_mtok: 1, output_per_mtok: 1}}
                  - {name: mystery-model, provider: openai}
                teams:
                  - name: demo
                    keys: [{key: tw-test-key, name: demo-key}]
                """.formatted(TestGateway.ADMIN_KEY, TestGateway.freshLedgerPath(), upstream.port()))) {
            JsonNode alerts = TestGateway.json(allowing.get("/api/v1/alerts", "tw-test-key").body());
            assertEquals(1, alerts.size(), alerts.toString());
            assertEquals("unpriced_model", alerts.get(0).get("type").asText());
            assertEquals("mystery-model", alerts.get(0).get("model").asText());
            assertTrue(alerts.get(0).get("message").asText().contains("each reserves $0.50 of budget"));
            JsonNode prices = TestGateway.json(allowing.get("/api/v1/prices", "tw-test-key").body()).get("data");
            assertFalse(prices.get(1).get("priced").asBoolean());
        }
        // The same model refused (the default) opens no alert: its calls cannot run up an unknown bill.
        assertEquals(0, TestGateway.json(gateway.get("/api/v1/alerts", "tw-test-key").body()).size());
    }
}
