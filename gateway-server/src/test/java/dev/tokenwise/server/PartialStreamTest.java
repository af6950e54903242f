package dev.tokenwise.server;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tokenwise.core.testing.LeakDetectingExtension;
import dev.tokenwise.server.StreamFaultTest.FakeUpstream;
import dev.tokenwise.server.StreamFaultTest.RawClient;
import java.io.IOException;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Streams that end before the provider's final usage, against scripted Anthropic, Gemini and OpenAI upstreams: a
 * client that leaves after some text, and a provider that reports an error in the middle of a 200 stream. A partial
 * stream is billed for what was produced: the provider's final usage when it came, else the larger of its running
 * figure and the local count of what was relayed.
 */
@ExtendWith(LeakDetectingExtension.class)
class PartialStreamTest {
    static final String SSE_HEAD = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
    static final String MESSAGE_START = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\","
            + "\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5-20250929\",\"content\":[],"
            + "\"stop_reason\":null,\"usage\":{\"input_tokens\":30,\"output_tokens\":1}}}\n\n"
            + "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":"
            + "{\"type\":\"text\",\"text\":\"\"}}\n\n";
    static final String MESSAGES_STREAM = """
            {"model": "claude-sonnet-4-5", "max_tokens": 256, "stream": true,
             "messages": [{"role": "user", "content": "Tell me about gateways."}]}""";

    static String textDelta(String text) {
        return "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
                + "{\"type\":\"text_delta\",\"text\":\"" + text + "\"}}\n\n";
    }

    static String chunk(String data) {
        return StreamFaultTest.chunk(data);
    }

    static TestGateway anthropicGateway(int port) throws InterruptedException {
        return TestGateway.start("""
                providers:
                  anthropic: {type: anthropic, base_url: "http://127.0.0.1:%d/v1", api_key: sk-ant-x, read_timeout_ms: 10000}
                  google: {type: gemini, base_url: "http://127.0.0.1:%d/v1beta", api_key: AIza-x, read_timeout_ms: 10000}
                  openai: {type: openai, base_url: "http://127.0.0.1:%d/v1", api_key: sk-x, read_timeout_ms: 10000}
                models:
                  - {name: claude-sonnet-4-5, provider: anthropic, upstream_name: claude-sonnet-4-5-20250929}
                  - {name: gemini-2.5-flash, provider: google}
                  - {name: gpt-4o-mini, provider: openai}
                """.formatted(port, port, port));
    }

    /** Reads the stream of {@code request} until {@code marker} was seen {@code times} times, then leaves. */
    static String leaveAfter(TestGateway gateway, String path, String body, String marker, int times) throws IOException {
        try (RawClient client = new RawClient(gateway.app.port())) {
            client.send(RawClient.post(path, body, ""));
            RawClient.Head head = client.readHead();
            assertEquals(200, head.status(), head.toString());
            StringBuilder received = new StringBuilder();
            while (count(received, marker) < times) {
                byte[] c = client.readChunk();
                assertTrue(c != null, "the stream ended early: " + received);
                received.append(new String(c, UTF_8));
            }
            return head.header("x-request-id");
        }
    }

    /** Reads a whole stream; the request id. */
    static String readAll(TestGateway gateway, String path, String body) throws IOException {
        try (RawClient client = new RawClient(gateway.app.port())) {
            client.send(RawClient.post(path, body, ""));
            RawClient.Head head = client.readHead();
            assertEquals(200, head.status(), head.toString());
            try {
                while (client.readChunk() != null) {
                    // read to the end
                }
            } catch (IOException cutShort) {
                // some providers close after an error event
            }
            return head.header("x-request-id");
        }
    }

    static int count(CharSequence text, String needle) {
        String s = text.toString();
        int n = 0;
        for (int i = s.indexOf(needle); i >= 0; i = s.indexOf(needle, i + needle.length())) {
            n++;
        }
        return n;
    }

    /** Waits until the record of {@code id} is settled and returns it. */
    static JsonNode record(TestGateway gateway, String id) throws Exception {
        gateway.awaitSinks();
        return gateway.record(id);
    }

