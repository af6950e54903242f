package dev.tokenwise.server;

import static dev.tokenwise.server.StreamFaultTest.chunk;
import static dev.tokenwise.server.StreamFaultTest.event;
import static dev.tokenwise.server.StreamFaultTest.json200;
import static dev.tokenwise.server.StreamFaultTest.tokens;
import static java.nio.charset.StandardCharsets.US_ASCII;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.testing.LeakDetectingExtension;
import dev.tokenwise.server.StreamFaultTest.FakeUpstream;
import dev.tokenwise.server.StreamFaultTest.RawClient;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * An upstream that answers like an attacker or a broken server: impossible usage, a body cut short on a reused
 * connection, both framing headers, bytes that are not HTTP, an encoding nobody asked for, error bodies that echo
 * our key and its own address, cookies, a body the observer cannot read, a huge body. For each: what the client
 * gets, and that the call is booked exactly once, its budget reservation released and nothing left in flight.
 */
@ExtendWith(LeakDetectingExtension.class)
class HostileUpstreamTest {
    /** The provider key the gateway sends upstream; a hostile upstream echoes it back. */
    static final String API_KEY = "sk-hostile-0123456789abcdefXYZ";
    static final String CHAT = StreamFaultTest.CHAT;
    static final String CHAT_STREAM = StreamFaultTest.CHAT_STREAM;
    static final String COMPLETION = StreamFaultTest.COMPLETION;

    /** {@link #COMPLETION} with its usage object replaced by {@code usage}. */
    static String completionWithUsage(String usage) {
        int at = COMPLETION.indexOf("\"usage\":");
        return COMPLETION.substring(0, at) + "\"usage\":" + usage + "}";
    }

    // ---------------------------------------------------------------- usage the provider cannot have meant

    @ParameterizedTest
    @ValueSource(strings = {
            "{\"prompt_tokens\":1000000000000000,\"completion_tokens\":1000000000000000,\"total_tokens\":2000000000000000}",
            "{\"prompt_tokens\":-11,\"completion_tokens\":2,\"total_tokens\":-9}",
            "{\"prompt_tokens\":11,\"completion_tokens\":2,\"prompt_tokens_details\":{\"cached_tokens\":-3}}",
            "{\"prompt_tokens\":11.5,\"completion_tokens\":2,\"total_tokens\":13.5}",
            "{\"prompt_tokens\":\"11\",\"completion_tokens\":2,\"total_tokens\":13}",
            "{\"prompt_tokens\":11,\"completion_tokens\":2000000000,\"total_tokens\":2000000011}",
            "{\"prompt_cache_hit_tokens\":900000000,\"prompt_cache_miss_tokens\":900000000,\"completion_tokens\":2}"})
    void billsTheLocalCountAndFlagsTheRecordWhenTheProviderReportsImpossibleUsage(String usage) throws Exception {
        String bad = completionWithUsage(usage);
        try (FakeUpstream upstream = answeringFirstWith(bad);
             TestGateway gateway = gatewayFor(upstream.port(), "normal");
             RawClient client = new RawClient(gateway.app.port())) {
            client.send(RawClient.post("/v1/chat/completions", CHAT, ""));
            RawClient.Response first = client.readResponse();
            assertEquals(200, first.status(), first.toString());
            assertEquals(bad, first.body(), "the answer is relayed whole");

            JsonNode record = bookedOnce(gateway, first.header("x-request-id"));
            assertEquals("ok", record.get("status").asText(), record.toString());
            assertEquals("local", record.get("usage_source").asText(), record.toString());
            assertEquals(List.of("usage_rejected"), flags(record), record.toString());
            assertTrue(record.get("input_tokens").asLong() > 0, record.toString());
            assertEquals(record.get("local_input_tokens").asLong(), record.get("input_tokens").asLong());
            assertEquals(tokens("Hello!"), record.get("output_tokens").asLong(), record.toString());
            assertEquals(localCostNanos(record), record.get("cost_nanos").asLong(), record.toString());

            // The client's keep-alive connection still answers.
            client.send(RawClient.post("/v1/chat/completions", CHAT, ""));
            RawClient.Response second = client.readResponse();
            assertEquals(200, second.status(), second.toString());
            assertEquals("provider", bookedOnce(gateway, second.header("x-request-id")).get("usage_source").asText());
        }
    }

