package dev.tokenwise.providers.simulator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.TokenCount;
import dev.tokenwise.core.spi.TokenCounter;
import io.netty.buffer.ByteBuf;
import java.io.BufferedInputStream;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.lang.reflect.Field;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import dev.tokenwise.core.testing.LeakDetectingExtension;

@ExtendWith(LeakDetectingExtension.class)
class SimulatorServerTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient CLIENT = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
    private static final int MAX_WORDS = 60;
    private static final int DIMENSIONS = 64;

    private static SimulatorServer server;

    @BeforeAll
    static void startServer() throws Exception {
        server = SimulatorServer.start(SimulatorSettings.fromOptions("sim", Map.of(
                "first_token_delay_ms", "5", "chunk_delay_ms", "1", "max_output_words", String.valueOf(MAX_WORDS),
                "embedding_dimensions", String.valueOf(DIMENSIONS))), new WordCountingTokenCounter());
    }

    @AfterAll
    static void stopServerAndCheckForLeaks() throws Exception {
        server.close();
    }

    @Test
    void listensOnLoopbackAndReportsItsBaseUrl() {
        assertTrue(server.port() > 0);
        assertEquals(URI.create("http://127.0.0.1:" + server.port() + "/v1"), server.baseUrl());
    }

    @Test
    void answersTheSameRequestWithTheSameText() throws Exception {
        String request = chat("sim-small", "What does a gateway do?");

        String first = content(postJson(server, "/chat/completions", request));
        String second = content(postJson(server, "/chat/completions", request));

        assertEquals(first, second);
    }

    @Test
    void answersDifferentMessagesWithDifferentText() throws Exception {
        String first = content(postJson(server, "/chat/completions", chat("sim-small", "Tell me about tokens.")));
        String second = content(postJson(server, "/chat/completions", chat("sim-small", "Tell me about budgets.")));

        assertNotEquals(first, second);
    }

    @Test
    void returnsChatCompletionInOpenAiShape() throws Exception {
        String question = "How much does this call cost?";
        HttpResponse<String> response = post(server, "/chat/completions", chat("sim-large", question));

        assertEquals(200, response.statusCode());
        assertEquals("true", response.headers().firstValue("X-Tokenwise-Simulated").orElse(null));
        assertEquals("application/json", response.headers().firstValue("Content-Type").orElse(null));
        JsonNode body = JSON.readTree(response.body());
        assertTrue(body.get("id").asText().startsWith("chatcmpl-sim-"), body.toString());
        assertEquals("chat.completion", body.get("object").asText());
        assertTrue(Math.abs(body.get("created").asLong() - System.currentTimeMillis() / 1000) < 60);
        assertEquals("sim-large", body.get("model").asText());
        assertEquals("tokenwise-simulator", body.get("system_fingerprint").asText());
        assertEquals(1, body.get("choices").size());
        JsonNode choice = body.get("choices").get(0);
        assertEquals(0, choice.get("index").asInt());
        assertTrue(choice.get("logprobs").isNull());
        assertEquals("stop", choice.get("finish_reason").asText());
        JsonNode message = choice.get("message");
        assertEquals("assistant", message.get("role").asText());
        assertTrue(message.get("refusal").isNull());
        String content = message.get("content").asText();
        int words = words(content);
        assertTrue(words >= AnswerGenerator.MIN_WORDS && words <= MAX_WORDS, content);
        assertTrue(Character.isUpperCase(content.charAt(0)), content);
        assertTrue(content.matches("[A-Za-z ,.?!]+[.?!]"), content);

        JsonNode usage = body.get("usage");
        // The fake counter: 3 per message plus its words, plus 3 priming the reply.
        long promptTokens = 3 + words("You are terse.") + 3 + words(question) + 3;
        assertEquals(promptTokens, usage.get("prompt_tokens").asLong());
        // The text's words plus the token that ends an answer that stops by itself, as OpenAI bills it.
        assertEquals(words + 1, usage.get("completion_tokens").asLong());
        assertEquals(promptTokens + words + 1, usage.get("total_tokens").asLong());
        assertEquals(0, usage.get("prompt_tokens_details").get("cached_tokens").asLong());
        assertEquals(0, usage.get("completion_tokens_details").get("reasoning_tokens").asLong());
    }

    @Test
    void streamsDeterministicChunksEndingWithDone() throws Exception {
        String question = "Stream me something.";
        String expected = content(postJson(server, "/chat/completions", chat("sim-small", question)));

        HttpResponse<String> response = postStream(server, streamingChat("sim-small", question, null));

        assertEquals(200, response.statusCode());
        assertTrue(response.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
        assertEquals("chunked", response.headers().firstValue("Transfer-Encoding").orElse(null));
        assertEquals("true", response.headers().firstValue("X-Tokenwise-Simulated").orElse(null));
        List<String> events = events(response);
        assertEquals("[DONE]", events.get(events.size() - 1));
        List<JsonNode> chunks = chunks(events);
        String id = chunks.get(0).get("id").asText();
        for (JsonNode chunk : chunks) {
            assertEquals("chat.completion.chunk", chunk.get("object").asText());
            assertEquals(id, chunk.get("id").asText());
            assertEquals("sim-small", chunk.get("model").asText());
            assertEquals("tokenwise-simulator", chunk.get("system_fingerprint").asText());
            assertFalse(chunk.has("usage"), "usage only appears when include_usage is set: " + chunk);
            assertEquals(1, chunk.get("choices").size());
        }
        JsonNode first = chunks.get(0).get("choices").get(0);
        assertEquals("assistant", first.get("delta").get("role").asText());
        assertEquals("", first.get("delta").get("content").asText());
        assertTrue(first.get("finish_reason").isNull());

        JsonNode last = chunks.get(chunks.size() - 1).get("choices").get(0);
        assertEquals(0, last.get("delta").size());
        assertEquals("stop", last.get("finish_reason").asText());

        List<JsonNode> contentChunks = chunks.subList(1, chunks.size() - 1);
        StringBuilder streamed = new StringBuilder();
        for (int i = 0; i < contentChunks.size(); i++) {
            JsonNode choice = contentChunks.get(i).get("choices").get(0);
            assertTrue(choice.get("finish_reason").isNull());
            String delta = choice.get("delta").get("content").asText();
            assertTrue(delta.matches(i == 0 ? "[A-Za-z]+[,.?!]?" : " [a-zA-Z]+[,.?!]?"),
                    "one word with its leading space per chunk: '" + delta + "'");
            streamed.append(delta);
        }
        assertEquals(expected, streamed.toString());
        assertEquals(expected, streamedText(chunks(events(postStream(server,
                streamingChat("sim-small", question, null))))));
    }

    @Test
    void streamsUsageChunkOnlyWhenAskedWithTheNonStreamTotals() throws Exception {
        String question = "Count my tokens, please.";
        JsonNode plainUsage = postJson(server, "/chat/completions", chat("sim-small", question)).get("usage");

        List<String> events = events(postStream(server, streamingChat("sim-small", question, true)));

        assertEquals("[DONE]", events.get(events.size() - 1));
        List<JsonNode> chunks = chunks(events);
        JsonNode usageChunk = chunks.get(chunks.size() - 1);
        assertEquals(0, usageChunk.get("choices").size());
        assertEquals(plainUsage, usageChunk.get("usage"));
        for (JsonNode chunk : chunks.subList(0, chunks.size() - 1)) {
            assertTrue(chunk.has("usage") && chunk.get("usage").isNull(), chunk.toString());
            assertEquals(1, chunk.get("choices").size());
        }
        assertEquals("stop", chunks.get(chunks.size() - 2).get("choices").get(0).get("finish_reason").asText());

        List<JsonNode> withoutUsage = chunks(events(postStream(server, streamingChat("sim-small", question, false))));
        assertEquals(chunks.size() - 1, withoutUsage.size());
        assertTrue(withoutUsage.stream().noneMatch(c -> c.has("usage")));
    }

    @Test
    void cutsTheAnswerAtMaxTokensWithFinishReasonLength() throws Exception {
        String question = "Please be brief.";
        String full = content(postJson(server, "/chat/completions", chat("sim-small", question)));

        JsonNode cut = postJson(server, "/chat/completions",
                "{\"model\":\"sim-small\",\"max_tokens\":7,\"messages\":" + messages(question) + "}");
        JsonNode choice = cut.get("choices").get(0);
        assertEquals("length", choice.get("finish_reason").asText());
        assertEquals(7, cut.get("usage").get("completion_tokens").asLong());
        assertEquals(7, words(choice.get("message").get("content").asText()));
        assertTrue(full.startsWith(choice.get("message").get("content").asText()));

        JsonNode newer = postJson(server, "/chat/completions",
                "{\"model\":\"sim-small\",\"max_completion_tokens\":3,\"max_tokens\":9,\"messages\":"
                        + messages(question) + "}");
        assertEquals(3, newer.get("usage").get("completion_tokens").asLong());

        JsonNode roomy = postJson(server, "/chat/completions",
                "{\"model\":\"sim-small\",\"max_tokens\":1000,\"messages\":" + messages(question) + "}");
        assertEquals("stop", roomy.get("choices").get(0).get("finish_reason").asText());
        assertEquals(full, content(roomy));

        List<JsonNode> chunks = chunks(events(postStream(server, "{\"model\":\"sim-small\",\"stream\":true,"
                + "\"max_tokens\":7,\"stream_options\":{\"include_usage\":true},\"messages\":" + messages(question)
                + "}")));
        assertEquals("length", chunks.get(chunks.size() - 2).get("choices").get(0).get("finish_reason").asText());
        assertEquals(cut.get("usage"), chunks.get(chunks.size() - 1).get("usage"));
    }

    @Test
    void returnsDeterministicUnitLengthEmbeddings() throws Exception {
        String request = "{\"model\":\"sim-embed\",\"input\":[\"red apples\",\"green pears and plums\"]}";
        HttpResponse<String> response = post(server, "/embeddings", request);

        assertEquals(200, response.statusCode());
        assertEquals("true", response.headers().firstValue("X-Tokenwise-Simulated").orElse(null));
        JsonNode body = JSON.readTree(response.body());
        assertEquals("list", body.get("object").asText());
        assertEquals("sim-embed", body.get("model").asText());
        assertEquals(6, body.get("usage").get("prompt_tokens").asLong());
        assertEquals(6, body.get("usage").get("total_tokens").asLong());
        assertEquals(2, body.get("data").size());
        for (int i = 0; i < 2; i++) {
            JsonNode item = body.get("data").get(i);
            assertEquals("embedding", item.get("object").asText());
            assertEquals(i, item.get("index").asInt());
            assertEquals(DIMENSIONS, item.get("embedding").size());
            assertEquals(1.0, norm(vector(item.get("embedding"))), 1e-5);
        }
        assertNotEquals(body.get("data").get(0).get("embedding"), body.get("data").get(1).get("embedding"));

        assertEquals(body, postJson(server, "/embeddings", request));
        JsonNode single = postJson(server, "/embeddings", "{\"model\":\"sim-embed\",\"input\":\"red apples\"}");
        assertEquals(body.get("data").get(0).get("embedding"), single.get("data").get(0).get("embedding"));

        JsonNode shortened = postJson(server, "/embeddings",
                "{\"model\":\"sim-embed\",\"input\":\"red apples\",\"dimensions\":16}");
        float[] shortVector = vector(shortened.get("data").get(0).get("embedding"));
        assertEquals(16, shortVector.length);
        assertEquals(1.0, norm(shortVector), 1e-5);
    }

    @Test
    void encodesEmbeddingsAsLittleEndianBase64WhenAsked() throws Exception {
        JsonNode floats = postJson(server, "/embeddings", "{\"model\":\"sim-embed\",\"input\":\"blue\"}");
        JsonNode base64 = postJson(server, "/embeddings",
                "{\"model\":\"sim-embed\",\"input\":\"blue\",\"encoding_format\":\"base64\"}");

        ByteBuffer bytes = ByteBuffer.wrap(Base64.getDecoder().decode(
                base64.get("data").get(0).get("embedding").asText())).order(ByteOrder.LITTLE_ENDIAN);
        float[] expected = vector(floats.get("data").get(0).get("embedding"));
        assertEquals(expected.length * Float.BYTES, bytes.remaining());
        for (float value : expected) {
            assertEquals(value, bytes.getFloat());
        }
    }

    @Test
    void listsTheConfiguredModels() throws Exception {
        HttpResponse<String> response = get(server, "/models");

        assertEquals(200, response.statusCode());
        JsonNode body = JSON.readTree(response.body());
        assertEquals("list", body.get("object").asText());
        List<String> ids = new ArrayList<>();
        for (JsonNode model : body.get("data")) {
            ids.add(model.get("id").asText());
            assertEquals("model", model.get("object").asText());
            assertEquals("tokenwise-simulator", model.get("owned_by").asText());
            assertTrue(model.get("created").isIntegralNumber());
        }
        assertEquals(List.of("sim-small", "sim-large", "sim-embed"), ids);

        assertEquals("sim-large", JSON.readTree(get(server, "/models/sim-large").body()).get("id").asText());
        HttpResponse<String> missing = get(server, "/models/gpt-9");
        assertEquals(404, missing.statusCode());
        assertEquals("model_not_found", JSON.readTree(missing.body()).get("error").get("code").asText());
    }

    @Test
    void rejectsMalformedJsonWithAnOpenAiError() throws Exception {
        HttpResponse<String> response = post(server, "/chat/completions", "{\"model\": \"sim-small\", ");

        assertEquals(400, response.statusCode());
        assertEquals("true", response.headers().firstValue("X-Tokenwise-Simulated").orElse(null));
        JsonNode error = JSON.readTree(response.body()).get("error");
        assertTrue(error.get("message").asText().contains("could not parse the JSON body"), error.toString());
        assertEquals("invalid_request_error", error.get("type").asText());
        assertTrue(error.has("param") && error.get("param").isNull());
        assertTrue(error.has("code") && error.get("code").isNull());

        assertEquals(400, post(server, "/chat/completions", "{} {}").statusCode());
        assertEquals(400, post(server, "/chat/completions", "[1, 2]").statusCode());
        assertEquals(400, post(server, "/chat/completions", "").statusCode());
    }

    @Test
    void rejectsRequestsMissingRequiredFields() throws Exception {
        JsonNode noModel = errorOf(post(server, "/chat/completions", "{\"messages\":" + messages("hi") + "}"));
        assertEquals("you must provide a model parameter", noModel.get("message").asText());

        JsonNode noMessages = errorOf(post(server, "/chat/completions", "{\"model\":\"sim-small\"}"));
        assertEquals("messages", noMessages.get("param").asText());
        assertEquals("missing_required_parameter", noMessages.get("code").asText());

        JsonNode emptyMessages = errorOf(post(server, "/chat/completions", "{\"model\":\"sim-small\",\"messages\":[]}"));
        assertEquals("messages", emptyMessages.get("param").asText());

        JsonNode zeroMax = errorOf(post(server, "/chat/completions",
                "{\"model\":\"sim-small\",\"max_tokens\":0,\"messages\":" + messages("hi") + "}"));
        assertEquals("max_tokens", zeroMax.get("param").asText());

        JsonNode noInput = errorOf(post(server, "/embeddings", "{\"model\":\"sim-embed\"}"));
        assertEquals("input", noInput.get("param").asText());

        JsonNode tooWide = errorOf(post(server, "/embeddings",
                "{\"model\":\"sim-embed\",\"input\":\"x\",\"dimensions\":" + (DIMENSIONS + 1) + "}"));
        assertEquals("dimensions", tooWide.get("param").asText());
    }

    @Test
    void answersUnknownPathsWith404AndWrongMethodsWith405() throws Exception {
        HttpResponse<String> unknown = post(server, "/completions/legacy", "{}");
        assertEquals(404, unknown.statusCode());
        assertEquals("Invalid URL (POST /v1/completions/legacy)",
                JSON.readTree(unknown.body()).get("error").get("message").asText());
        assertEquals("true", unknown.headers().firstValue("X-Tokenwise-Simulated").orElse(null));

        HttpResponse<String> wrongMethod = get(server, "/chat/completions");
        assertEquals(405, wrongMethod.statusCode());
        assertEquals("POST", wrongMethod.headers().firstValue("Allow").orElse(null));
        assertEquals("invalid_request_error", JSON.readTree(wrongMethod.body()).get("error").get("type").asText());

        assertEquals(405, post(server, "/models", "{}").statusCode());
    }

    @Test
    void servesPipelinedRequestsOnOneKeepAliveConnectionInOrder() throws Exception {
        String chat = chat("sim-small", "pipelined");
        String requests = "GET /v1/models HTTP/1.1\r\nHost: sim\r\n\r\n"
                + "POST /v1/chat/completions HTTP/1.1\r\nHost: sim\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + chat.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + chat
                + "GET /v1/nowhere HTTP/1.1\r\nHost: sim\r\n\r\n";
        try (Socket socket = new Socket("127.0.0.1", server.port())) {
            socket.setSoTimeout(5000);
            OutputStream out = socket.getOutputStream();
            out.write(requests.getBytes(StandardCharsets.UTF_8));
            out.flush();
            InputStream in = new BufferedInputStream(socket.getInputStream());

            RawResponse models = RawResponse.read(in);
            RawResponse completion = RawResponse.read(in);
            RawResponse notFound = RawResponse.read(in);

            assertEquals(200, models.status);
            assertEquals("list", JSON.readTree(models.body).get("object").asText());
            assertEquals(200, completion.status);
            assertEquals(content(postJson(server, "/chat/completions", chat)), content(JSON.readTree(completion.body)));
            assertEquals(404, notFound.status);
        }
    }

    @Test
    void keepsServingAfterAClientDisconnectsMidStream() throws Exception {
        try (SimulatorServer slow = SimulatorServer.start(SimulatorSettings.fromOptions("sim", Map.of(
                "first_token_delay_ms", "0", "chunk_delay_ms", "10", "max_output_words", "2000")),
                new WordCountingTokenCounter())) {
            String question = null;
            for (int i = 0; question == null; i++) {
                String candidate = "long answer " + i;
                if (words(content(postJson(slow, "/chat/completions", chat("sim-small", candidate)))) >= 1000) {
                    question = candidate;
                }
            }
            String body = streamingChat("sim-small", question, null);
            // A long stream (>= 10 s at this pace), so only the disconnect can end it within the wait below.
            try (Socket socket = new Socket("127.0.0.1", slow.port())) {
                socket.setSoTimeout(5000);
                byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
                socket.getOutputStream().write(("POST /v1/chat/completions HTTP/1.1\r\nHost: sim\r\n"
                        + "Content-Type: application/json\r\nContent-Length: " + bytes.length + "\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                socket.getOutputStream().write(bytes);
                BufferedReader reader = new BufferedReader(new InputStreamReader(socket.getInputStream(),
                        StandardCharsets.UTF_8));
                int events = 0;
                while (events < 5) {
                    String line = reader.readLine();
                    assertNotNull(line);
                    if (line.startsWith("data: ")) {
                        events++;
                    }
                }
                assertEquals(1, slow.activeStreams());
            }

            long deadline = System.nanoTime() + Duration.ofSeconds(3).toNanos();
            while (slow.activeStreams() > 0 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertEquals(0, slow.activeStreams(), "the stream stops once the client is gone");
            assertEquals(200, get(slow, "/models").statusCode());
            assertEquals(200, post(slow, "/chat/completions", chat("sim-small", "still there?")).statusCode());
        }
    }

    @Test
    void pacesTheStreamWithFirstTokenAndChunkDelays() throws Exception {
        try (SimulatorServer paced = SimulatorServer.start(SimulatorSettings.fromOptions("sim", Map.of(
                "first_token_delay_ms", "100", "chunk_delay_ms", "10", "max_output_words", "20")),
                new WordCountingTokenCounter())) {
            HttpRequest request = HttpRequest.newBuilder(URI.create(paced.baseUrl() + "/chat/completions"))
                    .timeout(Duration.ofSeconds(10))
                    .POST(HttpRequest.BodyPublishers.ofString(streamingChat("sim-small", "pace me", null)))
                    .build();
            // Measured from before the request is sent: a client thread that reads late (a loaded machine) can only
            // make the times longer, never shorter, so these lower bounds hold however busy the machine is.
            long sentNanos = System.nanoTime();
            HttpResponse<Stream<String>> response = CLIENT.send(request, HttpResponse.BodyHandlers.ofLines());
            List<Long> arrivalNanos = new ArrayList<>();
            try (Stream<String> lines = response.body()) {
                lines.filter(line -> line.startsWith("data: ")).forEach(line -> arrivalNanos.add(System.nanoTime()));
            }

            // Role delta, 20 one-word deltas (max_output_words 20 gives exactly 20 words), finish, [DONE].
            assertEquals(1 + 20 + 1 + 1, arrivalNanos.size());
            long firstTokenMillis = (arrivalNanos.get(1) - sentNanos) / 1_000_000;
            long lastMillis = (arrivalNanos.get(arrivalNanos.size() - 1) - sentNanos) / 1_000_000;
            assertTrue(firstTokenMillis >= 100, "first content after first_token_delay: " + firstTokenMillis + " ms");
            // Then 19 gaps between content deltas and one before the finish chunk, 10 ms each.
            assertTrue(lastMillis >= 100 + 200, "chunks spaced by chunk_delay: the last after " + lastMillis + " ms");
        }
    }

    @Test
    void resumesWithoutLosingChunksWhenASlowClientCatchesUp() throws Exception {
        // Enough output (about 270 bytes per one-word chunk, no delay) to fill the kernel's socket buffers
        // (up to 4 MB on Linux) and then Netty's 64 KB high-water mark.
        try (SimulatorServer fast = SimulatorServer.start(SimulatorSettings.fromOptions("sim", Map.of(
                "first_token_delay_ms", "0", "chunk_delay_ms", "0", "max_output_words", "60000")),
                new WordCountingTokenCounter())) {
            String question = null;
            String expected = null;
            for (int i = 0; question == null; i++) {
                String candidate = "a big answer " + i;
                String answer = content(postJson(fast, "/chat/completions", chat("sim-small", candidate)));
                if (words(answer) >= 30_000) {
                    question = candidate;
                    expected = answer;
                }
            }
            byte[] body = streamingChat("sim-small", question, null).getBytes(StandardCharsets.UTF_8);
            try (Socket socket = new Socket()) {
                socket.setReceiveBufferSize(4096);
                socket.connect(new InetSocketAddress("127.0.0.1", fast.port()));
                socket.setSoTimeout(10_000);
                socket.getOutputStream().write(("POST /v1/chat/completions HTTP/1.1\r\nHost: sim\r\n"
                        + "Content-Type: application/json\r\nContent-Length: " + body.length + "\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                socket.getOutputStream().write(body);
                // Not reading: the socket buffers fill up and the stream must pause rather than queue.
                long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
                while (fast.backpressurePauses() == 0 && System.nanoTime() < deadline) {
                    Thread.sleep(10);
                }
                assertTrue(fast.backpressurePauses() > 0, "the stream paused for the slow client");
                assertEquals(1, fast.activeStreams());

                BufferedReader reader = new BufferedReader(new InputStreamReader(socket.getInputStream(),
                        StandardCharsets.UTF_8));
                StringBuilder streamed = new StringBuilder();
                for (String line = reader.readLine(); !line.equals("data: [DONE]"); line = reader.readLine()) {
                    if (line.startsWith("data: ")) {
                        JsonNode choices = JSON.readTree(line.substring("data: ".length())).get("choices");
                        streamed.append(choices.get(0).get("delta").path("content").asText(""));
                    }
                }
                assertEquals(expected, streamed.toString());
            }
        }
    }

    @Test
    void failsToStartWhenThePortIsTaken() {
        SimulatorSettings samePort = SimulatorSettings.fromOptions("sim", Map.of("port", String.valueOf(server.port())));

        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> SimulatorServer.start(samePort, new WordCountingTokenCounter()));

        assertTrue(e.getMessage().contains("127.0.0.1:" + server.port()), e.getMessage());
    }

    // ---- helpers

    private static String messages(String question) {
        return "[{\"role\":\"system\",\"content\":\"You are terse.\"},{\"role\":\"user\",\"content\":"
                + JSON.valueToTree(question) + "}]";
    }

    private static String chat(String model, String question) {
        return "{\"model\":\"" + model + "\",\"messages\":" + messages(question) + "}";
    }

    private static String streamingChat(String model, String question, Boolean includeUsage) {
        return "{\"model\":\"" + model + "\",\"stream\":true,"
                + (includeUsage == null ? "" : "\"stream_options\":{\"include_usage\":" + includeUsage + "},")
                + "\"messages\":" + messages(question) + "}";
    }

    private static HttpResponse<String> post(SimulatorServer target, String path, String body) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create(target.baseUrl() + path))
                .timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build();
        return CLIENT.send(request, HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode postJson(SimulatorServer target, String path, String body) throws Exception {
        HttpResponse<String> response = post(target, path, body);
        assertEquals(200, response.statusCode(), response.body());
        return JSON.readTree(response.body());
    }

    private static HttpResponse<String> postStream(SimulatorServer target, String body) throws Exception {
        HttpResponse<String> response = post(target, "/chat/completions", body);
        assertEquals(200, response.statusCode(), response.body());
        return response;
    }

    /** The {@code data:} payloads of a server-sent event stream, checking its framing. */
    private static List<String> events(HttpResponse<String> response) {
        String body = response.body();
        assertTrue(body.endsWith("\n\n"), body);
        List<String> events = new ArrayList<>();
        for (String event : body.split("\n\n")) {
            assertTrue(event.startsWith("data: "), event);
            events.add(event.substring("data: ".length()));
        }
        return events;
    }

    private static String streamedText(List<JsonNode> chunks) {
        StringBuilder text = new StringBuilder();
        for (JsonNode chunk : chunks) {
            for (JsonNode choice : chunk.get("choices")) {
                text.append(choice.get("delta").path("content").asText(""));
            }
        }
        return text.toString();
    }

    private static HttpResponse<String> get(SimulatorServer target, String path) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create(target.baseUrl() + path))
                .timeout(Duration.ofSeconds(10))
                .GET()
                .build();
        return CLIENT.send(request, HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode errorOf(HttpResponse<String> response) throws IOException {
        assertEquals(400, response.statusCode(), response.body());
        return JSON.readTree(response.body()).get("error");
    }

    private static String content(JsonNode completion) {
        return completion.get("choices").get(0).get("message").get("content").asText();
    }

    private static List<JsonNode> chunks(List<String> events) throws IOException {
        List<JsonNode> chunks = new ArrayList<>();
        for (String event : events) {
            if (!event.equals("[DONE]")) {
                chunks.add(JSON.readTree(event));
            }
        }
        return chunks;
    }

    private static int words(String text) {
        return text.isBlank() ? 0 : text.trim().split("\\s+").length;
    }

    private static float[] vector(JsonNode array) {
        float[] vector = new float[array.size()];
        for (int i = 0; i < vector.length; i++) {
            vector[i] = (float) array.get(i).asDouble();
        }
        return vector;
    }

    private static double norm(float[] vector) {
        double sum = 0;
        for (float v : vector) {
            sum += (double) v * v;
        }
        return Math.sqrt(sum);
    }

    /**
     * Counts whitespace-separated words, with OpenAI's chat framing of 3 tokens per message plus 3, and
     * counts output on another thread so the simulator's hop back to its event loop is exercised.
     */
    static final class WordCountingTokenCounter implements TokenCounter {

        @Override
        public CompletableFuture<TokenCount> countInput(String model, Endpoint endpoint, JsonNode body) {
            long tokens = 0;
            if (endpoint == Endpoint.CHAT_COMPLETIONS) {
                for (JsonNode message : body.get("messages")) {
                    tokens += 3 + words(message.path("content").asText(""));
                }
                tokens += 3;
            } else {
                JsonNode input = body.get("input");
                if (input.isTextual()) {
                    tokens = words(input.asText());
                } else {
                    for (JsonNode item : input) {
                        tokens += item.isTextual() ? words(item.asText()) : item.isArray() ? item.size() : 1;
                    }
                }
            }
            return CompletableFuture.completedFuture(new TokenCount(tokens, false));
        }

        @Override
        public CompletableFuture<TokenCount> countOutput(String model, String text) {
            return CompletableFuture.supplyAsync(() -> new TokenCount(words(text), false));
        }

        @Override
        public boolean isExact(String model) {
            return true;
        }
    }

    /** A response read off a raw socket: status line, headers, a {@code Content-Length} body. */
    private static final class RawResponse {
        final int status;
        final String body;

        private RawResponse(int status, String body) {
            this.status = status;
            this.body = body;
        }

        static RawResponse read(InputStream in) throws IOException {
            String statusLine = line(in);
            int status = Integer.parseInt(statusLine.split(" ")[1]);
            int length = -1;
            for (String header = line(in); !header.isEmpty(); header = line(in)) {
                if (header.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
                    length = Integer.parseInt(header.substring("content-length:".length()).trim());
                }
            }
            assertTrue(length >= 0, "responses to pipelined requests carry Content-Length");
            byte[] body = in.readNBytes(length);
            return new RawResponse(status, new String(body, StandardCharsets.UTF_8));
        }

        private static String line(InputStream in) throws IOException {
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            for (int b = in.read(); b != '\n'; b = in.read()) {
                assertTrue(b >= 0, "connection closed early");
                if (b != '\r') {
                    line.write(b);
                }
            }
            return line.toString(StandardCharsets.US_ASCII);
        }
    }
}
