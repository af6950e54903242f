package dev.tokenwise.server;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.testing.LeakDetectingExtension;
import dev.tokenwise.server.BadInputTest.RawHttp;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@code server.request_read_timeout_ms} is the time a client has to send a whole request, from its first
 * byte: a client that trickles a request (slowloris) gets a 408 and loses the connection when the time is up,
 * however steadily it keeps sending; a connection silent between requests is closed after the same time;
 * a response may take as long as it takes.
 */
@ExtendWith(LeakDetectingExtension.class)
class SlowClientTest {
    static final int READ_TIMEOUT_MILLIS = 800;
    static final String KEY = "tw-test-key";
    static final String PATH = "/v1/chat/completions";
    static final String CHAT = "{\"model\":\"sim-small\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello there\"}]}";

    static TestGateway gateway;

    @BeforeAll
    static void start() throws Exception {
        String yaml = """
                server: {host: 127.0.0.1, port: 0, request_read_timeout_ms: %d}
                storage: {path: %s}
                pricing: {catalog: ../config/prices.yaml}
                providers:
                  sim: {type: simulator, chunk_delay_ms: 1, first_token_delay_ms: 1}
                  slow: {type: simulator, chunk_delay_ms: 100, first_token_delay_ms: 1, max_output_words: 15}
                models:
                  - {name: sim-small, provider: sim}
                  - {name: sim-slow, provider: slow, upstream_name: sim-small}
                %s
                """.formatted(READ_TIMEOUT_MILLIS, TestGateway.freshLedgerPath(), TestGateway.DEFAULT_TEAMS);
        gateway = TestGateway.fromYaml(yaml);
    }

    @AfterAll
    static void stop() {
        gateway.close();
    }

    @Test
    void answersABodyTrickledPastTheReadTimeoutWith408AndClosesTheConnection() throws Exception {
        byte[] body = CHAT.getBytes(ISO_8859_1);
        String head = "POST " + PATH + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + KEY + "\r\n"
                + "Content-Type: application/json\r\nContent-Length: " + body.length + "\r\n\r\n";
        try (Socket socket = new Socket("127.0.0.1", gateway.app.port())) {
            long start = System.nanoTime();
            OutputStream out = socket.getOutputStream();
            out.write(head.getBytes(ISO_8859_1));
            out.flush();
            // One byte every 50 ms: never silent for long, but the whole body would take ~3.5 s.
            int sent = trickle(out, body, 50);
            long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

            assertTrue(sent < body.length, "the gateway stopped the trickle: sent " + sent + " of " + body.length);
            assertTrue(tookMillis < READ_TIMEOUT_MILLIS + 1_500, "stopped after " + tookMillis + " ms");
            RawHttp.Response r = readAfterTrickle(socket);
            assertEquals(408, r.status(), r.toString());
            assertJsonError(r, ErrorType.REQUEST_TIMEOUT);
            assertEquals("close", r.header("connection"));
        }
        assertNothingLeftOpen();
    }

    @Test
    void answersAHeadTrickledPastTheReadTimeoutWith408() throws Exception {
        byte[] head = ("POST " + PATH + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + "X-Padding: " + "a".repeat(200) + "\r\n")
                .getBytes(ISO_8859_1);
        try (Socket socket = new Socket("127.0.0.1", gateway.app.port())) {
            int sent = trickle(socket.getOutputStream(), head, 20);

            assertTrue(sent < head.length, "the gateway stopped the trickle: sent " + sent + " of " + head.length);
            RawHttp.Response r = readAfterTrickle(socket);
            assertEquals(408, r.status(), r.toString());
            assertJsonError(r, ErrorType.REQUEST_TIMEOUT);
        }
        assertNothingLeftOpen();
    }

    @Test
    void servesARequestSentSlowlyWithinTheReadTimeout() throws Exception {
        byte[] request = post(CHAT).getBytes(ISO_8859_1);
        try (RawHttp raw = new RawHttp(gateway.app.port())) {
            // In 8 pieces, 30 ms apart: ~210 ms in all, well inside the 800 ms.
            int piece = request.length / 8 + 1;
            for (int at = 0; at < request.length; at += piece) {
                raw.send(new String(request, at, Math.min(piece, request.length - at), ISO_8859_1));
                Thread.sleep(30);
            }
            RawHttp.Response r = raw.readResponse();
            assertEquals(200, r.status(), r.toString());
        }
    }

    @Test
    void givesEachRequestOnAKeepAliveConnectionItsOwnReadTimeout() throws Exception {
        try (RawHttp raw = new RawHttp(gateway.app.port())) {
            // Three requests, 500 ms apart: together longer than the timeout, each well inside it.
            for (int i = 0; i < 3; i++) {
                raw.send(post(CHAT));
                assertEquals(200, raw.readResponse().status());
                Thread.sleep(500);
            }
        }
    }

