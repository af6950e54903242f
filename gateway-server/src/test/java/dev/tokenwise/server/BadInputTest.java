package dev.tokenwise.server;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.testing.LeakDetectingExtension;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Requests the gateway must refuse, each with the precise OpenAI-style JSON error of the product
 * contract, and HTTP/1.1 edge cases at the socket level (413 decided from Content-Length, 431,
 * pipelining, {@code Expect: 100-continue}). The last test checks the gateway still serves normally
 * after the whole battery.
 */
@ExtendWith(LeakDetectingExtension.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class BadInputTest {
    static final String CHAT = "{\"model\":\"sim-small\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello there\"}]}";
    static final String PATH = "/v1/chat/completions";
    static final String KEY = "tw-test-key";

    static TestGateway gateway;

    @BeforeAll
    static void start() throws Exception {
        // TestGateway parses with an empty environment (Map.of()), so UNSET_VAR_FOR_TEST is unset and the
        // openai provider is disabled; its base_url is never dialled.
        gateway = TestGateway.start("""
                providers:
                  sim: {type: simulator, chunk_delay_ms: 1, first_token_delay_ms: 1}
                  openai: {type: openai, base_url: "http://127.0.0.1:9/v1", api_key: "${UNSET_VAR_FOR_TEST}"}
                models:
                  - {name: sim-small, provider: sim}
                  - {name: gpt-4o-mini, provider: openai}
                """);
    }

    @AfterAll
    static void stop() {
        gateway.close();
    }

    // ---------------------------------------------------------------- body and fields

    @Test
    void rejectsMalformedJsonWith400() throws Exception {
        HttpResponse<String> r = gateway.post(PATH, KEY, "{\"model\":\"sim-small\",\"messages\":[");

        JsonNode error = assertError(r, ErrorType.BAD_REQUEST);
        assertTrue(error.get("message").asText().contains("malformed JSON"), error.toString());
        assertRequestId(r);
    }

    @Test
    void rejectsJsonNestedBeyondTheParsersLimitWith400() throws Exception {
        String deep = "{\"model\":\"sim-small\",\"messages\":[],\"x\":" + "[".repeat(1200) + "]".repeat(1200) + "}";
        HttpResponse<String> r = gateway.post(PATH, KEY, deep);

        JsonNode error = assertError(r, ErrorType.BAD_REQUEST);
        assertTrue(error.get("message").asText().contains("malformed JSON"), error.toString());
    }

    @Test
    void rejectsABodyThatIsNotAJsonObjectWith400() throws Exception {
        for (String body : List.of("[1,2,3]", "\"sim-small\"", "42", "null")) {
            HttpResponse<String> r = gateway.post(PATH, KEY, body);

            JsonNode error = assertError(r, ErrorType.BAD_REQUEST);
            assertTrue(error.get("message").asText().contains("JSON object"), body + " -> " + error);
        }
    }

    @Test
    void rejectsAnEmptyBodyWith400() throws Exception {
        HttpResponse<String> r = gateway.post(PATH, KEY, "");

        JsonNode error = assertError(r, ErrorType.BAD_REQUEST);
        assertTrue(error.get("message").asText().contains("empty"), error.toString());
    }

    @Test
    void rejectsAMissingModelWith400NamingTheField() throws Exception {
        HttpResponse<String> r = gateway.post(PATH, KEY, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");

        JsonNode error = assertError(r, ErrorType.BAD_REQUEST);
        assertTrue(error.get("message").asText().contains("model"), error.toString());
        assertRequestId(r);
    }

    @Test
    void rejectsAModelThatIsNotAStringWith400() throws Exception {
        for (String model : List.of("42", "[\"sim-small\"]", "{\"name\":\"sim-small\"}", "true")) {
            HttpResponse<String> r = gateway.post(PATH, KEY, CHAT.replace("\"sim-small\"", model));

            JsonNode error = assertError(r, ErrorType.BAD_REQUEST);
            assertTrue(error.get("message").asText().contains("model"), model + " -> " + error);
        }
    }

    @Test
    void rejectsAStreamFlagThatIsNotABooleanWith400NamingTheField() throws Exception {
        for (String stream : List.of("\"yes\"", "1", "\"true\"")) {
            HttpResponse<String> r = gateway.post(PATH, KEY,
                    CHAT.replace("\"messages\"", "\"stream\":" + stream + ",\"messages\""));

            JsonNode error = assertError(r, ErrorType.BAD_REQUEST);
            assertTrue(error.get("message").asText().contains("stream"), stream + " -> " + error);
        }
    }

    // ---------------------------------------------------------------- models and keys

    @Test
    void answersAnUnknownModelWith404ModelNotFoundAndARequestId() throws Exception {
        HttpResponse<String> r = gateway.post(PATH, KEY, CHAT.replace("sim-small", "gpt-99-imaginary"));

        JsonNode error = assertError(r, ErrorType.MODEL_NOT_FOUND);
        assertEquals("model_not_found", error.get("code").asText());
        assertTrue(error.get("message").asText().contains("gpt-99-imaginary"), error.toString());
        assertRequestId(r);
    }

    @Test
    void answersAModelOfADisabledProviderWith404ExplainingWhy() throws Exception {
        HttpResponse<String> r = gateway.post(PATH, KEY, CHAT.replace("sim-small", "gpt-4o-mini"));

        JsonNode error = assertError(r, ErrorType.MODEL_NOT_FOUND);
        String message = error.get("message").asText();
        assertTrue(message.contains("disabled"), message);
        assertTrue(message.contains("UNSET_VAR_FOR_TEST"), message);
        assertRequestId(r);
    }

    @Test
    void rejectsAMissingKeyWith401() throws Exception {
        HttpResponse<String> r = gateway.post(PATH, null, CHAT);

        JsonNode error = assertError(r, ErrorType.INVALID_API_KEY);
        assertTrue(error.get("message").asText().contains("missing"), error.toString());
    }

    @Test
    void rejectsAWrongKeyWith401() throws Exception {
        HttpResponse<String> r = gateway.post(PATH, "tw-wrong-key", CHAT);
        assertError(r, ErrorType.INVALID_API_KEY);
        assertTrue(TestGateway.json(r.body()).at("/error/message").asText().contains("invalid"), r.body());
        HttpResponse<String> viaHeader = gateway.post(PATH, null, CHAT, "x-api-key", "tw-wrong-key");
        assertError(viaHeader, ErrorType.INVALID_API_KEY);
    }

    @Test
    void acceptsTheKeyInTheXApiKeyHeader() throws Exception {
        HttpResponse<String> r = gateway.post(PATH, null, CHAT, "x-api-key", KEY);

        assertEquals(200, r.statusCode(), r.body());
        assertEquals("chat.completion", TestGateway.json(r.body()).get("object").asText());
        assertEquals("demo-key", gateway.record(r).get("key_id").asText());
    }

    @Test
    void forbidsAKeyRestrictedToOtherModelsWith403ModelNotAllowed() throws Exception {
        try (TestGateway narrow = TestGateway.start("""
                providers:
                  sim: {type: simulator, chunk_delay_ms: 1, first_token_delay_ms: 1}
                models:
                  - {name: sim-small, provider: sim}
                  - {name: sim-large, provider: sim}
                """, """
                teams:
                  - name: narrow
                    keys: [{key: tw-narrow-key, name: narrow-key, models: [sim-small]}]
                """)) {
            assertEquals(200, narrow.get("/v1/models/sim-small", "tw-narrow-key").statusCode());
            assertError(narrow.get("/v1/models/sim-large", "tw-narrow-key"), ErrorType.MODEL_NOT_FOUND);
            assertEquals(200, narrow.get("/v1/models/sim-large", TestGateway.ADMIN_KEY).statusCode());
            HttpResponse<String> denied = narrow.post(PATH, "tw-narrow-key", CHAT.replace("sim-small", "sim-large"));
            HttpResponse<String> allowed = narrow.post(PATH, "tw-narrow-key", CHAT);

            JsonNode error = assertError(denied, ErrorType.MODEL_NOT_ALLOWED);
            assertEquals("model_not_allowed", error.get("code").asText());
            assertTrue(error.get("message").asText().contains("sim-large"), error.toString());
            assertRequestId(denied);
            assertEquals(200, allowed.statusCode(), allowed.body());
        }
    }

    // ---------------------------------------------------------------- methods and paths

    @Test
    void rejectsGetOnChatCompletionsWith405() throws Exception {
        HttpResponse<String> r = gateway.get(PATH, KEY);

        JsonNode error = assertError(r, ErrorType.METHOD_NOT_ALLOWED);
        assertTrue(error.get("message").asText().contains("POST"), error.toString());
        assertTrue(r.headers().firstValue("allow").orElse("").contains("POST"), r.headers().map().toString());
    }

    @Test
    void namesOnlyPostInTheAllowHeaderOfA405OnChatCompletions() throws Exception {
        // RFC 9110 section 15.5.6: a 405 MUST list the target resource's supported methods in Allow.
        HttpResponse<String> r = gateway.get(PATH, KEY);

        assertEquals(405, r.statusCode());
        assertEquals("POST", r.headers().firstValue("allow").orElse(null));
    }

    @Test
    void answersAnUnknownPathWith404() throws Exception {
        HttpResponse<String> get = gateway.get("/v1/no-such-endpoint", KEY);
        HttpResponse<String> post = gateway.post("/v2/chat/completions", KEY, CHAT);

        assertError(get, ErrorType.NOT_FOUND);
        assertError(post, ErrorType.NOT_FOUND);
    }

    // ---------------------------------------------------------------- task headers

    @Test
    void rejectsATaskIdLongerThan128CharactersWith400() throws Exception {
        HttpResponse<String> tooLong = gateway.post(PATH, KEY, CHAT, "X-Task-Id", "t".repeat(129));
        HttpResponse<String> longest = gateway.post(PATH, KEY, CHAT, "X-Task-Id", "t".repeat(128));

        JsonNode error = assertError(tooLong, ErrorType.BAD_REQUEST);
        assertTrue(error.get("message").asText().contains("X-Task-Id"), error.toString());
        assertEquals(200, longest.statusCode(), longest.body());
    }

    @Test
    void rejectsATaskIdWithAControlCharacterWith400() throws Exception {
        // The JDK client only lets a tab through; other control characters go over a raw socket.
        HttpResponse<String> tab = gateway.post(PATH, KEY, CHAT, "X-Task-Id", "task\tone");
        JsonNode error = assertError(tab, ErrorType.BAD_REQUEST);
        assertTrue(error.get("message").asText().contains("X-Task-Id"), error.toString());

        try (RawHttp raw = new RawHttp(gateway.app.port())) {
            raw.send(post(PATH, CHAT, "X-Task-Id: task\u0001one\r\n"));
            RawHttp.Response r = raw.readResponse();
            assertEquals(400, r.status(), r.toString());
            assertEquals("invalid_request", TestGateway.json(r.body()).at("/error/code").asText(), r.body());
        }
    }

    @Test
    void rejectsATaskAttemptThatIsNotAPositiveIntegerWith400() throws Exception {
        for (String attempt : List.of("0", "abc", "-1", "1.5")) {
            HttpResponse<String> r = gateway.post(PATH, KEY, CHAT, "X-Task-Id", "task-1", "X-Task-Attempt", attempt);

            JsonNode error = assertError(r, ErrorType.BAD_REQUEST);
            assertTrue(error.get("message").asText().contains("X-Task-Attempt"), attempt + " -> " + error);
        }
    }

    // ---------------------------------------------------------------- HTTP/1.1 at the socket level

    @Test
    void rejectsAnOversizedBodyWith413FromContentLengthBeforeTheBodyIsSent() throws Exception {
        try (RawHttp raw = new RawHttp(gateway.app.port())) {
            // Only the head goes out: the gateway must answer without waiting for the 10 MB it announces.
            raw.send("POST " + PATH + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + KEY + "\r\n"
                    + "Content-Type: application/json\r\nContent-Length: 10000000\r\n\r\n");
            RawHttp.Response r = raw.readResponse();

            assertEquals(413, r.status(), r.toString());
            assertJsonError(r, ErrorType.REQUEST_TOO_LARGE);
            assertTrue(TestGateway.json(r.body()).at("/error/message").asText().contains("65536"), r.body());
            assertEquals("close", r.header("connection"));
            assertTrue(raw.atEof(), "the connection is closed after the 413");
        }
    }

    @Test
    void rejectsABodyJustOverTheLimitWith413AndAcceptsOneAtTheLimit() throws Exception {
        String padded = paddedChat(65536);
        assertEquals(65536, padded.getBytes(UTF_8).length);
        try (RawHttp raw = new RawHttp(gateway.app.port())) {
            raw.send("POST " + PATH + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + KEY + "\r\n"
                    + "Content-Type: application/json\r\nContent-Length: 65537\r\n\r\n");
            RawHttp.Response r = raw.readResponse();
            assertEquals(413, r.status(), r.toString());
            assertJsonError(r, ErrorType.REQUEST_TOO_LARGE);
        }
        HttpResponse<String> atLimit = gateway.post(PATH, KEY, padded);
        assertEquals(200, atLimit.statusCode(), atLimit.body());
    }

    @Test
    void rejectsAnOversizedBodyAnnouncedWithExpectContinueWithJson413() throws Exception {
        try (RawHttp raw = new RawHttp(gateway.app.port())) {
            raw.send("POST " + PATH + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + KEY + "\r\n"
                    + "Content-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: 10000000\r\n\r\n");
            RawHttp.Response r = raw.readResponse();

            assertEquals(413, r.status(), r.toString());
            assertJsonError(r, ErrorType.REQUEST_TOO_LARGE);
        }
    }

    @Test
    void rejectsOversizedHeadersWith431() throws Exception {
        try (RawHttp raw = new RawHttp(gateway.app.port())) {
            raw.send(post(PATH, CHAT, "X-Padding: " + "a".repeat(9000) + "\r\n"));
            RawHttp.Response r = raw.readResponse();

            assertEquals(431, r.status(), r.toString());
            assertJsonError(r, ErrorType.HEADERS_TOO_LARGE);
            assertTrue(raw.atEof(), "the connection is closed after the 431");
        }
    }

    @Test
    void answersPipelinedRequestsInOrder() throws Exception {
        try (RawHttp raw = new RawHttp(gateway.app.port())) {
            // A proxied call (slower) then a local one (instant), written back to back in one packet.
            raw.send(post(PATH, CHAT, "") + "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
            RawHttp.Response first = raw.readResponse();
            RawHttp.Response second = raw.readResponse();

            assertEquals(200, first.status(), first.toString());
            assertEquals("chat.completion", TestGateway.json(first.body()).get("object").asText(), first.body());
            assertNotNull(first.header("x-request-id"));
            assertEquals(200, second.status(), second.toString());
            assertEquals("ok", TestGateway.json(second.body()).get("status").asText(), second.body());
        }
    }

    @Test
    void answersPipelinedErrorsAndCallsInOrder() throws Exception {
        try (RawHttp raw = new RawHttp(gateway.app.port())) {
            String stream = CHAT.replace("\"messages\"", "\"stream\":true,\"messages\"");
            raw.send(post(PATH, stream, "") + post(PATH, "{", "") + post(PATH, CHAT.replace("sim-small", "nope"), "")
                    + post(PATH, CHAT, ""));

            RawHttp.Response streamed = raw.readResponse();
            assertEquals(200, streamed.status(), streamed.toString());
            assertTrue(streamed.body().endsWith("data: [DONE]\n\n"), streamed.body());
            assertEquals(400, raw.readResponse().status());
            assertEquals(404, raw.readResponse().status());
            RawHttp.Response last = raw.readResponse();
            assertEquals(200, last.status(), last.toString());
            assertEquals("chat.completion", TestGateway.json(last.body()).get("object").asText());
        }
    }

    @Test
    void answersAPipelinedOversizedRequestOnlyAfterTheResponseBeforeIt() throws Exception {
        try (RawHttp raw = new RawHttp(gateway.app.port())) {
            // A streamed call, then (in the same packet) the head of a request whose body is too large.
            String stream = CHAT.replace("\"messages\"", "\"stream\":true,\"messages\"");
            raw.send(post(PATH, stream, "") + "POST " + PATH + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    + "Authorization: Bearer " + KEY + "\r\nContent-Type: application/json\r\n"
                    + "Content-Length: 10000000\r\n\r\n");

            RawHttp.Response first = raw.readResponse();
            assertEquals(200, first.status(), first.toString());
            assertTrue(first.body().endsWith("data: [DONE]\n\n"), first.body());
            RawHttp.Response second = raw.readResponse();
            assertEquals(413, second.status(), second.toString());
            assertJsonError(second, ErrorType.REQUEST_TOO_LARGE);
        }
    }

    @Test
    void sends100ContinueBeforeReadingABodyThatExpectsIt() throws Exception {
        try (RawHttp raw = new RawHttp(gateway.app.port())) {
            byte[] body = CHAT.getBytes(UTF_8);
            raw.send("POST " + PATH + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + KEY + "\r\n"
                    + "Content-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: " + body.length
                    + "\r\n\r\n");
            RawHttp.Response interim = raw.readResponse();
            assertEquals(100, interim.status(), interim.toString());

            raw.send(CHAT);
            RawHttp.Response r = raw.readResponse();
            assertEquals(200, r.status(), r.toString());
            assertEquals("chat.completion", TestGateway.json(r.body()).get("object").asText(), r.body());
        }
    }

    // ---------------------------------------------------------------- afterwards

    @Test
    @Order(Integer.MAX_VALUE)
    void stillServesNormalCallsAfterTheBattery() throws Exception {
        HttpResponse<String> plain = gateway.post(PATH, KEY, CHAT);
        HttpResponse<String> stream = gateway.post(PATH, KEY, CHAT.replace("\"messages\"", "\"stream\":true,\"messages\""));

        assertEquals(200, plain.statusCode(), plain.body());
        assertEquals("ok", gateway.record(plain).get("status").asText());
        assertEquals(200, stream.statusCode(), stream.body());
        assertTrue(stream.body().endsWith("data: [DONE]\n\n"), stream.body());
        assertEquals(200, gateway.get("/healthz", null).statusCode());
        // No refused request was left registered as a call in flight (settlement may trail the last byte).
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (gateway.app.accounting().inFlightCount() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(0, gateway.app.accounting().inFlightCount());
    }

    // ---------------------------------------------------------------- helpers

    /** Asserts status, JSON content type and the exact {@code {"error":{"message","type","code"}}} shape. */
    static JsonNode assertError(HttpResponse<String> r, ErrorType type) throws IOException {
        assertEquals(type.status(), r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("application/json"),
                r.headers().map().toString());
        return errorOf(r.body(), type);
    }

    static JsonNode assertJsonError(RawHttp.Response r, ErrorType type) throws IOException {
        assertTrue(r.header("content-type") != null && r.header("content-type").startsWith("application/json"),
                r.toString());
        return errorOf(r.body(), type);
    }

    private static JsonNode errorOf(String body, ErrorType type) throws IOException {
        JsonNode root = TestGateway.json(body);
        assertEquals(List.of("error"), fieldNames(root), body);
        JsonNode error = root.get("error");
        assertEquals(List.of("message", "type", "code"), fieldNames(error), body);
        assertTrue(error.get("message").isTextual() && !error.get("message").asText().isBlank(), body);
        assertEquals(type.type(), error.get("type").asText(), body);
        assertEquals(type.code(), error.get("code").asText(), body);
        return error;
    }

    private static List<String> fieldNames(JsonNode node) {
        List<String> names = new java.util.ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }

    private static void assertRequestId(HttpResponse<String> r) {
        String id = r.headers().firstValue("x-request-id").orElse(null);
        assertNotNull(id, "a proxied error carries X-Request-Id: " + r.headers().map());
        assertTrue(id.startsWith("req_"), id);
    }

    /** A chat body of exactly {@code bytes} bytes. */
    private static String paddedChat(int bytes) {
        String prefix = "{\"model\":\"sim-small\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"user\":\"";
        String suffix = "\"}";
        return prefix + "x".repeat(bytes - prefix.length() - suffix.length()) + suffix;
    }

    private static String post(String path, String body, String extraHeaders) {
        return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + KEY + "\r\n"
                + "Content-Type: application/json\r\n" + extraHeaders
                + "Content-Length: " + body.getBytes(UTF_8).length + "\r\n\r\n" + body;
    }

    /** A plain socket speaking just enough HTTP/1.1 to send raw bytes and read responses one by one. */
    static final class RawHttp implements AutoCloseable {
        private final Socket socket;
        private final InputStream in;
        private final OutputStream out;

        RawHttp(int port) throws IOException {
            socket = new Socket("127.0.0.1", port);
            socket.setSoTimeout(10_000);
            in = new BufferedInputStream(socket.getInputStream());
            out = socket.getOutputStream();
        }

        void send(String text) throws IOException {
            // Header text is ASCII plus the odd control character; the JSON bodies here are ASCII too.
            out.write(text.getBytes(ISO_8859_1));
            out.flush();
        }

        /** One response: status line, headers, and the body by Content-Length, chunked coding or EOF. */
        Response readResponse() throws IOException {
            String statusLine = readLine();
            if (statusLine == null) {
                throw new EOFException("connection closed before a response");
            }
            int status = Integer.parseInt(statusLine.split(" ")[1]);
            Map<String, String> headers = new LinkedHashMap<>();
            for (String line = readLine(); line != null && !line.isEmpty(); line = readLine()) {
                int colon = line.indexOf(':');
                headers.put(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim());
            }
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            if (status / 100 == 1 || status == 204 || status == 304) {
                return new Response(status, headers, "");
            }
            if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
                while (true) {
                    int size = Integer.parseInt(readLine().split(";")[0].trim(), 16);
                    if (size == 0) {
                        while (!readLine().isEmpty()) {
                            // trailers
                        }
                        break;
                    }
                    body.write(in.readNBytes(size));
                    readLine();
                }
            } else if (headers.containsKey("content-length")) {
                int length = Integer.parseInt(headers.get("content-length"));
                byte[] bytes = in.readNBytes(length);
                if (bytes.length < length) {
                    throw new EOFException("body cut at " + bytes.length + " of " + length + " bytes");
                }
                body.write(bytes);
            } else {
                body.write(in.readAllBytes());
            }
            return new Response(status, headers, body.toString(UTF_8));
        }

        /** {@code true} when the peer has closed the connection (nothing more to read). */
        boolean atEof() throws IOException {
            try {
                return in.read() == -1;
            } catch (java.net.SocketException e) {
                return true; // reset by the peer: closed as well
            }
        }

        private String readLine() throws IOException {
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            int b;
            while ((b = in.read()) != -1) {
                if (b == '\n') {
                    byte[] bytes = line.toByteArray();
                    int n = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
                    return new String(bytes, 0, n, ISO_8859_1);
                }
                line.write(b);
            }
            return line.size() == 0 ? null : line.toString(ISO_8859_1);
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }

        record Response(int status, Map<String, String> headers, String body) {
            String header(String name) {
                return headers.get(name.toLowerCase(Locale.ROOT));
            }
        }
    }
}
