package dev.tokenwise.server;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static com.github.tomakehurst.wiremock.stubbing.Scenario.STARTED;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.tomakehurst.wiremock.WireMockServer;
import dev.tokenwise.core.proxy.ProviderHealth;
import dev.tokenwise.core.spi.ProviderStats;
import dev.tokenwise.core.testing.LeakDetectingExtension;
import java.net.ServerSocket;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Retries, fallbacks and the circuit breaker against a WireMock provider. */
@ExtendWith(LeakDetectingExtension.class)
class ResilienceTest {
    static final String CHAT = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}";
    static final String COMPLETION = OpenAiRelayTest.COMPLETION;
    static final String ERROR_503 = "{\"error\":{\"message\":\"The server is overloaded\",\"type\":\"server_error\"}}";

    WireMockServer upstream;
    TestGateway gateway;
    int closedPort;

    @BeforeEach
    void start() throws Exception {
        upstream = new WireMockServer(options().dynamicPort());
        upstream.start();
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
    }

    @AfterEach
    void stop() {
        if (gateway != null) {
            gateway.close();
        }
        upstream.stop();
    }

    private void gateway(String providerExtras, String modelExtras) throws Exception {
        gateway = TestGateway.start("""
                providers:
                  openai: {type: openai, base_url: "http://127.0.0.1:%d/v1", api_key: sk-up, retry_backoff_ms: 20%s}
                  dead: {type: openai, base_url: "http://127.0.0.1:%d/v1", api_key: sk-dead, max_retries: 1, retry_backoff_ms: 10}
                models:
                  - {name: gpt-4o-mini, provider: openai%s}
                  - {name: dead-model, provider: dead, upstream_name: gpt-4o-mini, fallbacks: [gpt-4o-mini]}
                  - {name: house-llm, provider: dead, price: {input_per_mtok: 1, output_per_mtok: 2}, fallbacks: [gpt-4o-mini]}
                """.formatted(upstream.port(), providerExtras, closedPort, modelExtras));
    }

    @Test
    void retriesA503AndAnswersFromTheSecondAttempt() throws Exception {
        gateway("", "");
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).inScenario("flaky").whenScenarioStateIs(STARTED)
                .willReturn(aResponse().withStatus(503).withHeader("Content-Type", "application/json").withBody(ERROR_503))
                .willSetStateTo("recovered"));
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).inScenario("flaky").whenScenarioStateIs("recovered")
                .willReturn(aResponse().withStatus(200).withHeader("Content-Type", "application/json").withBody(COMPLETION)));

        HttpResponse<String> response = gateway.post("/v1/chat/completions", "tw-test-key", CHAT);

        assertEquals(200, response.statusCode());
        assertEquals(COMPLETION, response.body());
        upstream.verify(2, postRequestedFor(urlEqualTo("/v1/chat/completions")));
        JsonNode record = gateway.record(response);
        assertEquals(2, record.get("attempts").asInt());
        assertEquals("ok", record.get("status").asText());
    }

    @Test
    void honoursRetryAfterOnA429() throws Exception {
        gateway("", "");
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).inScenario("limited").whenScenarioStateIs(STARTED)
                .willReturn(aResponse().withStatus(429).withHeader("Retry-After", "1").withBody("{}"))
                .willSetStateTo("ok"));
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).inScenario("limited").whenScenarioStateIs("ok")
                .willReturn(aResponse().withStatus(200).withHeader("Content-Type", "application/json").withBody(COMPLETION)));

        long start = System.nanoTime();
        HttpResponse<String> response = gateway.post("/v1/chat/completions", "tw-test-key", CHAT);
        long tookMillis = (System.nanoTime() - start) / 1_000_000;

        assertEquals(200, response.statusCode());
        assertTrue(tookMillis >= 950, "waited for Retry-After: " + tookMillis + " ms");
    }

    @Test
    void relaysTheLastErrorWhenRetriesAreExhausted() throws Exception {
        gateway(", max_retries: 2", "");
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(503)
                .withHeader("Content-Type", "application/json").withBody(ERROR_503)));

        HttpResponse<String> response = gateway.post("/v1/chat/completions", "tw-test-key", CHAT);

        assertEquals(503, response.statusCode());
        assertEquals(ERROR_503, response.body());
        upstream.verify(3, postRequestedFor(urlEqualTo("/v1/chat/completions")));
        JsonNode record = gateway.record(response);
        assertEquals(3, record.get("attempts").asInt());
        assertEquals("upstream_error", record.get("status").asText());
        assertEquals(0, record.get("cost_nanos").asLong());
    }

    @Test
    void fallsBackToAnotherModelWhenTheProviderIsDown() throws Exception {
        gateway("", "");
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody(COMPLETION)));

        HttpResponse<String> response = gateway.post("/v1/chat/completions", "tw-test-key",
                CHAT.replace("gpt-4o-mini", "dead-model"));

        assertEquals(200, response.statusCode());
        JsonNode record = gateway.record(response);
        assertEquals("gpt-4o-mini", record.get("model").asText(), "the record says which model answered");
        assertEquals("dead-model", record.get("requested_model").asText());
        assertEquals("openai", record.get("provider").asText());
        assertEquals(3, record.get("attempts").asInt(), "two tries on the dead provider, then the fallback");
    }

    @Test
    void countsTheInputWithTheFallbacksExactTokenizerWhenTheModelAskedForHasNone() throws Exception {
        gateway("", "");
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody(COMPLETION)));
        HttpResponse<String> direct = gateway.post("/v1/chat/completions", "tw-test-key", CHAT);
        HttpResponse<String> response = gateway.post("/v1/chat/completions", "tw-test-key",
                CHAT.replace("gpt-4o-mini", "house-llm"));

        assertEquals(200, response.statusCode());
        JsonNode record = gateway.record(response);
        assertEquals("gpt-4o-mini", record.get("model").asText());
        assertEquals(false, record.get("local_estimated").asBoolean(), "gpt-4o-mini's tokenizer is exact");
        assertEquals(gateway.record(direct).get("local_input_tokens").asLong(), record.get("local_input_tokens").asLong());
        // The count made again keeps what the audit needs: the request's features and the bytes of its text.
        String directId = direct.headers().firstValue("x-request-id").orElseThrow();
        dev.tokenwise.core.model.UsageRecord first = gateway.awaitRecord(r -> r.id().equals(directId));
        dev.tokenwise.core.model.UsageRecord fallback = gateway.awaitRecord(r -> "house-llm".equals(r.requestedModel()));
        assertEquals(first.inputTextBytes(), fallback.inputTextBytes());
        assertTrue(fallback.inputTextBytes() > 0);
        assertEquals(first.requestFeatures(), fallback.requestFeatures());
    }

    @Test
    void endsTheCallWhenNoFallbackCanTakeTheRequestInsteadOfLeavingItWaiting() throws Exception {
        gateway = TestGateway.start("""
                providers:
                  dead: {type: openai, base_url: "http://127.0.0.1:%d/v1", api_key: sk-dead, max_retries: 0}
                  anthropic: {type: anthropic, base_url: "http://127.0.0.1:%d/v1", api_key: sk-ant}
                models:
                  - {name: claude, provider: anthropic, price: {input_per_mtok: 3, output_per_mtok: 15}}
                  - {name: house-llm, provider: dead, price: {input_per_mtok: 1, output_per_mtok: 2}, fallbacks: [claude]}
                """.formatted(closedPort, upstream.port()));
        // Anthropic's translation refuses n: 2, so the fallback cannot take this request.
        HttpResponse<String> response = gateway.post("/v1/chat/completions", "tw-test-key",
                CHAT.replace("gpt-4o-mini", "house-llm").replace("\"messages\"", "\"n\":2,\"messages\""));

        assertEquals(502, response.statusCode(), response.body());
        assertTrue(response.body().contains("could not reach provider dead"), response.body());
        JsonNode record = gateway.record(response);
        assertEquals("house-llm", record.get("model").asText(), "the record names the model that was tried");
        assertEquals(1, record.get("attempts").asInt());
        upstream.verify(0, postRequestedFor(urlEqualTo("/v1/messages")));
    }

    @Test
    void keepsThePromptsPrefixHashWhenAFallbackAnswers() throws Exception {
        gateway("", "");
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody(COMPLETION)));
        String longChat = CHAT.replace("Hello", "Please review this paragraph. ".repeat(200)); // over 4 KiB of text
        HttpResponse<String> direct = gateway.post("/v1/chat/completions", "tw-test-key", longChat);
        HttpResponse<String> fallenBack = gateway.post("/v1/chat/completions", "tw-test-key",
                longChat.replace("gpt-4o-mini", "house-llm"));

        assertEquals(200, fallenBack.statusCode());
        String directId = direct.headers().firstValue("x-request-id").orElseThrow();
        dev.tokenwise.core.model.UsageRecord first = gateway.awaitRecord(r -> r.id().equals(directId));
        dev.tokenwise.core.model.UsageRecord fallback = gateway.awaitRecord(r -> "house-llm".equals(r.requestedModel()));
        assertTrue(first.promptPrefixHash() != 0, "a prompt over 4 KiB has a prefix hash");
        assertEquals(first.promptPrefixHash(), fallback.promptPrefixHash(), "the fallback's recount keeps it");
    }

    @Test
    void tellsInTheRecordApiWhetherTheLedgerFlaggedACallAsARetry() throws Exception {
        gateway("", "");
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody(COMPLETION)));
        HttpResponse<String> first = gateway.post("/v1/chat/completions", "tw-test-key", CHAT, "X-Task-Id", "fix-bug-7");
        HttpResponse<String> again = gateway.post("/v1/chat/completions", "tw-test-key", CHAT, "X-Task-Id", "fix-bug-7");
        HttpResponse<String> fallenBack = gateway.post("/v1/chat/completions", "tw-test-key",
                CHAT.replace("gpt-4o-mini", "dead-model"));

        assertEquals(false, gateway.record(first).get("retry").asBoolean());
        assertEquals(true, gateway.record(again).get("retry").asBoolean(), "the same task, model and prompt again");
        assertEquals(true, gateway.record(fallenBack).get("retry").asBoolean(), "the gateway tried more than once");
    }

    @Test
    void opensTheCircuitAfterConsecutiveFailuresAndProbesAfterTheCooldown() throws Exception {
        gateway(", max_retries: 0, breaker_failures: 2, breaker_cooldown_ms: 400", "");
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(500).withBody("{}")));

        assertEquals(500, gateway.post("/v1/chat/completions", "tw-test-key", CHAT).statusCode());
        assertEquals(500, gateway.post("/v1/chat/completions", "tw-test-key", CHAT).statusCode());
        HttpResponse<String> refused = gateway.post("/v1/chat/completions", "tw-test-key", CHAT);
        assertEquals(503, refused.statusCode(), "the open breaker refuses without calling the provider");
        assertTrue(refused.body().contains("circuit breaker is open"), refused.body());
        upstream.verify(2, postRequestedFor(urlEqualTo("/v1/chat/completions")));
        ProviderHealth health = gateway.app.server().providerHealth().get("openai");
        assertEquals(ProviderStats.BreakerState.OPEN, health.state());
        assertEquals("open", TestGateway.json(gateway.get("/healthz", TestGateway.ADMIN_KEY).body()).at("/providers/openai/circuit").asText(),
                "the breaker is visible in /healthz");

        upstream.resetAll();
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody(COMPLETION)));
        Thread.sleep(450);
        assertEquals(200, gateway.post("/v1/chat/completions", "tw-test-key", CHAT).statusCode(), "the probe passes");
        assertEquals(ProviderStats.BreakerState.CLOSED, health.state());
    }

    @Test
    void stopsRetryingWhenTheRetryBudgetIsSpent() throws Exception {
        gateway(", max_retries: 1, retry_budget_percent: 0, breaker_failures: 1000", "");
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(502).withBody("{}")));
        int calls = 15;
        for (int i = 0; i < calls; i++) {
            assertEquals(502, gateway.post("/v1/chat/completions", "tw-test-key", CHAT).statusCode());
        }
        // A full bucket holds 10 retries and a 0 % budget never refills it.
        upstream.verify(calls + 10, postRequestedFor(urlEqualTo("/v1/chat/completions")));
    }
}
