package dev.tokenwise.server;

import static com.github.tomakehurst.wiremock.client.WireMock.absent;
import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.equalToJson;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.tomakehurst.wiremock.WireMockServer;
import dev.tokenwise.core.testing.LeakDetectingExtension;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Gemini's native API through the gateway, against a WireMock Gemini: {@code generateContent} and
 * {@code streamGenerateContent?alt=sse} relayed as Gemini sent them, the gateway key accepted in
 * {@code x-goog-api-key} and replaced by the provider's, cached and thinking tokens priced at their own rates, and
 * Gemini's errors relayed with their status.
 */
@ExtendWith(LeakDetectingExtension.class)
class GeminiEndToEndTest {
    static final String PROVIDER_KEY = "AIza-upstream-secret";
    static final String GENERATE = "/v1beta/models/gemini-2.5-flash:generateContent";
    static final String STREAM = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse";

    static WireMockServer upstream;
    static TestGateway gateway;

    // A GenerateContentResponse as the API reference shows it, with context caching and thinking.
    static final String RESPONSE = """
            {"candidates": [{"content": {"parts": [{"text": "A gateway meters every call."}], "role": "model"},
                             "finishReason": "STOP", "index": 0}],
             "usageMetadata": {"promptTokenCount": 1200, "cachedContentTokenCount": 1000, "candidatesTokenCount": 40,
                               "thoughtsTokenCount": 350, "totalTokenCount": 1590},
             "modelVersion": "gemini-2.5-flash", "responseId": "mAitaPzRNOSV7M8PzNHxsQ8"}
            """;

    // streamGenerateContent?alt=sse: each event a GenerateContentResponse, usage repeated and growing, CRLF line ends.
    static final String SSE = "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Hello\"}],\"role\": \"model\"},\"index\": 0}],"
            + "\"usageMetadata\": {\"promptTokenCount\": 9,\"totalTokenCount\": 9},\"modelVersion\": \"gemini-2.5-flash\"}\r\n\r\n"
            + "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \" from Gemini\"}],\"role\": \"model\"},"
            + "\"finishReason\": \"MAX_TOKENS\",\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 9,"
            + "\"candidatesTokenCount\": 8,\"thoughtsTokenCount\": 20,\"totalTokenCount\": 37},\"modelVersion\": \"gemini-2.5-flash\"}\r\n\r\n";

    static final String QUOTA = """
            {"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.",
                       "status": "INVALID_ARGUMENT"}}
            """;

    @BeforeAll
    static void start() throws Exception {
        upstream = new WireMockServer(options().dynamicPort());
        upstream.start();
        upstream.stubFor(post(urlEqualTo(GENERATE)).withHeader("x-goog-api-key", equalTo(PROVIDER_KEY))
                .willReturn(aResponse().withStatus(200).withHeader("Content-Type", "application/json; charset=UTF-8")
                        .withBody(RESPONSE)));
        upstream.stubFor(post(urlEqualTo(STREAM)).withHeader("x-goog-api-key", equalTo(PROVIDER_KEY))
                .willReturn(aResponse().withStatus(200).withHeader("Content-Type", "text/event-stream").withBody(SSE)));
        upstream.stubFor(post(urlEqualTo("/v1beta/models/gemini-embedding-001:embedContent"))
                .withHeader("x-goog-api-key", equalTo(PROVIDER_KEY))
                .willReturn(aResponse().withStatus(200).withHeader("Content-Type", "application/json")
                        .withBody("{\"embedding\": {\"values\": [0.013, -0.008, 0.021]}}")));
        upstream.stubFor(post(urlEqualTo("/v1beta/models/gemini-embedding-001:batchEmbedContents"))
                .withHeader("x-goog-api-key", equalTo(PROVIDER_KEY))
                .willReturn(aResponse().withStatus(200).withHeader("Content-Type", "application/json")
                        .withBody("{\"embeddings\": [{\"values\": [0.1, 0.2]}, {\"values\": [0.3, 0.4]}]}")));
        upstream.stubFor(post(urlEqualTo("/v1beta/models/gemini-2.5-flash:countTokens"))
                .withHeader("x-goog-api-key", equalTo(PROVIDER_KEY))
                .willReturn(aResponse().withStatus(200).withHeader("Content-Type", "application/json")
                        .withBody("{\"totalTokens\": 31, \"promptTokensDetails\": [{\"modality\": \"TEXT\", \"tokenCount\": 31}]}")));
        upstream.stubFor(post(urlEqualTo("/v1beta/models/gemini-2.5-pro:generateContent"))
                .willReturn(aResponse().withStatus(400).withHeader("Content-Type", "application/json").withBody(QUOTA)));
        gateway = TestGateway.start("""
                providers:
                  google: {type: gemini, base_url: "http://127.0.0.1:%d/v1beta", api_key: %s}
                models:
                  - name: gemini-2.5-flash
                    provider: google
                    price: {input_per_mtok: 0.30, output_per_mtok: 2.50, cached_input_per_mtok: 0.075}
                  - {name: gemini-2.5-pro, provider: google}
                  - {name: gemini-embedding-001, provider: google}
                  - {name: embed, provider: google, upstream_name: gemini-embedding-001}
                """.formatted(upstream.port(), PROVIDER_KEY));
    }

