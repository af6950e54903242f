package dev.tokenwise.server;

import static com.github.tomakehurst.wiremock.client.WireMock.absent;
import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.matching;
import static com.github.tomakehurst.wiremock.client.WireMock.matchingJsonPath;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.anthropic.client.AnthropicClient;
import com.anthropic.client.okhttp.AnthropicOkHttpClient;
import com.anthropic.core.http.HttpResponseFor;
import com.anthropic.core.http.StreamResponse;
import com.anthropic.errors.RateLimitException;
import com.anthropic.errors.UnauthorizedException;
import com.anthropic.models.messages.Message;
import com.anthropic.models.messages.MessageCountTokensParams;
import com.anthropic.models.messages.MessageCreateParams;
import com.anthropic.models.messages.MessageTokensCount;
import com.anthropic.models.messages.RawMessageStreamEvent;
import com.anthropic.models.messages.StopReason;
import com.fasterxml.jackson.databind.JsonNode;
import com.github.tomakehurst.wiremock.WireMockServer;
import dev.tokenwise.core.testing.LeakDetectingExtension;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The official Anthropic Java SDK, pointed at the gateway by its base URL with a gateway key, works unchanged
 * against a WireMock Anthropic: plain and streamed messages, cache reads and writes priced at their own rates,
 * and Anthropic's errors surfacing as the SDK's own exceptions.
 */
@ExtendWith(LeakDetectingExtension.class)
class AnthropicEndToEndTest {
    static final String PROVIDER_KEY = "sk-ant-upstream-secret";
    static final String UPSTREAM_MODEL = "claude-sonnet-4-5-20250929";

    static WireMockServer upstream;
    static TestGateway gateway;
    static AnthropicClient client;

    // A message as Anthropic documents it, with prompt caching: 12 uncached, 100 written, 2000 read.
    static final String MESSAGE = """
            {"id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant",
             "model": "claude-sonnet-4-5-20250929",
             "content": [{"type": "text", "text": "A gateway forwards, counts and prices every call."}],
             "stop_reason": "end_turn", "stop_sequence": null,
             "usage": {"input_tokens": 12, "cache_creation_input_tokens": 100, "cache_read_input_tokens": 2000,
                       "cache_creation": {"ephemeral_5m_input_tokens": 100, "ephemeral_1h_input_tokens": 0},
                       "output_tokens": 40, "service_tier": "standard"}}
            """;

    // A stream as Anthropic's streaming guide shows it; output_tokens in message_delta is cumulative.
    static final String STREAM = """
            event: message_start
            data: {"type":"message_start","message":{"id":"msg_014p7gG3wDgGV9EUtLvnow3U","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":30,"cache_creation_input_tokens":0,"cache_read_input_tokens":1500,"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":0},"output_tokens":1,"service_tier":"standard"}}}

            event: content_block_start
            data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

            event: ping
            data: {"type": "ping"}

            event: content_block_delta
            data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" from the stream"}}

            event: content_block_stop
            data: {"type":"content_block_stop","index":0}

            event: message_delta
            data: {"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},"usage":{"output_tokens":25}}

            event: message_stop
            data: {"type":"message_stop"}

            """;

    static final String RATE_LIMITED = """
            {"type": "error", "error": {"type": "rate_limit_error",
             "message": "Number of request tokens has exceeded your per-minute rate limit"}}
            """;

    @BeforeAll
    static void start() throws Exception {
        upstream = new WireMockServer(options().dynamicPort());
        upstream.start();
        upstream.stubFor(post(urlEqualTo("/v1/messages")).atPriority(5)
                .withHeader("x-api-key", equalTo(PROVIDER_KEY))
                .willReturn(aResponse().withStatus(200).withHeader("Content-Type", "application/json")
                        .withHeader("request-id", "req_plain").withBody(MESSAGE)));
        upstream.stubFor(post(urlEqualTo("/v1/messages")).atPriority(1)
                .withHeader("x-api-key", equalTo(PROVIDER_KEY))
                .withRequestBody(matchingJsonPath("$[?(@.stream == true)]"))
                .willReturn(aResponse().withStatus(200).withHeader("Content-Type", "text/event-stream")
                        .withHeader("Cache-Control", "no-cache").withBody(STREAM)));
        upstream.stubFor(post(urlEqualTo("/v1/messages/count_tokens"))
                .withHeader("x-api-key", equalTo(PROVIDER_KEY))
                .withRequestBody(matchingJsonPath("$.model", equalTo(UPSTREAM_MODEL)))
                .willReturn(aResponse().withStatus(200).withHeader("Content-Type", "application/json")
                        .withBody("{\"input_tokens\": 2095}")));
        upstream.stubFor(post(urlEqualTo("/v1/messages")).atPriority(1)
                .withRequestBody(matchingJsonPath("$.model", equalTo("claude-haiku-4-5")))
                .willReturn(aResponse().withStatus(429).withHeader("Content-Type", "application/json")
                        .withHeader("retry-after", "30").withBody(RATE_LIMITED)));
        gateway = TestGateway.start("""
                providers:
                  anthropic: {type: anthropic, base_url: "http://127.0.0.1:%1$d/v1", api_key: %2$s}
                  # The model that answers 429 has a provider of its own: a 429 holds later calls to its provider.
                  limited: {type: anthropic, base_url: "http://127.0.0.1:%1$d/v1", api_key: %2$s}
                models:
                  - name: claude-sonnet-4-5
                    provider: anthropic
                    upstream_name: %3$s
                    price: {input_per_mtok: 3, output_per_mtok: 15, cached_input_per_mtok: 0.30,
                            cache_write_per_mtok: 3.75, max_output_tokens: 64000}
                  - {name: claude-haiku-4-5, provider: limited}
                """.formatted(upstream.port(), PROVIDER_KEY, UPSTREAM_MODEL));
        client = sdk("tw-test-key");
    }

