package dev.tokenwise.server;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.absent;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.equalToJson;
import static com.github.tomakehurst.wiremock.client.WireMock.matchingJsonPath;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.tomakehurst.wiremock.WireMockServer;
import dev.tokenwise.core.testing.LeakDetectingExtension;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The proxy against a WireMock OpenAI: byte-for-byte relay, usage injection and stripping, auth, records. */
@ExtendWith(LeakDetectingExtension.class)
class OpenAiRelayTest {
    static WireMockServer upstream;
    static TestGateway gateway;

    // A real chat.completion body as OpenAI documents it (gpt-4o-mini), with usage details.
    static final String COMPLETION = """
            {"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion","created":1741569952,\
            "model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant",\
            "content":"Hello! How can I assist you today?","refusal":null,"annotations":[]},"logprobs":null,\
            "finish_reason":"stop"}],"usage":{"prompt_tokens":19,"completion_tokens":10,"total_tokens":29,\
            "prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":\
            {"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},\
            "service_tier":"default","system_fingerprint":"fp_06737a9306"}""";

    static final String CHUNK_PREFIX = "{\"id\":\"chatcmpl-123\",\"object\":\"chat.completion.chunk\",\"created\":1694268190,"
            + "\"model\":\"gpt-4o-mini\",\"system_fingerprint\":\"fp_44709d6fcb\",";
    static final String USAGE_EVENT = "data: " + CHUNK_PREFIX + "\"choices\":[],\"usage\":{\"prompt_tokens\":19,"
            + "\"completion_tokens\":3,\"total_tokens\":22,\"prompt_tokens_details\":{\"cached_tokens\":0},"
            + "\"completion_tokens_details\":{\"reasoning_tokens\":0}}}\n\n";
    static final String STREAM_WITHOUT_USAGE = ""
            + "data: " + CHUNK_PREFIX + "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n"
            + "data: " + CHUNK_PREFIX + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n"
            + "data: " + CHUNK_PREFIX + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\" there\"},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n"
            + "data: " + CHUNK_PREFIX + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"!\"},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n"
            + "data: " + CHUNK_PREFIX + "\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":null}\n\n";
    static final String DONE = "data: [DONE]\n\n";

    static final String CHAT = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"system\",\"content\":\"You are helpful.\"},"
            + "{\"role\":\"user\",\"content\":\"Say hello, in a friendly way.\"}]}";
    static final String CHAT_STREAM = CHAT.replace("\"messages\"", "\"stream\":true,\"messages\"");
    static final String CHAT_STREAM_WITH_USAGE = CHAT.replace("\"messages\"",
            "\"stream\":true,\"stream_options\":{\"include_usage\":true},\"messages\"");

    @BeforeAll
    static void start() throws Exception {
        upstream = new WireMockServer(options().dynamicPort());
        upstream.start();
        gateway = TestGateway.start("""
                providers:
                  openai: {type: openai, base_url: "http://127.0.0.1:%d/v1", api_key: sk-upstream-secret}
                models:
                  - {name: gpt-4o-mini, provider: openai}
                  - {name: text-embedding-3-small, provider: openai}
                  - {name: renamed, provider: openai, upstream_name: gpt-4o-mini}
                """.formatted(upstream.port()));
    }

    @AfterAll
    static void stop() {
        gateway.close();
        upstream.stop();
    }

    @BeforeEach
    void reset() {
        upstream.resetAll();
    }

    @Test
    void relaysAJsonCompletionByteForByteAndBooksTheProviderUsage() throws Exception {
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withHeader("openai-processing-ms", "321")
                .withBody(COMPLETION)));

        HttpResponse<String> response = gateway.post("/v1/chat/completions", "tw-test-key", CHAT,
                "X-Task-Id", "task-42", "X-Task-Attempt", "2");

        assertEquals(200, response.statusCode());
        assertEquals(COMPLETION, response.body());
        assertEquals("321", response.headers().firstValue("openai-processing-ms").orElseThrow());
        assertTrue(response.headers().firstValue("x-request-id").orElseThrow().startsWith("req_"));
        // The provider key replaces the client's; the client's key and gateway headers stay here; the body is untouched.
        upstream.verify(postRequestedFor(urlEqualTo("/v1/chat/completions"))
                .withHeader("Authorization", equalTo("Bearer sk-upstream-secret"))
                .withHeader("X-Task-Id", absent())
                .withRequestBody(equalTo(CHAT)));

        JsonNode record = gateway.record(response);
        assertEquals("demo", record.get("team").asText());
        assertEquals("demo-key", record.get("key_id").asText());
        assertEquals("gpt-4o-mini", record.get("model").asText());
        assertEquals("openai", record.get("provider").asText());
        assertEquals("ok", record.get("status").asText());
        assertEquals(19, record.get("input_tokens").asLong());
        assertEquals(10, record.get("output_tokens").asLong());
        assertEquals("provider", record.get("usage_source").asText());
        // Local counts: OpenAI's chat accounting of the request (3 per message + role + content, + 3 priming:
        // 3+1+4 + 3+1+8 + 3), and the tokens of the returned text. The stub reports 19, the count is 23.
        assertEquals(23, record.get("local_input_tokens").asLong());
        assertEquals(9, record.get("local_output_tokens").asLong());
        // 19 x $0.15/Mtok + 10 x $0.60/Mtok = 2850 + 6000 nano-USD
        assertEquals(8850, record.get("cost_nanos").asLong());
        assertEquals("0.00000885", record.get("cost_usd").decimalValue().toPlainString());
        assertEquals("task-42", record.get("task_id").asText());
        assertEquals(2, record.get("task_attempt").asInt());
        assertEquals("stop", record.get("finish_reason").asText());
        assertFalse(record.get("stream").asBoolean());
    }

    @Test
    void asksForStreamUsageAndHidesTheUsageChunkFromAClientThatDidNotAsk() throws Exception {
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "text/event-stream")
                .withBody(STREAM_WITHOUT_USAGE + USAGE_EVENT + DONE)
                .withChunkedDribbleDelay(7, 60)));

        HttpResponse<String> response = gateway.post("/v1/chat/completions", "tw-test-key", CHAT_STREAM);

        assertEquals(200, response.statusCode());
        assertEquals(STREAM_WITHOUT_USAGE + DONE, response.body());
        upstream.verify(postRequestedFor(urlEqualTo("/v1/chat/completions"))
                .withRequestBody(matchingJsonPath("$.stream_options.include_usage", equalTo("true")))
                .withRequestBody(matchingJsonPath("$.messages[1].content", equalTo("Say hello, in a friendly way."))));
        JsonNode record = gateway.record(response);
        assertTrue(record.get("stream").asBoolean());
        assertEquals("provider", record.get("usage_source").asText());
        assertEquals(19, record.get("input_tokens").asLong());
        assertEquals(3, record.get("output_tokens").asLong());
        assertEquals(3, record.get("local_output_tokens").asLong()); // "Hello there!"
        assertEquals(19 * 150 + 3 * 600, record.get("cost_nanos").asLong());
    }

    @Test
    void relaysTheUsageChunkByteForByteToAClientThatAskedForIt() throws Exception {
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "text/event-stream")
                .withBody(STREAM_WITHOUT_USAGE + USAGE_EVENT + DONE)));

        HttpResponse<String> response = gateway.post("/v1/chat/completions", "tw-test-key", CHAT_STREAM_WITH_USAGE);

        assertEquals(STREAM_WITHOUT_USAGE + USAGE_EVENT + DONE, response.body());
        // Nothing needed rewriting, so the original bytes went upstream.
        upstream.verify(postRequestedFor(urlEqualTo("/v1/chat/completions")).withRequestBody(equalTo(CHAT_STREAM_WITH_USAGE)));
    }

    @Test
    void countsAStreamLocallyWhenTheProviderReportsNoUsage() throws Exception {
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "text/event-stream").withBody(STREAM_WITHOUT_USAGE + DONE)));

        HttpResponse<String> response = gateway.post("/v1/chat/completions", "tw-test-key", CHAT_STREAM);

        JsonNode record = gateway.record(response);
        assertEquals("local", record.get("usage_source").asText());
        assertEquals(23, record.get("input_tokens").asLong());
        assertEquals(3, record.get("output_tokens").asLong());
    }

    @Test
    void sendsTheUpstreamModelNameOfARenamedModel() throws Exception {
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody(COMPLETION)));

        HttpResponse<String> response = gateway.post("/v1/chat/completions", "tw-test-key",
                CHAT.replace("gpt-4o-mini", "renamed"));

        assertEquals(200, response.statusCode());
        upstream.verify(postRequestedFor(urlEqualTo("/v1/chat/completions"))
                .withRequestBody(matchingJsonPath("$.model", equalTo("gpt-4o-mini"))));
        assertEquals("renamed", gateway.record(response).get("model").asText());
    }

    @Test
    void relaysEmbeddingsAndTheirUsage() throws Exception {
        String body = "{\"object\":\"list\",\"data\":[{\"object\":\"embedding\",\"index\":0,\"embedding\":[0.0023,-0.0093]}],"
                + "\"model\":\"text-embedding-3-small\",\"usage\":{\"prompt_tokens\":8,\"total_tokens\":8}}";
        upstream.stubFor(post(urlEqualTo("/v1/embeddings")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody(body)));

        HttpResponse<String> response = gateway.post("/v1/embeddings", "tw-test-key",
                "{\"model\":\"text-embedding-3-small\",\"input\":\"The food was delicious and the waiter...\"}");

        assertEquals(body, response.body());
        JsonNode record = gateway.record(response);
        assertEquals(8, record.get("input_tokens").asLong());
        assertEquals(0, record.get("output_tokens").asLong());
        assertEquals(8, record.get("local_input_tokens").asLong());
        assertEquals(8 * 20, record.get("cost_nanos").asLong()); // $0.02 / Mtok
    }

    @Test
    void relaysAProviderErrorWithItsStatusAndBodyAndChargesNothing() throws Exception {
        String error = "{\"error\":{\"message\":\"Rate limit reached for gpt-4o-mini\",\"type\":\"requests\","
                + "\"param\":null,\"code\":\"rate_limit_exceeded\"}}";
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(429)
                .withHeader("Content-Type", "application/json").withHeader("Retry-After", "2").withBody(error)));

        HttpResponse<String> response = gateway.post("/v1/chat/completions", "tw-test-key", CHAT);

        assertEquals(429, response.statusCode());
        assertEquals(error, response.body());
        assertEquals("2", response.headers().firstValue("retry-after").orElseThrow());
        JsonNode record = gateway.record(response);
        assertEquals("upstream_error", record.get("status").asText());
        assertEquals(429, record.get("http_status").asInt());
        assertEquals(0, record.get("cost_nanos").asLong());
        assertEquals(23, record.get("local_input_tokens").asLong());
    }

    @Test
    void keepsTheClientConnectionForTheNextRequest() throws Exception {
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody(COMPLETION)));
        for (int i = 0; i < 20; i++) {
            HttpResponse<String> response = gateway.post("/v1/chat/completions", "tw-test-key", CHAT);
            assertEquals(200, response.statusCode());
            assertEquals(COMPLETION, response.body());
        }
        assertTrue(gateway.app.server().idleUpstreamConnections() >= 1, "upstream connections are pooled");
    }

    @Test
    void answersRequestRecordsOnlyToTheAdminAndTheCallingKey() throws Exception {
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody(COMPLETION)));
        HttpResponse<String> response = gateway.post("/v1/chat/completions", "tw-test-key", CHAT);
        String path = "/api/v1/requests/" + response.headers().firstValue("x-request-id").orElseThrow();

        assertEquals(200, gateway.get(path, "tw-test-key").statusCode());
        assertEquals(200, gateway.get(path, TestGateway.ADMIN_KEY).statusCode());
        assertEquals(404, gateway.get(path, "tw-other-key").statusCode());
        HttpResponse<String> anonymous = gateway.get(path, null);
        assertEquals(401, anonymous.statusCode());
        assertEquals("invalid_api_key", TestGateway.json(anonymous.body()).at("/error/code").asText());
        assertEquals(404, gateway.get("/api/v1/requests/req_doesnotexist", TestGateway.ADMIN_KEY).statusCode());
    }

    @Test
    void neverForwardsTheClientKeyUpstream() throws Exception {
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody(COMPLETION)));
        gateway.post("/v1/chat/completions", "tw-test-key", CHAT, "x-api-key", "tw-test-key");
        upstream.verify(postRequestedFor(urlEqualTo("/v1/chat/completions"))
                .withHeader("x-api-key", absent())
                .withHeader("Authorization", equalTo("Bearer sk-upstream-secret"))
                .withRequestBody(equalToJson(CHAT)));
    }

    @Test
    void booksTheUsageOfAResponsesApiCallWithCachedAndReasoningTokens() throws Exception {
        String body = "{\"id\":\"resp_67cb\",\"object\":\"response\",\"created_at\":1741476542,\"status\":\"completed\","
                + "\"model\":\"gpt-4o-mini\",\"output\":[{\"type\":\"message\",\"id\":\"msg_67cb\",\"status\":\"completed\","
                + "\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":\"In a peaceful grove.\","
                + "\"annotations\":[]}]}],\"usage\":{\"input_tokens\":36,\"input_tokens_details\":{\"cached_tokens\":10},"
                + "\"output_tokens\":87,\"output_tokens_details\":{\"reasoning_tokens\":20},\"total_tokens\":123}}";
        upstream.stubFor(post(urlEqualTo("/v1/responses")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody(body)));

        HttpResponse<String> response = gateway.post("/v1/responses", "tw-test-key",
                "{\"model\":\"gpt-4o-mini\",\"input\":\"Tell me a three sentence bedtime story about a unicorn.\"}");

        assertEquals(body, response.body());
        JsonNode record = gateway.record(response);
        assertEquals(36, record.get("input_tokens").asLong());
        assertEquals(10, record.get("cached_input_tokens").asLong());
        assertEquals(87, record.get("output_tokens").asLong());
        assertEquals(20, record.get("reasoning_tokens").asLong());
        assertEquals("stop", record.get("finish_reason").asText());
        // 26 x 0.15 + 10 x 0.075 + 67 x 0.60 + 20 x 0.60 (reasoning at the output rate), in nano-USD
        assertEquals(26 * 150 + 10 * 75 + 67 * 600 + 20 * 600, record.get("cost_nanos").asLong());
    }

    @Test
    void readsUsageFromTheCompletedEventOfAResponsesStream() throws Exception {
        String events = "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\",\"status\":\"in_progress\"}}\n\n"
                + "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"item_id\":\"msg_1\",\"output_index\":0,\"content_index\":0,\"delta\":\"Hi\"}\n\n"
                + "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"item_id\":\"msg_1\",\"output_index\":0,\"content_index\":0,\"delta\":\" there\"}\n\n"
                + "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"id\":\"resp_1\",\"status\":\"completed\","
                + "\"usage\":{\"input_tokens\":12,\"input_tokens_details\":{\"cached_tokens\":0},\"output_tokens\":2,"
                + "\"output_tokens_details\":{\"reasoning_tokens\":0},\"total_tokens\":14}}}\n\n";
        upstream.stubFor(post(urlEqualTo("/v1/responses")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "text/event-stream").withBody(events)));

        HttpResponse<String> response = gateway.post("/v1/responses", "tw-test-key",
                "{\"model\":\"gpt-4o-mini\",\"input\":\"Say hi\",\"stream\":true}");

        assertEquals(events, response.body(), "Responses streams are relayed untouched");
        upstream.verify(postRequestedFor(urlEqualTo("/v1/responses"))
                .withRequestBody(equalTo("{\"model\":\"gpt-4o-mini\",\"input\":\"Say hi\",\"stream\":true}")));
        JsonNode record = gateway.record(response);
        assertEquals(12, record.get("input_tokens").asLong());
        assertEquals(2, record.get("output_tokens").asLong());
        assertEquals(2, record.get("local_output_tokens").asLong()); // "Hi there"
        assertEquals("provider", record.get("usage_source").asText());
    }
}