    @Test
    void billsTheLocalCountWhenAStreamReportsAnOverflowingUsage() throws Exception {
        String usageChunk = "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,"
                + "\"model\":\"gpt-4o-mini\",\"choices\":[],\"usage\":{\"prompt_tokens\":9223372036854775807,"
                + "\"completion_tokens\":9223372036854775807,\"total_tokens\":-2}}\n\n";
        try (FakeUpstream upstream = new FakeUpstream(c -> {
                    c.readRequest();
                    c.write(StreamFaultTest.SSE_HEAD + chunk(event("Hello")) + chunk(event(" there")) + chunk(usageChunk)
                            + chunk("data: [DONE]\n\n") + "0\r\n\r\n");
                    c.awaitClose();
                });
             TestGateway gateway = gatewayFor(upstream.port(), "normal");
             RawClient client = new RawClient(gateway.app.port())) {
            client.send(RawClient.post("/v1/chat/completions", CHAT_STREAM, ""));
            RawClient.Response response = client.readResponse();
            assertEquals(200, response.status());
            assertTrue(response.body().endsWith("data: [DONE]\n\n"), response.body());

            JsonNode record = bookedOnce(gateway, response.header("x-request-id"));
            assertEquals("ok", record.get("status").asText(), record.toString());
            assertEquals("local", record.get("usage_source").asText(), record.toString());
            assertEquals(List.of("usage_rejected"), flags(record), record.toString());
            assertEquals(tokens("Hello there"), record.get("output_tokens").asLong(), record.toString());
        }
    }

    @Test
    void completesTheResponseUnderStrictSyncWhenTheUsageOverflowsThePrice() throws Exception {
        String bad = completionWithUsage("{\"prompt_tokens\":1000000000000000,\"completion_tokens\":1000000000000000}");
        try (FakeUpstream upstream = answeringFirstWith(bad);
             TestGateway gateway = gatewayFor(upstream.port(), "strict");
             RawClient client = new RawClient(gateway.app.port())) {
            client.send(RawClient.post("/v1/chat/completions", CHAT, ""));
            RawClient.Response first = client.readResponse();
            assertEquals(200, first.status(), first.toString());
            assertEquals(bad, first.body(), "the head and the whole body");

            JsonNode record = bookedOnce(gateway, first.header("x-request-id"));
            assertEquals("local", record.get("usage_source").asText(), record.toString());
            assertEquals(List.of("usage_rejected"), flags(record), record.toString());
            gateway.flushLedger();
            assertEquals(record.get("cost_nanos").asLong(), gateway.app.ledger().totalCostNanos(), "committed once");

            client.send(RawClient.post("/v1/chat/completions", CHAT, ""));
            assertEquals(200, client.readResponse().status(), "the connection still answers");
        }
    }

    // ---------------------------------------------------------------- an answer cut short

    @Test
    void neverSendsAgainARequestWhoseAnswerWasCutShortOnAReusedConnection() throws Exception {
        byte[] whole = json200(COMPLETION, "keep-alive").getBytes(UTF_8);
        try (FakeUpstream upstream = new FakeUpstream(c -> {
                    c.readRequest();
                    c.write(whole);
                    if (c.index == 1 && c.readRequest() != null) {
                        // The head and half of the body on the reused connection, then the close: the provider did the work.
                        c.write(java.util.Arrays.copyOf(whole, whole.length - COMPLETION.length() / 2));
                        return;
                    }
                    c.awaitClose();
                });
             TestGateway gateway = gatewayFor(upstream.port(), "normal");
             RawClient client = new RawClient(gateway.app.port())) {
            client.send(RawClient.post("/v1/chat/completions", CHAT, ""));
            assertEquals(200, client.readResponse().status());
            client.send(RawClient.post("/v1/chat/completions", CHAT, ""));
            RawClient.Head head = client.readHead();
            assertEquals(200, head.status(), head.toString());
            assertThrows(IOException.class, () -> client.readBody(head), "the client sees the answer end early");

            JsonNode record = bookedOnce(gateway, head.header("x-request-id"));
            assertEquals(2, upstream.requests.get(), "the cut answer was not asked for again");
            assertEquals(1, upstream.connections.get());
            assertEquals("upstream_reset", record.get("status").asText(), record.toString());
            assertEquals(1, record.get("attempts").asInt(), record.toString());
            assertEquals("local", record.get("usage_source").asText(), record.toString());
            assertTrue(record.get("output_tokens").asLong() > 0, "charged for the part that arrived: " + record);
            assertTrue(record.get("cost_nanos").asLong() > 0, record.toString());
        }
    }

