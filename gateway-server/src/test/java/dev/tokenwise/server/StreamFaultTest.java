package dev.tokenwise.server;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tokenwise.core.testing.LeakDetectingExtension;
import dev.tokenwise.providers.tokenizer.JtokkitTokenCounter;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Streams that go wrong on either side: a client that leaves, an upstream that drops, cannot be
 * reached, never answers, falls silent mid-stream, or closes a pooled keep-alive connection. Each
 * test runs its own gateway against the simulator or a scripted upstream on a plain
 * {@link ServerSocket}, and checks both what the client sees and how the call was booked.
 */
@ExtendWith(LeakDetectingExtension.class)
class StreamFaultTest {
    static final String MODEL = "gpt-4o-mini";
    static final String CHAT = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"Say hello.\"}]}";
    static final String CHAT_STREAM = CHAT.replace("\"messages\"", "\"stream\":true,\"messages\"");
    static final String SSE_HEAD = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
    static final String COMPLETION = "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"gpt-4o-mini\","
            + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hello!\"},\"finish_reason\":\"stop\"}],"
            + "\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":2,\"total_tokens\":13}}";
    /** The gateway's own tokenizer, to know what the text streamed so far counts. */
    static final JtokkitTokenCounter COUNTER = new JtokkitTokenCounter(Runnable::run);

    // ---------------------------------------------------------------- client side

    @Test
    void cancelsTheUpstreamAndChargesWhatWasProducedWhenTheClientDisconnectsMidStream() throws Exception {
        try (TestGateway gateway = TestGateway.start("""
                providers:
                  sim: {type: simulator, chunk_delay_ms: 50, first_token_delay_ms: 5, max_output_words: 200}
                models:
                  - {name: sim-small, provider: sim}
                """)) {
            // This prompt gets the simulator's longest answer: 200 words, one per 50 ms chunk, so ~10 s streamed.
            String chat = "{\"model\":\"sim-small\",\"messages\":[{\"role\":\"user\",\"content\":\"Write a long essay about tokens.\"}]}";
            HttpResponse<String> whole = gateway.post("/v1/chat/completions", "tw-test-key", chat);
            long fullOutputTokens = TestGateway.json(whole.body()).at("/usage/completion_tokens").asLong();
            int words = TestGateway.json(whole.body()).at("/choices/0/message/content").asText().split(" ").length;
            assertTrue(words >= 150, "precondition: a long answer, got " + words + " words");
            long fullStreamMillis = words * 50L;

            String requestId;
            long startNanos = System.nanoTime();
            long cutAfterMillis;
            try (RawClient client = new RawClient(gateway.app.port())) {
                client.send(RawClient.post("/v1/chat/completions", chat.replace("\"messages\"", "\"stream\":true,\"messages\""),
                        "X-Task-Id: essay-1\r\n"));
                RawClient.Head head = client.readHead();
                assertEquals(200, head.status(), head.toString());
                requestId = head.header("x-request-id");
                assertNotNull(requestId, head.toString());
                StringBuilder received = new StringBuilder();
                while (count(received, "data: ") < 4) { // the role delta and three words
                    byte[] chunk = client.readChunk();
                    assertNotNull(chunk, "the stream ended early: " + received);
                    received.append(new String(chunk, UTF_8));
                }
                cutAfterMillis = (System.nanoTime() - startNanos) / 1_000_000;
            }

            HttpResponse<String> lookup = gateway.get("/api/v1/requests/" + requestId, TestGateway.ADMIN_KEY);
            assertEquals(200, lookup.statusCode(), lookup.body());
            JsonNode record = TestGateway.json(lookup.body());
            assertEquals("client_cancelled", record.get("status").asText(), record.toString());
            assertEquals("local", record.get("usage_source").asText(), record.toString());
            assertEquals("essay-1", record.get("task_id").asText());
            long outputTokens = record.get("output_tokens").asLong();
            assertTrue(outputTokens > 0, "charged for what was produced: " + record);
            assertTrue(outputTokens < fullOutputTokens, "not for the whole answer: " + record);
            assertTrue(record.get("input_tokens").asLong() > 0, record.toString());
            assertTrue(record.get("cost_nanos").asLong() > 0, record.toString());
            // Settled (and the upstream cut) right after the client left, not when the ~10 s answer would have ended.
            double latencyMillis = record.get("latency_ms").asDouble();
            assertTrue(latencyMillis < cutAfterMillis + 1_000, "latency " + latencyMillis + " ms, cut at " + cutAfterMillis);
            assertTrue(latencyMillis < fullStreamMillis / 3.0, "latency " + latencyMillis + " ms of " + fullStreamMillis);
            assertEquals(0, gateway.app.accounting().inFlightCount());
        }
    }