    @AfterAll
    static void stop() {
        gateway.close();
        upstream.stop();
    }

    private static HttpResponse<String> call(String path, String body) throws Exception {
        return gateway.post(path, null, body, "x-goog-api-key", "tw-test-key");
    }

    @Test
    void relaysGenerateContentAndPricesCachedAndThinkingTokens() throws Exception {
        String request = """
                {"contents": [{"role": "user", "parts": [{"text": "What does a gateway do?"}]}],
                 "generationConfig": {"maxOutputTokens": 512}}""";
        HttpResponse<String> r = call(GENERATE, request);

        assertEquals(200, r.statusCode(), r.body());
        assertEquals(TestGateway.json(RESPONSE), TestGateway.json(r.body()), "Gemini's answer, unchanged");
        upstream.verify(postRequestedFor(urlEqualTo(GENERATE))
                .withHeader("x-goog-api-key", equalTo(PROVIDER_KEY))
                .withHeader("authorization", absent())
                .withRequestBody(equalToJson(request)));

        JsonNode record = gateway.record(r);
        assertEquals("gemini-2.5-flash", record.path("model").asText());
        assertEquals("google", record.path("provider").asText());
        assertEquals("provider", record.path("usage_source").asText());
        assertEquals(1200, record.path("input_tokens").asLong());
        assertEquals(1000, record.path("cached_input_tokens").asLong());
        assertEquals(390, record.path("output_tokens").asLong(), "answer plus thinking");
        assertEquals(350, record.path("reasoning_tokens").asLong());
        assertEquals("stop", record.path("finish_reason").asText());
        // 200 uncached × $0.30 + 1000 cached × $0.075 + 390 × $2.50 per Mtok, in nano-USD
        assertEquals(60_000 + 75_000 + 975_000, record.path("cost_nanos").asLong());
    }