    // ---------------------------------------------------------------- framing and bytes that are not HTTP

    @ParameterizedTest
    @ValueSource(strings = {"HTTP/1.1", "HTTP/1.0"})
    void refusesAnAnswerWithBothFramingHeadersWithA502AndKeepsTheClientInStep(String version) throws Exception {
        // Which header frames the body is the classic ambiguity of request smuggling: the answer is not relayed at all.
        try (FakeUpstream upstream = new FakeUpstream(c -> {
                    c.readRequest();
                    c.write(version + " 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n"
                            + "Transfer-Encoding: chunked\r\n\r\n" + chunk(COMPLETION) + "0\r\n\r\n");
                    c.awaitClose();
                });
             TestGateway gateway = gatewayFor(upstream.port(), "normal");
             RawClient client = new RawClient(gateway.app.port())) {
            client.send(RawClient.post("/v1/chat/completions", CHAT, ""));
            RawClient.Response response = client.readResponse();
            assertEquals(502, response.status(), response.toString());
            JsonNode error = TestGateway.json(response.body()).get("error");
            assertEquals("upstream_failed", error.get("code").asText(), response.body());
            assertEquals("provider hostile sent an answer that is not valid HTTP", error.get("message").asText());
            JsonNode record = bookedOnce(gateway, response.header("x-request-id"));
            assertEquals("upstream_error", record.get("status").asText(), record.toString());
            assertEquals(0, record.get("cost_nanos").asLong(), record.toString());
            assertEquals(1, upstream.requests.get(), "not sent again");

            client.send(RawClient.post("/v1/chat/completions", "{\"model\":\"nope\",\"messages\":[]}", ""));
            assertEquals(404, client.readResponse().status(), "the client connection is still in step");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"SSH-2.0-OpenSSH_9.6\r\n\r\n", "this is not http\r\n\r\n{\"usage\":{}}",
            "HTTP/1.1 2x0 OK\r\nContent-Length: 2\r\n\r\n{}"})
    void answersBytesThatAreNotHttpWithA502JsonError(String garbage) throws Exception {
        try (FakeUpstream upstream = new FakeUpstream(c -> {
                    c.readRequest();
                    c.write(garbage);
                    c.awaitClose();
                });
             TestGateway gateway = gatewayFor(upstream.port(), "normal");
             RawClient client = new RawClient(gateway.app.port())) {
            client.send(RawClient.post("/v1/chat/completions", CHAT, ""));
            RawClient.Response response = client.readResponse();
            assertEquals(502, response.status(), response.toString());
            JsonNode error = TestGateway.json(response.body()).get("error");
            assertEquals("upstream_failed", error.get("code").asText(), response.body());
            assertEquals("upstream_error", error.get("type").asText(), response.body());
            assertTrue(error.get("message").asText().contains("hostile"), response.body());
            JsonNode record = bookedOnce(gateway, response.header("x-request-id"));
            assertEquals("upstream_error", record.get("status").asText(), record.toString());
            assertEquals(502, record.get("http_status").asInt(), record.toString());
            assertEquals(0, record.get("cost_nanos").asLong(), record.toString());
            assertEquals(1, upstream.requests.get(), "bytes came back: not sent again");
        }
    }

    // ---------------------------------------------------------------- an encoding nobody asked for

