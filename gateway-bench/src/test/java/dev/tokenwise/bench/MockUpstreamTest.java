package dev.tokenwise.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenwise.core.testing.LeakDetectingExtension;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(LeakDetectingExtension.class)
class MockUpstreamTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private static MockUpstream mock;

    @BeforeAll
    static void start() throws InterruptedException {
        mock = MockUpstream.start(new MockUpstream.Options("127.0.0.1", 0, 1, 5, Duration.ZERO, Duration.ofMillis(1)));
    }

    @AfterAll
    static void stop() {
        mock.close();
    }

    @Test
    void answersChatCompletionWithUsage() throws Exception {
        HttpResponse<String> response = post("{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertEquals(200, response.statusCode());
        JsonNode body = JSON.readTree(response.body());
        assertEquals("chat.completion", body.get("object").asText());
        JsonNode usage = body.get("usage");
        assertEquals(usage.get("prompt_tokens").asInt() + usage.get("completion_tokens").asInt(), usage.get("total_tokens").asInt());
    }

    @Test
    void streamsChunksThenUsageThenDoneWhenUsageIsRequested() throws Exception {
        HttpResponse<String> response = post("{\"model\":\"m\",\"stream\": true,\"stream_options\":{\"include_usage\":true}}");
        assertEquals(200, response.statusCode());
        assertEquals("text/event-stream; charset=utf-8", response.headers().firstValue("content-type").orElseThrow());
        List<String> data = events(response.body());
        assertEquals("[DONE]", data.get(data.size() - 1));
        // role delta + 5 content deltas + finish + usage + [DONE]
        assertEquals(9, data.size());
        JsonNode usageEvent = JSON.readTree(data.get(data.size() - 2));
        assertEquals(0, usageEvent.get("choices").size());
        assertEquals(5, usageEvent.get("usage").get("completion_tokens").asInt());
        assertTrue(JSON.readTree(data.get(1)).get("usage").isNull());
    }

    @Test
    void streamsWithoutUsageEventUnlessRequested() throws Exception {
        List<String> data = events(post("{\"stream\":true}").body());
        assertEquals(8, data.size());
        assertFalse(JSON.readTree(data.get(data.size() - 2)).has("usage"));
    }

    @Test
    void pacedEventsCarryTheTimeTheyWereSentInTheirId() throws Exception {
        long before = System.nanoTime();
        List<String> data = events(post("{\"stream\":true}").body());
        long after = System.nanoTime();
        long previous = before;
        for (String event : data.subList(0, data.size() - 1)) {
            String id = JSON.readTree(event).get("id").asText();
            assertTrue(id.startsWith(MockResponses.SENT_MARKER), id);
            long sent = Long.parseUnsignedLong(id.substring(MockResponses.SENT_MARKER.length()), 16);
            assertTrue(sent >= previous && sent <= after, () -> id + " sent outside " + before + ".." + after);
            previous = sent;
        }
        assertTrue(previous - before >= TimeUnit.MILLISECONDS.toNanos(6), "six 1 ms pauses between the 7 events");
    }

    @Test
    void answersNotFoundOutsideChatCompletions() throws Exception {
        HttpResponse<String> response = CLIENT.send(HttpRequest.newBuilder(URI.create(mock.baseUrl() + "/embeddings"))
                .POST(HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(404, response.statusCode());
    }

    @Test
    void findsStreamFlagOnlyAsKeyWithTrueValue() {
        byte[] key = "\"stream\"".getBytes(StandardCharsets.US_ASCII);
        assertTrue(isTrue("{\"model\":\"m\",\"stream\" :\n true}", key));
        assertFalse(isTrue("{\"stream\":false}", key));
        assertFalse(isTrue("{\"messages\":[{\"content\":\"say \\\"stream\\\": true\"}]}", key));
        assertFalse(isTrue("{\"content\":\"stream\"}", key));
        assertTrue(isTrue("{\"content\":\"stream\",\"stream\":true}", key));
    }

    private static boolean isTrue(String json, byte[] key) {
        ByteBuf buf = Unpooled.copiedBuffer(json, StandardCharsets.UTF_8);
        try {
            return MockUpstreamHandler.isTrue(buf, key);
        } finally {
            buf.release();
        }
    }

    private static HttpResponse<String> post(String body) throws Exception {
        return CLIENT.send(HttpRequest.newBuilder(URI.create(mock.baseUrl() + "/chat/completions"))
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static List<String> events(String sse) {
        return Arrays.stream(sse.split("\n\n")).filter(e -> e.startsWith("data: ")).map(e -> e.substring(6)).toList();
    }
}