    static AnthropicClient sdk(String key) {
        return AnthropicOkHttpClient.builder()
                .baseUrl("http://127.0.0.1:" + gateway.app.port())
                .apiKey(key)
                .maxRetries(0)
                .build();
    }

    @AfterAll
    static void stop() {
        client.close();
        gateway.close();
        upstream.stop();
    }

    private static MessageCreateParams message(String model, String text) {
        return MessageCreateParams.builder()
                .model(model)
                .maxTokens(1024)
                .system("You answer in one sentence.")
                .addUserMessage(text)
                .build();
    }

    private static JsonNode record(String requestId) throws Exception {
        HttpResponse<String> r = gateway.get("/api/v1/requests/" + requestId, TestGateway.ADMIN_KEY);
        assertEquals(200, r.statusCode(), r.body());
        return TestGateway.json(r.body());
    }

    @Test
    void answersAPlainMessageAndPricesCacheReadsAndWritesAtTheirOwnRates() throws Exception {
        String requestId;
        try (HttpResponseFor<Message> response = client.messages().withRawResponse()
                .create(message("claude-sonnet-4-5", "What does a gateway do?"))) {
            Message message = response.parse();
            assertEquals("A gateway forwards, counts and prices every call.", message.content().get(0).asText().text());
            assertEquals(StopReason.END_TURN, message.stopReason().orElseThrow());
            assertEquals(12, message.usage().inputTokens(), "the client sees Anthropic's own usage, unchanged");
            assertEquals(2000, message.usage().cacheReadInputTokens().orElseThrow());
            requestId = response.headers().values("x-request-id").get(0);
        }

        JsonNode record = record(requestId);
        assertEquals("claude-sonnet-4-5", record.path("model").asText());
        assertEquals("anthropic", record.path("provider").asText());
        assertEquals("/v1/messages", record.path("endpoint").asText());
        assertEquals("ok", record.path("status").asText());
        assertEquals("provider", record.path("usage_source").asText());
        assertEquals(12 + 100 + 2000, record.path("input_tokens").asLong(), "input includes cache reads and writes");
        assertEquals(2000, record.path("cached_input_tokens").asLong());
        assertEquals(100, record.path("cache_write_tokens").asLong());
        assertEquals(40, record.path("output_tokens").asLong());
        assertEquals("stop", record.path("finish_reason").asText());
        // 12 × $3 + 100 × $3.75 + 2000 × $0.30 + 40 × $15 per Mtok, in nano-USD
        assertEquals(36_000 + 375_000 + 600_000 + 600_000, record.path("cost_nanos").asLong());

        upstream.verify(postRequestedFor(urlEqualTo("/v1/messages"))
                .withHeader("x-api-key", equalTo(PROVIDER_KEY))
                .withHeader("anthropic-version", matching("\\d{4}-\\d{2}-\\d{2}"))
                .withHeader("authorization", absent())
                .withRequestBody(matchingJsonPath("$.model", equalTo(UPSTREAM_MODEL)))
                .withRequestBody(matchingJsonPath("$.messages[0].content", equalTo("What does a gateway do?"))));
    }

    @Test
    void streamsAMessageEventByEventAndRecordsTheStreamedUsage() throws Exception {
        StringBuilder text = new StringBuilder();
        long outputTokens = -1;
        int events = 0;
        String requestId;
        try (HttpResponseFor<StreamResponse<RawMessageStreamEvent>> response = client.messages().withRawResponse()
                .createStreaming(message("claude-sonnet-4-5", "Stream, please"));
             StreamResponse<RawMessageStreamEvent> stream = response.parse()) {
            requestId = response.headers().values("x-request-id").get(0);
            for (RawMessageStreamEvent event : stream) {
                events++;
                if (event.isContentBlockDelta()) {
                    event.asContentBlockDelta().delta().text().ifPresent(delta -> text.append(delta.text()));
                } else if (event.isMessageDelta()) {
                    outputTokens = event.asMessageDelta().usage().outputTokens();
                }
            }
        }
        assertEquals("Hello from the stream", text.toString());
        assertEquals(25, outputTokens);
        assertTrue(events >= 7, "every event reaches the SDK, got " + events);

        JsonNode record = record(requestId);
        assertTrue(record.path("stream").asBoolean());
        assertEquals("ok", record.path("status").asText());
        assertEquals(30 + 1500, record.path("input_tokens").asLong());
        assertEquals(1500, record.path("cached_input_tokens").asLong());
        assertEquals(0, record.path("cache_write_tokens").asLong());
        assertEquals(25, record.path("output_tokens").asLong(), "the cumulative count of the last message_delta");
        assertEquals("length", record.path("finish_reason").asText());
        // 30 × $3 + 1500 × $0.30 + 25 × $15 per Mtok, in nano-USD
        assertEquals(90_000 + 450_000 + 375_000, record.path("cost_nanos").asLong());
    }