    @Test
    void asksForNoEncodingAndBooksAGzipAnswerOnTheLocalCount() throws Exception {
        byte[] gzipped = gzip(COMPLETION);
        try (FakeUpstream upstream = new FakeUpstream(c -> {
                    c.readRequest();
                    c.write(("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
                            + "Content-Length: " + gzipped.length + "\r\n\r\n").getBytes(US_ASCII));
                    c.write(gzipped);
                    c.awaitClose();
                });
             TestGateway gateway = gatewayFor(upstream.port(), "normal");
             RawClient client = new RawClient(gateway.app.port())) {
            client.send(RawClient.post("/v1/chat/completions", CHAT, "Accept-Encoding: gzip, br\r\n"));
            RawClient.Head head = client.readHead();
            byte[] body = client.readBody(head);
            assertEquals(200, head.status(), head.toString());
            assertEquals("gzip", head.header("content-encoding"), "the client can still read it");
            assertEquals(COMPLETION, gunzip(body));

            String sent = upstream.heads.get(0).toLowerCase(Locale.ROOT);
            assertTrue(sent.contains("\naccept-encoding: identity\n"), sent);
            assertFalse(sent.contains("gzip"), sent);
            JsonNode record = bookedOnce(gateway, head.header("x-request-id"));
            assertEquals("ok", record.get("status").asText(), record.toString());
            assertEquals("local", record.get("usage_source").asText(), record.toString());
            assertEquals(List.of("upstream_encoded"), flags(record), record.toString());
            assertTrue(record.get("input_tokens").asLong() > 0, record.toString());
            assertTrue(record.get("cost_nanos").asLong() > 0, record.toString());
        }
    }

    // ---------------------------------------------------------------- what must not reach the client

    @Test
    void keepsTheProvidersErrorMessageButNotOurKeyNorItsAddress() throws Exception {
        try (FakeUpstream upstream = new FakeUpstream(c -> {
                    String echoed = "{\"error\":{\"message\":\"Incorrect API key provided: " + API_KEY + " (also seen: "
                            + "sk-proj-AbC123dEf456gHi789_jk and Bearer " + API_KEY + ") for 127.0.0.1:" + c.localPort
                            + " at http://127.0.0.1:" + c.localPort + "/v1/chat/completions\","
                            + "\"type\":\"invalid_request_error\",\"param\":null,\"code\":\"invalid_api_key\"}}";
                    c.readRequest();
                    c.write("HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: "
                            + echoed.getBytes(UTF_8).length + "\r\n\r\n" + echoed);
                    c.awaitClose();
                });
             TestGateway gateway = gatewayFor(upstream.port(), "normal");
             RawClient client = new RawClient(gateway.app.port())) {
            client.send(RawClient.post("/v1/chat/completions", CHAT, ""));
            RawClient.Response response = client.readResponse();
            assertEquals(401, response.status(), response.toString());
            String body = response.body();
            assertFalse(body.contains(API_KEY), body);
            assertFalse(body.contains("0123456789abcdef"), body);
            assertFalse(body.contains("AbC123dEf456"), body);
            assertFalse(body.contains(":" + upstream.port()), body);
            JsonNode error = TestGateway.json(body).get("error");
            assertTrue(error.get("message").asText().startsWith("Incorrect API key provided: "), body);
            assertEquals("invalid_api_key", error.get("code").asText(), body);
            assertEquals(String.valueOf(body.getBytes(UTF_8).length), response.header("content-length"));
            JsonNode record = bookedOnce(gateway, response.header("x-request-id"));
            assertEquals("upstream_error", record.get("status").asText(), record.toString());
            assertEquals(0, record.get("cost_nanos").asLong(), record.toString());
        }
    }