    // ---------------------------------------------------------------- upstream side

    @Test
    void endsTheClientStreamAndChargesTheStreamedTextWhenTheUpstreamDropsMidStream() throws Exception {
        try (FakeUpstream upstream = new FakeUpstream(c -> {
                    c.readRequest();
                    c.write(SSE_HEAD + chunk(event("Hello")) + chunk(event(" there")));
                    // ...and the connection closes here, without the terminating chunk.
                });
             TestGateway gateway = gatewayFor(upstream.port(), 10_000)) {
            Streamed body = stream(gateway, CHAT_STREAM);
            assertEquals(200, body.status());

            assertNotNull(body.failure(), "the client sees an incomplete stream, not a clean end: " + body.text());
            assertTrue(body.text().contains("\"Hello\"") && body.text().contains("\" there\""), body.text());
            JsonNode record = gateway.record(body.requestId());
            assertEquals("upstream_reset", record.get("status").asText(), record.toString());
            assertEquals("local", record.get("usage_source").asText(), record.toString());
            long expected = tokens("Hello there");
            assertTrue(expected > 0);
            assertEquals(expected, record.get("output_tokens").asLong(), record.toString());
            assertEquals(expected, record.get("local_output_tokens").asLong(), record.toString());
            assertTrue(record.get("cost_nanos").asLong() > 0, record.toString());
        }
    }

