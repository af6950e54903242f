package dev.tokenwise.server;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.tomakehurst.wiremock.WireMockServer;
import dev.tokenwise.core.model.RequestFeature;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.testing.LeakDetectingExtension;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The billing audit through a running gateway: a tool-calling request counted by the gateway, an upstream answering
 * with the usage OpenAI returned for it, the record carrying the request's features and text bytes, and the audit's
 * window kept across a restart.
 */
@ExtendWith(LeakDetectingExtension.class)
class BillingAuditEndToEndTest {
    private static final String SYSTEM = "You are a helpful assistant that can answer to questions about the weather.";
    private static final String USER = "What's the weather like in San Francisco?";

    /** The OpenAI Cookbook's tool example ("How to count tokens with tiktoken", section 7). */
    private static final String REQUEST = """
            {"model": "gpt-4o-mini",
             "messages": [{"role": "system", "content": "%s"}, {"role": "user", "content": "%s"}],
             "tools": [{"type": "function", "function": {
               "name": "get_current_weather",
               "description": "Get the current weather in a given location",
               "parameters": {"type": "object", "properties": {
                 "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
                 "unit": {"type": "string", "description": "The unit of temperature to return", "enum": ["celsius", "fahrenheit"]}},
                 "required": ["location"]}}}],
             "temperature": 0}""".formatted(SYSTEM, USER);

    /** The tool definitions as the model sees them (the gateway counts this text). */
    private static final String RENDERED_TOOLS = """
            namespace functions {

            // Get the current weather in a given location
            type get_current_weather = (_: {
            // The city and state, e.g. San Francisco, CA
            location: string,
            // The unit of temperature to return
            unit?: "celsius" | "fahrenheit",
            }) => any;

            } // namespace functions""";

    /** A tool-call answer; the Cookbook's notebook prints 101 prompt tokens from the API for gpt-4o-mini. */
    private static String answer(long promptTokens) {
        return """
                {"id":"chatcmpl-1","object":"chat.completion","created":1741569952,"model":"gpt-4o-mini-2024-07-18",\
                "choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_1",\
                "type":"function","function":{"name":"get_current_weather","arguments":"{\\"location\\":\\"San Francisco, CA\\"}"}}]},\
                "finish_reason":"tool_calls"}],"usage":{"prompt_tokens":%d,"completion_tokens":22,"total_tokens":%d}}"""
                .formatted(promptTokens, promptTokens + 22);
    }

    private WireMockServer upstream;
    private String ledger;

    @BeforeEach
    void start() {
        upstream = new WireMockServer(options().dynamicPort());
        upstream.start();
        ledger = TestGateway.freshLedgerPath();
    }

    @AfterEach
    void stop() {
        upstream.stop();
    }

    private TestGateway gateway() throws InterruptedException {
        return TestGateway.fromYaml("""
                server: {host: 127.0.0.1, port: 0, max_request_bytes: 65536, max_header_bytes: 8192}
                admin: {key: %s}
                storage: {path: %s}
                pricing: {catalog: ../config/prices.yaml}
                providers:
                  openai: {type: openai, base_url: "http://127.0.0.1:%d/v1", api_key: sk-upstream}
                models:
                  - {name: gpt-4o-mini, provider: openai}
                %s
                """.formatted(TestGateway.ADMIN_KEY, ledger, upstream.port(), TestGateway.DEFAULT_TEAMS));
    }

    private void upstreamBills(long promptTokens) {
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody(answer(promptTokens))));
    }

    private static void calls(TestGateway gateway, int n) throws Exception {
        for (int i = 0; i < n; i++) {
            assertEquals(200, gateway.post("/v1/chat/completions", "tw-test-key", REQUEST).statusCode());
        }
        gateway.awaitSinks();
    }

    private static JsonNode discrepancy(TestGateway gateway) throws Exception {
        for (JsonNode alert : TestGateway.json(gateway.get("/api/v1/alerts", TestGateway.ADMIN_KEY).body())) {
            if ("billing_discrepancy".equals(alert.path("type").asText())
                    && "input_tokens:tools+system_prompt".equals(alert.path("metric").asText())) {
                return alert;
            }
        }
        return null;
    }

    /**
     * The example of OpenAI's API reference (Chat Completions, "Create chat completion", default example, gpt-4o):
     * a developer and a user message, 19 prompt tokens; the answer "Hello! How can I assist you today?" (9 tokens of
     * o200k) billed as 10 completion tokens, the text and the token ending the message.
     */
    @Test
    void auditsAPlainAnswerWithTheTokenEndingItsMessageWithoutAFalseAlarm() throws Exception {
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody(OpenAiRelayTest.COMPLETION)));
        try (TestGateway gateway = gateway()) {
            for (int i = 0; i < 25; i++) {
                assertEquals(200, gateway.post("/v1/chat/completions", "tw-test-key", """
                        {"model": "gpt-4o-mini", "messages": [{"role": "developer", "content": "You are a helpful assistant."},
                         {"role": "user", "content": "Hello!"}]}""").statusCode());
            }
            gateway.awaitSinks();
            UsageRecord r = gateway.awaitRecord(x -> true);
            assertEquals(19, r.localInputTokens());
            assertEquals(19, r.usage().inputTokens());
            assertEquals(9, r.localOutputTokens());
            assertEquals(10, r.usage().outputTokens());
            assertEquals(RequestFeature.SYSTEM_PROMPT.bit(), r.requestFeatures());
            String alerts = gateway.get("/api/v1/alerts", TestGateway.ADMIN_KEY).body();
            assertFalse(alerts.contains("billing_discrepancy"), alerts);
        }
    }

    @Test
    void auditsToolCallsExactlyCatchesATwoPercentInflationAndKeepsItsWindowAcrossARestart() throws Exception {
        upstreamBills(101);
        try (TestGateway gateway = gateway()) {
            calls(gateway, 20);
            UsageRecord r = gateway.awaitRecord(x -> true);
            assertEquals(101, r.localInputTokens(), "the gateway counts what the API billed");
            assertFalse(r.localEstimated());
            assertEquals(RequestFeature.TOOLS.bit() | RequestFeature.SYSTEM_PROMPT.bit(), r.requestFeatures());
            // The system message is counted with the newline the tool block adds to it.
            assertEquals(("system" + SYSTEM + "\n" + "user" + USER + RENDERED_TOOLS).getBytes(StandardCharsets.UTF_8).length,
                    r.inputTextBytes());
            assertEquals(null, discrepancy(gateway), "no false alarm");

            upstreamBills(103); // 2 % more: 101 × 1.02 = 103.02
            calls(gateway, 10);
            JsonNode alert = discrepancy(gateway);
            assertTrue(alert != null, "the 2 % is caught: " + gateway.get("/api/v1/alerts", TestGateway.ADMIN_KEY).body());
            assertEquals("gpt-4o-mini", alert.path("model").asText());
            assertTrue(alert.path("message").asText().contains("by a median of +2 tokens (+1.98%)"), alert.toString());
        }
        // A restart: the window comes back from the ledger, and the next call finds the discrepancy again.
        try (TestGateway gateway = gateway()) {
            assertEquals(null, discrepancy(gateway), "alerts are not stored; the window is");
            calls(gateway, 1);
            JsonNode alert = discrepancy(gateway);
            assertTrue(alert != null, "31 calls of which 11 differ, not 1 of 1");
            assertTrue(alert.path("message").asText().contains("of the last 31 calls differ"), alert.toString());
        }
    }
}