    @Test
    void namesTheProviderButNotItsAddressInTheGatewaysOwnErrors() throws Exception {
        int closedPort;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = probe.getLocalPort();
        }
        try (TestGateway gateway = gatewayFor(closedPort, "normal")) {
            HttpResponse<String> response = gateway.post("/v1/chat/completions", "tw-test-key", CHAT);
            assertEquals(502, response.statusCode(), response.body());
            String message = TestGateway.json(response.body()).at("/error/message").asText();
            assertTrue(message.contains("hostile"), message);
            assertFalse(message.contains(String.valueOf(closedPort)), message);
            assertFalse(message.contains("127.0.0.1"), message);
            bookedOnce(gateway, response.headers().firstValue("x-request-id").orElseThrow());
        }
        try (FakeUpstream silent = new FakeUpstream(c -> {
                    c.readRequest();
                    c.awaitClose();
                });
             TestGateway gateway = TestGateway.fromYaml(yaml(silent.port(), "normal", 300))) {
            HttpResponse<String> response = gateway.post("/v1/chat/completions", "tw-test-key", CHAT);
            assertEquals(504, response.statusCode(), response.body());
            String message = TestGateway.json(response.body()).at("/error/message").asText();
            assertTrue(message.contains("hostile"), message);
            assertFalse(message.contains(String.valueOf(silent.port())), message);
            bookedOnce(gateway, response.headers().firstValue("x-request-id").orElseThrow());
        }
    }

    @Test
    void dropsTheUpstreamsCookies() throws Exception {
        try (FakeUpstream upstream = new FakeUpstream(c -> {
                    c.readRequest();
                    c.write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nSet-Cookie: __cf_bm=abc; path=/; HttpOnly\r\n"
                            + "set-cookie: session=provider-secret\r\nX-Request-Id-Upstream: r1\r\nContent-Length: "
                            + COMPLETION.length() + "\r\n\r\n" + COMPLETION);
                    c.awaitClose();
                });
             TestGateway gateway = gatewayFor(upstream.port(), "normal");
             RawClient client = new RawClient(gateway.app.port())) {
            client.send(RawClient.post("/v1/chat/completions", CHAT, ""));
            RawClient.Response response = client.readResponse();
            assertEquals(200, response.status());
            assertNull(response.header("set-cookie"), response.headers().toString());
            assertEquals("r1", response.header("x-request-id-upstream"), "other headers still pass");
            assertEquals("ok", bookedOnce(gateway, response.header("x-request-id")).get("status").asText());
        }
    }

    // ---------------------------------------------------------------- what the observer cannot read

    @Test
    void countsAnObserverErrorAndFlagsTheRecord() throws Exception {
        String unreadable = "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"choices\":[{\"message\":{\"content\":\"Hi\"}}]"
                + ",\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":2}";  // the closing brace is missing
        try (FakeUpstream upstream = new FakeUpstream(c -> {
                    c.readRequest();
                    c.write(json200(unreadable, "keep-alive"));
                    c.awaitClose();
                });
             TestGateway gateway = gatewayFor(upstream.port(), "normal")) {
            HttpResponse<String> response = gateway.post("/v1/chat/completions", "tw-test-key", CHAT);
            assertEquals(200, response.statusCode());
            assertEquals(unreadable, response.body());
            JsonNode record = bookedOnce(gateway, response.headers().firstValue("x-request-id").orElseThrow());
            assertEquals("local", record.get("usage_source").asText(), record.toString());
            assertEquals(List.of("observer_error"), flags(record), record.toString());
            String metrics = gateway.get("/metrics", TestGateway.ADMIN_KEY).body();
            assertEquals(1.0, MetricsEndToEndTest.value(metrics, "tokenwise_observer_errors_total{provider=\"hostile\"}"));
        }
    }

    @Test
    void relaysAHugeBodyWholeAndBooksItOnce() throws Exception {
        String huge = COMPLETION.replace("\"usage\"", "\"pad\":\"" + "x".repeat(20 * 1024 * 1024) + "\",\"usage\"");
        byte[] answer = json200(huge, "keep-alive").getBytes(UTF_8);
        try (FakeUpstream upstream = new FakeUpstream(c -> {
                    c.readRequest();
                    c.write(answer);
                    c.awaitClose();
                });
             TestGateway gateway = gatewayFor(upstream.port(), "normal");
             RawClient client = new RawClient(gateway.app.port())) {
            client.send(RawClient.post("/v1/chat/completions", CHAT, ""));
            RawClient.Head head = client.readHead();
            assertEquals(200, head.status());
            assertEquals(huge.length(), client.readBody(head).length);
            JsonNode record = bookedOnce(gateway, head.header("x-request-id"));
            assertEquals("ok", record.get("status").asText(), record.toString());
            assertTrue(record.get("input_tokens").asLong() > 0, record.toString());
        }
    }

    // ---------------------------------------------------------------- helpers

    /** The number of the request just read on {@code c}, over all connections (1 for the first). */
    private static int upstream(FakeUpstream.Connection c) {
        return c.requestNumber;
    }

    private static TestGateway gatewayFor(int upstreamPort, String sync) throws InterruptedException {
        return TestGateway.fromYaml(yaml(upstreamPort, sync, 5_000));
    }

    private static String yaml(int upstreamPort, String sync, int readTimeoutMillis) {
        return """
                server: {host: 127.0.0.1, port: 0, max_request_bytes: 65536, max_header_bytes: 8192}
                admin: {key: %s}
                storage: {path: %s, sync: %s}
                pricing: {catalog: ../config/prices.yaml}
                providers:
                  hostile: {type: openai, base_url: "http://127.0.0.1:%d/v1", api_key: %s, read_timeout_ms: %d,
                            connect_timeout_ms: 2000, max_retries: 2}
                models:
                  - {name: gpt-4o-mini, provider: hostile}
                %s
                """.formatted(TestGateway.ADMIN_KEY, TestGateway.freshLedgerPath(), sync, upstreamPort, API_KEY,
                readTimeoutMillis, TestGateway.DEFAULT_TEAMS);
    }

    /**
     * The call's record through the requests API (which waits for a call in flight, here at most 5 s), after
     * checking that the call was booked exactly once, its reservation released and nothing is left in flight.
     */
    /** A keep-alive upstream answering its first request with {@code first} and every later one with a sound completion. */
    private static FakeUpstream answeringFirstWith(String first) throws Exception {
        return new FakeUpstream(c -> {
            while (c.readRequest() != null) {
                c.write(json200(upstream(c) == 1 ? first : COMPLETION, "keep-alive"));
            }
        });
    }

    static JsonNode bookedOnce(TestGateway gateway, String requestId) throws Exception {
        assertNotNull(requestId, "the answer names its call");
        HttpResponse<String> lookup = gateway.http.send(HttpRequest.newBuilder(gateway.uri("/api/v1/requests/" + requestId))
                .timeout(Duration.ofSeconds(5)).header("Authorization", "Bearer " + TestGateway.ADMIN_KEY).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, lookup.statusCode(), lookup.body());
        gateway.awaitSinks();
        List<UsageRecord> booked = new ArrayList<>();
        for (UsageRecord r : gateway.sunk) {
            if (r.id().equals(requestId)) {
                booked.add(r);
            }
        }
        assertEquals(1, booked.size(), "booked once: " + booked);
        assertEquals(0, gateway.app.budgets().team("demo").snapshot(System.currentTimeMillis()).reservedNanos(),
                "the reservation was released");
        assertEquals(0, gateway.app.accounting().inFlightCount());
        JsonNode health = TestGateway.json(gateway.get("/healthz", TestGateway.ADMIN_KEY).body());
        assertEquals(0, health.get("calls_in_flight").asInt(), health.toString());
        return TestGateway.json(lookup.body());
    }

    static List<String> flags(JsonNode record) {
        List<String> flags = new ArrayList<>();
        record.get("flags").forEach(f -> flags.add(f.asText()));
        return flags;
    }

    /** What the record's tokens cost at gpt-4o-mini's shipped prices ($0.15 and $0.60 per million), rounded half up. */
    static long localCostNanos(JsonNode record) {
        long nanoMtok = record.get("input_tokens").asLong() * 150_000_000L + record.get("output_tokens").asLong() * 600_000_000L;
        return (nanoMtok + 500_000) / 1_000_000;
    }

    static byte[] gzip(String text) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(text.getBytes(UTF_8));
        }
        return out.toByteArray();
    }

    static String gunzip(byte[] bytes) throws IOException {
        try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(bytes))) {
            return new String(in.readAllBytes(), UTF_8);
        }
    }
}