    static boolean flagged(JsonNode record, String flag) {
        for (JsonNode f : record.path("flags")) {
            if (flag.equals(f.asText())) {
                return true;
            }
        }
        return false;
    }

    /** A Claude stream: message_start (output_tokens 1), then twelve text deltas 20 ms apart, then silence. */
    static FakeUpstream slowClaude() throws IOException {
        return new FakeUpstream(c -> {
            c.readRequest();
            c.write(SSE_HEAD + chunk(MESSAGE_START));
            for (int i = 0; i < 12; i++) {
                c.write(chunk(textDelta("The gateway relays word number " + i + ". ")));
                Thread.sleep(20);
            }
            c.awaitClose();
        });
    }

    // ------------------------------------------------------------------------------------------ the client leaves

    @Test
    void billsAClaudeStreamTheClientLeftForTheTextItWasSentNotTheStartsPlaceholder() throws Exception {
        try (FakeUpstream upstream = slowClaude(); TestGateway gateway = anthropicGateway(upstream.port())) {
            String id = leaveAfter(gateway, "/v1/messages", MESSAGES_STREAM, "text_delta", 9);

            JsonNode record = record(gateway, id);
            assertEquals("client_cancelled", record.path("status").asText(), record.toString());
            assertEquals(30, record.path("input_tokens").asLong(), "the provider's input count stands");
            long relayed = record.path("local_output_tokens").asLong();
            assertTrue(relayed > 9 * 5, "nine deltas or more of several tokens each: " + record);
            assertEquals(relayed, record.path("output_tokens").asLong(), "not message_start's 1: " + record);
            assertTrue(flagged(record, "partial_usage"), record.toString());
            // claude-sonnet-4-5 at $3 in and $15 out per Mtok: 3,000 and 15,000 nano-USD a token
            assertEquals(30 * 3_000 + relayed * 15_000, record.path("cost_nanos").asLong());
        }
    }

    @Test
    void billsATranslatedClaudeStreamTheClientLeftTheSameWay() throws Exception {
        try (FakeUpstream upstream = slowClaude(); TestGateway gateway = anthropicGateway(upstream.port())) {
            String id = leaveAfter(gateway, "/v1/chat/completions", """
                    {"model": "claude-sonnet-4-5", "stream": true, "messages": [{"role": "user", "content": "Hi"}]}""",
                    "\"content\":\"The gateway", 9);

            JsonNode record = record(gateway, id);
            assertEquals("client_cancelled", record.path("status").asText(), record.toString());
            long relayed = record.path("local_output_tokens").asLong();
            assertTrue(relayed > 9 * 5, record.toString());
            assertEquals(relayed, record.path("output_tokens").asLong(), record.toString());
            assertEquals(30 * 3_000 + relayed * 15_000, record.path("cost_nanos").asLong());
        }
    }

    @Test
    void billsAGeminiStreamTheClientLeftForTheLargerOfItsRunningCountAndTheTextRelayed() throws Exception {
        try (FakeUpstream upstream = new FakeUpstream(c -> {
                    c.readRequest();
                    c.write(SSE_HEAD);
                    for (int i = 1; i <= 12; i++) {
                        // Gemini's running candidatesTokenCount, here lagging far behind the text it sent
                        c.write(chunk("data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Gemini streams word "
                                + "number " + i + " of the answer. \"}], \"role\": \"model\"}, \"index\": 0}],"
                                + " \"usageMetadata\": {\"promptTokenCount\": 9, \"candidatesTokenCount\": " + i + "}}\r\n\r\n"));
                        Thread.sleep(20);
                    }
                    c.awaitClose();
                });
             TestGateway gateway = anthropicGateway(upstream.port())) {
            String id = leaveAfter(gateway, "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
                    "{\"contents\": [{\"parts\": [{\"text\": \"Hi\"}]}]}", "\"candidates\"", 6);

            JsonNode record = record(gateway, id);
            assertEquals("client_cancelled", record.path("status").asText(), record.toString());
            assertEquals(9, record.path("input_tokens").asLong());
            long relayed = record.path("local_output_tokens").asLong();
            assertTrue(relayed > 12, record.toString());
            assertEquals(relayed, record.path("output_tokens").asLong(), record.toString());
            assertTrue(flagged(record, "partial_usage"), record.toString());
        }
    }