    @Test
    void closesAKeepAliveConnectionSilentForTheReadTimeoutWithoutAnAnswer() throws Exception {
        try (RawHttp raw = new RawHttp(gateway.app.port())) {
            raw.send(post(CHAT));
            assertEquals(200, raw.readResponse().status());
            long start = System.nanoTime();

            assertTrue(raw.atEof(), "an idle connection is closed, with nothing sent");
            long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertTrue(tookMillis >= READ_TIMEOUT_MILLIS - 100 && tookMillis < READ_TIMEOUT_MILLIS + 2_000,
                    "closed after " + tookMillis + " ms");
        }
    }

    @Test
    void letsAStreamedResponseRunLongerThanTheReadTimeout() throws Exception {
        String stream = "{\"model\":\"sim-slow\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"Tell me more\"}]}";
        try (RawHttp raw = new RawHttp(gateway.app.port())) {
            long start = System.nanoTime();
            raw.send(post(stream));
            RawHttp.Response r = raw.readResponse();
            long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

            assertEquals(200, r.status(), r.toString());
            assertTrue(r.body().contains("data: [DONE]"), r.body());
            assertTrue(tookMillis > READ_TIMEOUT_MILLIS, "the stream took " + tookMillis + " ms");
        }
    }

    @Test
    void answersTheRequestsAheadOfATrickledOneBeforeItsTimeoutAnswer() throws Exception {
        String stream = "{\"model\":\"sim-slow\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"Tell me more\"}]}";
        try (RawHttp raw = new RawHttp(gateway.app.port())) {
            // A slow stream (~1.5 s), then the start of a second request that never completes while it runs.
            raw.send(post(stream));
            Thread.sleep(100);
            raw.send("POST " + PATH + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le");

            RawHttp.Response first = raw.readResponse();
            assertEquals(200, first.status(), first.toString());
            assertTrue(first.body().contains("data: [DONE]"), "the stream ran to its end: " + first.body());
            RawHttp.Response second = raw.readResponse();
            assertEquals(408, second.status(), second.toString());
            assertJsonError(second, ErrorType.REQUEST_TIMEOUT);
            assertTrue(raw.atEof(), "closed after the 408");
        }
        assertNothingLeftOpen();
    }

    /** Sends {@code bytes} one at a time, {@code gapMillis} apart, until done or the gateway closes; the count sent. */
    private static int trickle(OutputStream out, byte[] bytes, int gapMillis) throws InterruptedException {
        for (int i = 0; i < bytes.length; i++) {
            try {
                out.write(bytes[i]);
                out.flush();
            } catch (IOException e) {
                return i; // closed (or reset) by the gateway
            }
            Thread.sleep(gapMillis);
        }
        return bytes.length;
    }

    /** What the gateway sent before it closed, read after a trickle that it cut short. */
    private static RawHttp.Response readAfterTrickle(Socket socket) throws IOException {
        socket.setSoTimeout(5_000);
        InputStream in = socket.getInputStream();
        byte[] all;
        try {
            all = in.readAllBytes();
        } catch (SocketException e) {
            throw new AssertionError("reset before the 408 could be read", e);
        }
        String text = new String(all, ISO_8859_1);
        int headEnd = text.indexOf("\r\n\r\n");
        assertTrue(headEnd > 0, "an HTTP response, not: " + text);
        String[] lines = text.substring(0, headEnd).split("\r\n");
        Map<String, String> headers = new java.util.LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            headers.put(lines[i].substring(0, colon).trim().toLowerCase(java.util.Locale.ROOT),
                    lines[i].substring(colon + 1).trim());
        }
        return new RawHttp.Response(Integer.parseInt(lines[0].split(" ")[1]), headers, text.substring(headEnd + 4));
    }

    private static void assertJsonError(RawHttp.Response r, ErrorType type) throws IOException {
        assertTrue(r.header("content-type").startsWith("application/json"), r.toString());
        JsonNode error = TestGateway.json(r.body()).get("error");
        assertEquals(type.type(), error.get("type").asText(), r.body());
        assertEquals(type.code(), error.get("code").asText(), r.body());
        assertTrue(error.get("message").asText().contains("request_read_timeout_ms"), r.body());
    }

    private static void assertNothingLeftOpen() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (gateway.app.accounting().inFlightCount() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(0, gateway.app.accounting().inFlightCount(), "calls left in flight");
        assertEquals(0, gateway.app.budgets().openReservations(), "budget reservations left open");
    }

    private static String post(String body) {
        return "POST " + PATH + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + KEY + "\r\n"
                + "Content-Type: application/json\r\nContent-Length: " + body.length() + "\r\n\r\n" + body;
    }
}