    @Test
    void answers502AndChargesNothingWhenTheUpstreamIsUnreachable() throws Exception {
        int closedPort;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = probe.getLocalPort();
        }
        try (TestGateway gateway = gatewayFor(closedPort, 10_000)) {
            HttpResponse<String> response = gateway.post("/v1/chat/completions", "tw-test-key", CHAT);

            assertEquals(502, response.statusCode(), response.body());
            JsonNode error = TestGateway.json(response.body()).get("error");
            assertEquals("upstream_failed", error.get("code").asText(), response.body());
            assertEquals("upstream_error", error.get("type").asText(), response.body());
            JsonNode record = gateway.record(response);
            assertEquals("upstream_unreachable", record.get("status").asText(), record.toString());
            assertEquals(502, record.get("http_status").asInt());
            assertEquals(0, record.get("cost_nanos").asLong(), record.toString());
            assertEquals(0, record.get("input_tokens").asLong(), record.toString());
        }
    }

    @Test
    void answers504WhenTheUpstreamAcceptsAndNeverAnswers() throws Exception {
        try (FakeUpstream upstream = new FakeUpstream(c -> {
                    c.readRequest();
                    c.awaitClose();
                });
             TestGateway gateway = gatewayFor(upstream.port(), 500)) {
            long start = System.nanoTime();
            HttpResponse<String> response = gateway.post("/v1/chat/completions", "tw-test-key", CHAT);
            long elapsedMillis = (System.nanoTime() - start) / 1_000_000;

            assertEquals(504, response.statusCode(), response.body());
            JsonNode error = TestGateway.json(response.body()).get("error");
            assertEquals("upstream_timeout", error.get("code").asText(), response.body());
            assertEquals("upstream_error", error.get("type").asText(), response.body());
            assertTrue(elapsedMillis >= 450 && elapsedMillis < 2_000, "answered after " + elapsedMillis + " ms");
            JsonNode record = gateway.record(response);
            assertEquals("upstream_timeout", record.get("status").asText(), record.toString());
            assertEquals(504, record.get("http_status").asInt());
            // The client connection stays usable after a 504.
            assertEquals(200, gateway.get("/healthz", null).statusCode());
        }
    }

    @Test
    void endsTheClientStreamWhenTheUpstreamFallsSilentMidStream() throws Exception {
        try (FakeUpstream upstream = new FakeUpstream(c -> {
                    c.readRequest();
                    c.write(SSE_HEAD + chunk(event("Hello")));
                    c.awaitClose();
                });
             TestGateway gateway = gatewayFor(upstream.port(), 500)) {
            long start = System.nanoTime();
            Streamed body = stream(gateway, CHAT_STREAM);
            assertEquals(200, body.status());
            long elapsedMillis = (System.nanoTime() - start) / 1_000_000;

            assertNotNull(body.failure(), "the client sees an incomplete stream: " + body.text());
            assertTrue(body.text().contains("\"Hello\""), body.text());
            assertTrue(elapsedMillis >= 450 && elapsedMillis < 2_000, "ended after " + elapsedMillis + " ms");
            JsonNode record = gateway.record(body.requestId());
            assertEquals("upstream_timeout", record.get("status").asText(), record.toString());
            assertEquals("local", record.get("usage_source").asText(), record.toString());
            assertEquals(tokens("Hello"), record.get("output_tokens").asLong(), record.toString());
            assertTrue(record.get("cost_nanos").asLong() > 0, record.toString());
        }
    }

    @Test
    void succeedsWhenTheUpstreamClosesAPooledConnectionRightAfterAnswering() throws Exception {
        try (FakeUpstream upstream = new FakeUpstream(c -> {
                    while (c.readRequest() != null) {
                        c.write(json200(COMPLETION, "keep-alive"));
                        if (c.index == 1) {
                            return; // closes the socket right after the keep-alive answer
                        }
                    }
                });
             TestGateway gateway = gatewayFor(upstream.port(), 10_000)) {
            HttpResponse<String> first = gateway.post("/v1/chat/completions", "tw-test-key", CHAT);
            HttpResponse<String> second = gateway.post("/v1/chat/completions", "tw-test-key", CHAT);

            assertEquals(200, first.statusCode(), first.body());
            assertEquals(COMPLETION, first.body());
            assertEquals(200, second.statusCode(), second.body());
            assertEquals(COMPLETION, second.body());
            assertEquals("ok", gateway.record(second).get("status").asText());
            assertEquals(2, upstream.connections.get());
        }
    }

    @Test
    void retriesOnceOnAFreshConnectionWhenAReusedOneDiesBeforeAnswering() throws Exception {
        try (FakeUpstream upstream = new FakeUpstream(c -> {
                    c.readRequest();
                    c.write(json200(COMPLETION, "keep-alive"));
                    if (c.index == 1) {
                        // Keeps the connection open so the gateway pools it, then drops it on the next request.
                        c.readRequest();
                        return;
                    }
                    while (c.readRequest() != null) {
                        c.write(json200(COMPLETION, "keep-alive"));
                    }
                });
             TestGateway gateway = gatewayFor(upstream.port(), 10_000);
             RawClient client = new RawClient(gateway.app.port())) {
            // One client connection, so both calls run on the same event loop and share its upstream pool.
            client.send(RawClient.post("/v1/chat/completions", CHAT, ""));
            RawClient.Response first = client.readResponse();
            client.send(RawClient.post("/v1/chat/completions", CHAT, ""));
            RawClient.Response second = client.readResponse();

            assertEquals(200, first.status(), first.toString());
            assertEquals(200, second.status(), second.toString());
            assertEquals(COMPLETION, second.body());
            assertEquals(2, upstream.connections.get(), "one reused connection that died, one fresh");
            assertEquals(3, upstream.requests.get(), "the second call was sent twice");
            HttpResponse<String> lookup = gateway.get("/api/v1/requests/" + second.header("x-request-id"),
                    TestGateway.ADMIN_KEY);
            assertEquals("ok", TestGateway.json(lookup.body()).get("status").asText(), lookup.body());
        }
    }

    @Test
    void keepsRelayingToAClientThatPausesReadingLongerThanTheUpstreamReadTimeout() throws Exception {
        // 12 MB, far more than the socket buffers and the client channel's high water mark hold, so the
        // gateway must stop reading upstream while the client does not read. That pause is the gateway's
        // own backpressure, not upstream silence, and must not end the call as an upstream timeout.
        String big = COMPLETION.replace("\"usage\"", "\"pad\":\"" + "x".repeat(12 * 1024 * 1024) + "\",\"usage\"");
        // Encoded before the call: building 12 MB inside the upstream's turn ate into the 500 ms read timeout.
        byte[] response = json200(big, "keep-alive").getBytes(UTF_8);
        try (FakeUpstream upstream = new FakeUpstream(c -> {
                    c.readRequest();
                    c.write(response);
                    c.awaitClose();
                });
             TestGateway gateway = gatewayFor(upstream.port(), 500);
             RawClient client = new RawClient(gateway.app.port(), 64 * 1024)) {
            client.send(RawClient.post("/v1/chat/completions", CHAT, ""));
            RawClient.Head head = client.readHead();
            assertEquals(200, head.status());
            Thread.sleep(1_500); // three read timeouts without reading a byte
            byte[] body = null;
            IOException cut = null;
            try {
                body = client.readBody(head);
            } catch (IOException e) {
                cut = e;
            }

            HttpResponse<String> lookup = gateway.get("/api/v1/requests/" + head.header("x-request-id"),
                    TestGateway.ADMIN_KEY);
            String status = TestGateway.json(lookup.body()).get("status").asText();
            assertNull(cut, "the response was cut (" + cut + "), booked as " + status);
            assertEquals(big.length(), body.length);
            assertEquals("ok", status, lookup.body());
        }
    }

    // ---------------------------------------------------------------- helpers

    private static TestGateway gatewayFor(int upstreamPort, int readTimeoutMillis) throws InterruptedException {
        return TestGateway.start("""
                providers:
                  fake: {type: openai, base_url: "http://127.0.0.1:%d/v1", api_key: sk-fake, read_timeout_ms: %d, connect_timeout_ms: 2000}
                models:
                  - {name: gpt-4o-mini, provider: fake}
                """.formatted(upstreamPort, readTimeoutMillis));
    }

    /**
     * Sends a streamed chat call on a raw socket and reads its chunks until the terminating one or the close. A raw
     * socket, because the {@code InputStream} of {@code java.net.http} throws as soon as it learns of a failed
     * connection, dropping chunks it had already received.
     */
    private static Streamed stream(TestGateway gateway, String body) throws IOException {
        try (RawClient client = new RawClient(gateway.app.port())) {
            client.send(RawClient.post("/v1/chat/completions", body, ""));
            RawClient.Head head = client.readHead();
            ByteArrayOutputStream text = new ByteArrayOutputStream();
            IOException failure = null;
            try {
                for (byte[] c = client.readChunk(); c != null; c = client.readChunk()) {
                    text.write(c);
                }
            } catch (IOException e) {
                failure = e;
            }
            return new Streamed(head.status(), head.header("x-request-id"), text.toString(UTF_8), failure);
        }
    }

    /** What {@link #stream} read: the status, the call's id, the events, and how the body ended early, if it did. */
    record Streamed(int status, String requestId, String text, IOException failure) {
    }

    /** An OpenAI chat chunk event carrying one content delta. */
    static String event(String content) {
        return "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini\","
                + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + content + "\"},\"finish_reason\":null}]}\n\n";
    }

    /** {@code data} in HTTP/1.1 chunked coding. */
    static String chunk(String data) {
        return Integer.toHexString(data.getBytes(UTF_8).length) + "\r\n" + data + "\r\n";
    }

    static String json200(String body, String connection) {
        return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: " + connection + "\r\nContent-Length: "
                + body.getBytes(UTF_8).length + "\r\n\r\n" + body;
    }

    static long tokens(String text) {
        return COUNTER.countOutput(MODEL, text).join().tokens();
    }

    private static int count(CharSequence text, String needle) {
        String s = text.toString();
        int n = 0;
        for (int i = s.indexOf(needle); i >= 0; i = s.indexOf(needle, i + needle.length())) {
            n++;
        }
        return n;
    }

    /** What a client read from a response body before it ended, and how it ended. */
    /**
     * A scripted upstream: a {@link ServerSocket} on a random loopback port whose every accepted
     * connection runs {@code script} on its own thread; the socket is closed when the script returns.
     */
    static final class FakeUpstream implements AutoCloseable {
        interface Script {
            void serve(Connection connection) throws IOException, InterruptedException;
        }

        final AtomicInteger connections = new AtomicInteger();
        final AtomicInteger requests = new AtomicInteger();
        /** The head (request line and header lines) of every request read, in order. */
        final List<String> heads = new CopyOnWriteArrayList<>();
        private final ServerSocket server;
        private final List<Socket> sockets = new CopyOnWriteArrayList<>();

        FakeUpstream(Script script) throws IOException {
            server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            Thread acceptor = new Thread(() -> {
                while (true) {
                    Socket socket;
                    try {
                        socket = server.accept();
                    } catch (IOException e) {
                        return; // closed
                    }
                    sockets.add(socket);
                    int index = connections.incrementAndGet();
                    Thread serving = new Thread(() -> {
                        try (socket) {
                            socket.setSoTimeout(15_000);
                            script.serve(new Connection(socket, index));
                        } catch (IOException | InterruptedException ignored) {
                            // the gateway closed the connection, or the test ended
                        }
                    }, "fake-upstream-" + index);
                    serving.setDaemon(true);
                    serving.start();
                }
            }, "fake-upstream-accept");
            acceptor.setDaemon(true);
            acceptor.start();
        }

        int port() {
            return server.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            server.close();
            for (Socket socket : sockets) {
                socket.close();
            }
        }

        /** One accepted connection. */
        final class Connection {
            final int index;
            /** The port this upstream listens on. */
            final int localPort;
            /** The number of the request last read, counted over all connections (1 for the first). */
            int requestNumber;
            private final InputStream in;
            private final OutputStream out;

            Connection(Socket socket, int index) throws IOException {
                this.index = index;
                this.localPort = socket.getLocalPort();
                this.in = new BufferedInputStream(socket.getInputStream());
                this.out = socket.getOutputStream();
            }

            /** Reads one request (head, then the body by Content-Length); {@code null} when the peer closed first. */
            String readRequest() throws IOException {
                String line = RawClient.readLine(in);
                if (line == null) {
                    return null;
                }
                int length = 0;
                StringBuilder head = new StringBuilder(line).append('\n');
                for (line = RawClient.readLine(in); line != null && !line.isEmpty(); line = RawClient.readLine(in)) {
                    head.append(line).append('\n');
                    if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
                        length = Integer.parseInt(line.substring(15).trim());
                    }
                }
                byte[] body = in.readNBytes(length);
                heads.add(head.toString());
                requestNumber = requests.incrementAndGet();
                return new String(body, UTF_8);
            }

            void write(String text) throws IOException {
                write(text.getBytes(UTF_8));
            }

            void write(byte[] bytes) throws IOException {
                out.write(bytes);
                out.flush();
            }

            /** Blocks until the gateway closes the connection. */
            void awaitClose() throws IOException {
                while (in.read() != -1) {
                    // discard
                }
            }
        }
    }

    /** A plain client socket: raw requests, then a response head, its chunks one by one, or whole responses. */
    static final class RawClient implements AutoCloseable {
        private final Socket socket;
        private final InputStream in;
        private final OutputStream out;

        RawClient(int port) throws IOException {
            this(port, 0);
        }

        /** @param receiveBuffer the socket's receive buffer in bytes, {@code 0} for the default */
        RawClient(int port, int receiveBuffer) throws IOException {
            socket = new Socket();
            if (receiveBuffer > 0) {
                socket.setReceiveBufferSize(receiveBuffer);
            }
            socket.connect(new java.net.InetSocketAddress("127.0.0.1", port), 5_000);
            socket.setSoTimeout(10_000);
            in = new BufferedInputStream(socket.getInputStream());
            out = socket.getOutputStream();
        }

        static String post(String path, String body, String extraHeaders) {
            return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer tw-test-key\r\n"
                    + "Content-Type: application/json\r\n" + extraHeaders
                    + "Content-Length: " + body.getBytes(UTF_8).length + "\r\n\r\n" + body;
        }

        void send(String text) throws IOException {
            out.write(text.getBytes(UTF_8));
            out.flush();
        }

        Head readHead() throws IOException {
            String statusLine = readLine(in);
            if (statusLine == null) {
                throw new EOFException("connection closed before a response");
            }
            Map<String, String> headers = new LinkedHashMap<>();
            for (String line = readLine(in); line != null && !line.isEmpty(); line = readLine(in)) {
                int colon = line.indexOf(':');
                headers.put(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim());
            }
            return new Head(Integer.parseInt(statusLine.split(" ")[1]), headers);
        }

        /** The next chunk of a chunked body; {@code null} after the last one; EOFException when cut short. */
        byte[] readChunk() throws IOException {
            String sizeLine = readLine(in);
            if (sizeLine == null) {
                throw new EOFException("connection closed inside a chunked body");
            }
            int size = Integer.parseInt(sizeLine.split(";")[0].trim(), 16);
            if (size == 0) {
                for (String line = readLine(in); line != null && !line.isEmpty(); line = readLine(in)) {
                    // trailers
                }
                return null;
            }
            byte[] data = in.readNBytes(size);
            if (data.length < size || readLine(in) == null) {
                throw new EOFException("connection closed inside a chunk");
            }
            return data;
        }

        Response readResponse() throws IOException {
            Head head = readHead();
            return new Response(head.status(), head.headers(), new String(readBody(head), UTF_8));
        }

        /** The body after {@code head}: chunked, or by Content-Length; what arrived before an early close is dropped. */
        byte[] readBody(Head head) throws IOException {
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            if ("chunked".equalsIgnoreCase(head.header("transfer-encoding"))) {
                for (byte[] c = readChunk(); c != null; c = readChunk()) {
                    body.write(c);
                }
            } else {
                int length = Integer.parseInt(head.header("content-length"));
                byte[] bytes = in.readNBytes(length);
                if (bytes.length < length) {
                    throw new EOFException("body cut at " + bytes.length + " of " + length + " bytes");
                }
                body.write(bytes);
            }
            return body.toByteArray();
        }

        static String readLine(InputStream in) throws IOException {
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

        record Head(int status, Map<String, String> headers) {
            String header(String name) {
                return headers.get(name);
            }
        }

        record Response(int status, Map<String, String> headers, String body) {
            String header(String name) {
                return headers.get(name);
            }
        }
    }
}