    @Test
    void relaysTheSseStreamEventByEventAndKeepsTheLastUsage() throws Exception {
        HttpResponse<String> r = call("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", """
                {"contents": [{"role": "user", "parts": [{"text": "Stream, please"}]}]}""");

        assertEquals(200, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
        assertEquals(SSE, r.body(), "every event reaches the client as Gemini sent it");

        JsonNode record = gateway.record(r);
        assertTrue(record.path("stream").asBoolean());
        assertEquals(9, record.path("input_tokens").asLong());
        assertEquals(28, record.path("output_tokens").asLong());
        assertEquals(20, record.path("reasoning_tokens").asLong());
        assertEquals("length", record.path("finish_reason").asText());
        // 9 × $0.30 + 28 × $2.50 per Mtok
        assertEquals(2_700 + 70_000, record.path("cost_nanos").asLong());
    }

    @Test
    void embedsOneContentAndPricesItsTextAtTheCatalogsInputPrice() throws Exception {
        HttpResponse<String> r = call("/v1beta/models/gemini-embedding-001:embedContent", """
                {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "What is a gateway?"}]}}""");

        assertEquals(200, r.statusCode(), r.body());
        assertEquals(3, TestGateway.json(r.body()).at("/embedding/values").size());
        JsonNode record = gateway.record(r);
        assertEquals("/v1beta/models/{model}:embedContent", record.path("endpoint").asText());
        assertEquals("ok", record.path("status").asText());
        // Gemini reports no usage for embeddings: the local count of the text is billed.
        long tokens = StreamFaultTest.tokens("What is a gateway?");
        assertEquals(tokens, record.path("input_tokens").asLong(), record.toString());
        assertEquals(0, record.path("output_tokens").asLong());
        assertEquals(tokens * 150, record.path("cost_nanos").asLong(), "gemini-embedding-001 at $0.15 per Mtok");
    }

    @Test
    void embedsABatchUnderARenamedModelNamingTheUpstreamModelInEachRequest() throws Exception {
        HttpResponse<String> r = call("/v1beta/models/embed:batchEmbedContents", """
                {"requests": [{"model": "models/embed", "content": {"parts": [{"text": "first text"}]}},
                              {"model": "models/embed", "content": {"parts": [{"text": "second text"}]}}]}""");

        assertEquals(200, r.statusCode(), r.body());
        assertEquals(2, TestGateway.json(r.body()).path("embeddings").size());
        upstream.verify(postRequestedFor(urlEqualTo("/v1beta/models/gemini-embedding-001:batchEmbedContents"))
                .withRequestBody(equalToJson("""
                        {"requests": [{"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "first text"}]}},
                                      {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "second text"}]}}]}""")));
        JsonNode record = gateway.record(r);
        long tokens = StreamFaultTest.tokens("first text") + StreamFaultTest.tokens("second text");
        assertEquals(tokens, record.path("input_tokens").asLong(), record.toString());
        assertEquals(tokens * 150, record.path("cost_nanos").asLong());
    }

    @Test
    void countsTokensWithoutBillingThem() throws Exception {
        HttpResponse<String> r = call("/v1beta/models/gemini-2.5-flash:countTokens", """
                {"contents": [{"role": "user", "parts": [{"text": "How many tokens is this?"}]}]}""");

        assertEquals(200, r.statusCode(), r.body());
        assertEquals(31, TestGateway.json(r.body()).path("totalTokens").asInt());
        JsonNode record = gateway.record(r);
        assertEquals("/v1beta/models/{model}:countTokens", record.path("endpoint").asText());
        assertEquals("ok", record.path("status").asText());
        assertEquals(0, record.path("cost_nanos").asLong());
        assertEquals(0, record.path("input_tokens").asLong());
    }

    @Test
    void relaysGeminisErrorsWithTheirStatusAndBody() throws Exception {
        HttpResponse<String> r = call("/v1beta/models/gemini-2.5-pro:generateContent", """
                {"contents": [{"parts": [{"text": "Hi"}]}]}""");

        assertEquals(400, r.statusCode());
        assertEquals("INVALID_ARGUMENT", TestGateway.json(r.body()).at("/error/status").asText());
        JsonNode record = gateway.record(r);
        assertEquals("upstream_error", record.path("status").asText());
        assertEquals(0, record.path("cost_nanos").asLong());
    }

    @Test
    void refusesAnUnknownGatewayKeyWithoutCallingGemini() throws Exception {
        int before = upstream.getAllServeEvents().size();
        HttpResponse<String> r = gateway.post(GENERATE, null, "{\"contents\": []}", "x-goog-api-key", "tw-wrong");
        assertEquals(401, r.statusCode(), r.body());
        assertEquals(before, upstream.getAllServeEvents().size());
    }
}