    // ------------------------------------------------------------------- the provider reports an error mid-stream

    @Test
    void recordsAClaudeErrorEventInA200StreamAsAnUpstreamStreamErrorBilledForWhatCameBefore() throws Exception {
        try (FakeUpstream upstream = new FakeUpstream(c -> {
                    c.readRequest();
                    c.write(SSE_HEAD + chunk(MESSAGE_START) + chunk(textDelta("Half of an answer about gateways"))
                            + chunk("event: error\ndata: {\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\","
                                    + " \"message\": \"Overloaded\"}}\n\n") + "0\r\n\r\n");
                    c.awaitClose();
                });
             TestGateway gateway = anthropicGateway(upstream.port())) {
            String id = readAll(gateway, "/v1/messages", MESSAGES_STREAM);

            JsonNode record = record(gateway, id);
            assertEquals("upstream_stream_error", record.path("status").asText(), record.toString());
            assertEquals(200, record.path("http_status").asInt());
            long relayed = record.path("local_output_tokens").asLong();
            assertTrue(relayed > 1, record.toString());
            assertEquals(relayed, record.path("output_tokens").asLong(), "not message_start's 1: " + record);
            assertEquals(1, gateway.app.server().providerHealth().get("anthropic").consecutiveFailures(),
                    "a failure of the provider");
            HttpResponse<String> metrics = gateway.get("/metrics", TestGateway.ADMIN_KEY);
            assertTrue(metrics.body().contains("status=\"upstream_stream_error\""), "counted in the metrics");
        }
    }

    @Test
    void recordsAnOpenAiErrorChunkAndAGeminiErrorEventInA200StreamAsUpstreamStreamErrors() throws Exception {
        try (FakeUpstream upstream = new FakeUpstream(c -> {
                    String request = c.readRequest();
                    if (request.contains("\"messages\"")) {
                        c.write(SSE_HEAD + chunk(StreamFaultTest.event("Hello")) + chunk(StreamFaultTest.event(" there"))
                                + chunk("data: {\"error\": {\"message\": \"The server had an error while processing your"
                                        + " request.\", \"type\": \"server_error\", \"param\": null, \"code\": null}}\n\n")
                                + "0\r\n\r\n");
                    } else {
                        c.write(SSE_HEAD + chunk("data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Hello"
                                + " there\"}], \"role\": \"model\"}, \"index\": 0}], \"usageMetadata\": {\"promptTokenCount\":"
                                + " 9, \"candidatesTokenCount\": 1}}\r\n\r\n")
                                + chunk("data: {\"error\": {\"code\": 503, \"message\": \"The model is overloaded.\","
                                        + " \"status\": \"UNAVAILABLE\"}}\r\n\r\n") + "0\r\n\r\n");
                    }
                    c.awaitClose();
                });
             TestGateway gateway = anthropicGateway(upstream.port())) {
            JsonNode openai = record(gateway, readAll(gateway, "/v1/chat/completions", StreamFaultTest.CHAT_STREAM));
            assertEquals("upstream_stream_error", openai.path("status").asText(), openai.toString());
            assertEquals(StreamFaultTest.tokens("Hello there"), openai.path("output_tokens").asLong(), openai.toString());

            JsonNode gemini = record(gateway, readAll(gateway,
                    "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
                    "{\"contents\": [{\"parts\": [{\"text\": \"Hi\"}]}]}"));
            assertEquals("upstream_stream_error", gemini.path("status").asText(), gemini.toString());
            assertEquals(200, gemini.path("http_status").asInt());
            assertEquals(9, gemini.path("input_tokens").asLong());
            assertTrue(gemini.path("output_tokens").asLong() >= 2, "the text relayed, not the running 1: " + gemini);
        }
    }
}