    @Test
    void countsTokensThroughTheSdkAndRecordsTheCallAtNoCost() throws Exception {
        String requestId;
        try (HttpResponseFor<MessageTokensCount> response = client.messages().withRawResponse()
                .countTokens(MessageCountTokensParams.builder()
                        .model("claude-sonnet-4-5")
                        .system("You answer in one sentence.")
                        .addUserMessage("How many tokens is this?")
                        .build())) {
            assertEquals(2095, response.parse().inputTokens(), "Anthropic's answer, in Anthropic's shape");
            requestId = response.headers().values("x-request-id").get(0);
        }

        JsonNode record = record(requestId);
        assertEquals("/v1/messages/count_tokens", record.path("endpoint").asText());
        assertEquals("ok", record.path("status").asText());
        assertEquals(0, record.path("cost_nanos").asLong(), "counting tokens is free upstream");
        assertEquals(0, record.path("input_tokens").asLong());
        assertEquals(0, record.path("output_tokens").asLong());
        upstream.verify(postRequestedFor(urlEqualTo("/v1/messages/count_tokens"))
                .withHeader("x-api-key", equalTo(PROVIDER_KEY))
                .withRequestBody(matchingJsonPath("$.messages[0].content", equalTo("How many tokens is this?"))));
    }

    @Test
    void passesTheOneHourCacheTtlBetaHeaderAndCacheControlThrough() throws Exception {
        HttpResponse<String> r = gateway.post("/v1/messages", "tw-test-key", """
                {"model": "claude-sonnet-4-5", "max_tokens": 64,
                 "system": [{"type": "text", "text": "A long, cached system prompt.",
                             "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
                 "messages": [{"role": "user", "content": "one hour"}]}
                """, "anthropic-beta", "extended-cache-ttl-2025-04-11");
        assertEquals(200, r.statusCode(), r.body());
        upstream.verify(postRequestedFor(urlEqualTo("/v1/messages"))
                .withHeader("anthropic-beta", equalTo("extended-cache-ttl-2025-04-11"))
                .withRequestBody(matchingJsonPath("$.system[0].cache_control.ttl", equalTo("1h"))));
    }

    @Test
    void forwardsTheClientsAnthropicVersionAndAddsOneWhenItSentNone() throws Exception {
        HttpResponse<String> r = gateway.post("/v1/messages", "tw-test-key", """
                {"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": [{"role": "user", "content": "no version"}]}
                """);
        assertEquals(200, r.statusCode(), r.body());
        upstream.verify(postRequestedFor(urlEqualTo("/v1/messages"))
                .withHeader("anthropic-version", equalTo("2023-06-01"))
                .withRequestBody(matchingJsonPath("$.messages[0].content", equalTo("no version"))));

        r = gateway.post("/v1/messages", "tw-test-key", """
                {"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": [{"role": "user", "content": "own version"}]}
                """, "anthropic-version", "2024-01-01", "anthropic-beta", "prompt-caching-2024-07-31");
        assertEquals(200, r.statusCode(), r.body());
        upstream.verify(postRequestedFor(urlEqualTo("/v1/messages"))
                .withHeader("anthropic-version", equalTo("2024-01-01"))
                .withHeader("anthropic-beta", equalTo("prompt-caching-2024-07-31"))
                .withRequestBody(matchingJsonPath("$.messages[0].content", equalTo("own version"))));
    }

    @Test
    void surfacesAnthropicErrorsAsTheSdksOwnExceptions() {
        RateLimitException limited = assertThrows(RateLimitException.class,
                () -> client.messages().create(message("claude-haiku-4-5", "Hi")));
        assertTrue(limited.getMessage().contains("rate_limit_error"), limited.getMessage());

        AnthropicClient wrongKey = sdk("tw-not-a-key");
        try {
            assertThrows(UnauthorizedException.class, () -> wrongKey.messages().create(message("claude-sonnet-4-5", "Hi")));
        } finally {
            wrongKey.close();
        }
    }

    @Test
    void refusesEmbeddingsForAnAnthropicModelNamingTheEndpoint() throws Exception {
        // Chat completions are served by translation (TranslationEndToEndTest); embeddings have no Anthropic equivalent.
        HttpResponse<String> r = gateway.post("/v1/embeddings", "tw-test-key",
                "{\"model\":\"claude-sonnet-4-5\",\"input\":\"Hi\"}");

        assertEquals(400, r.statusCode(), r.body());
        assertTrue(TestGateway.json(r.body()).at("/error/message").asText().contains("/v1/embeddings"), r.body());
    }
}
