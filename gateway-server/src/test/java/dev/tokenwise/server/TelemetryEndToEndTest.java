package dev.tokenwise.server;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import com.sun.net.httpserver.HttpServer;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.testing.LeakDetectingExtension;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * One OpenTelemetry span per call, exported over OTLP/HTTP to a real receiver that decodes the protobuf: the GenAI
 * attributes, the client's trace continued, the gateway's span named upstream, nothing of the prompt or the answer,
 * and an endpoint that never answers costs the calls nothing.
 */
@ExtendWith(LeakDetectingExtension.class)
class TelemetryEndToEndTest {
    static final String TRACE_ID = "0af7651916cd43dd8448eb211c80319c";
    static final String CLIENT_SPAN_ID = "b7ad6b7169203331";
    static final String CLIENT_TRACEPARENT = "00-" + TRACE_ID + "-" + CLIENT_SPAN_ID + "-01";
    static final String PROMPT = "Say hello, in a friendly way.";
    static final String ANSWER = "Hello there, friend! How are you today?";

    /** An OTLP/HTTP receiver: takes {@code POST /v1/traces} and keeps each body as it came. */
    static final class OtlpReceiver implements AutoCloseable {
        final HttpServer server;
        final List<byte[]> bodies = new CopyOnWriteArrayList<>();

        OtlpReceiver() throws IOException {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
            server.createContext("/v1/traces", exchange -> {
                try (InputStream in = exchange.getRequestBody()) {
                    byte[] body = in.readAllBytes();
                    if ("POST".equals(exchange.getRequestMethod()) && "application/x-protobuf".equals(
                            exchange.getRequestHeaders().getFirst("Content-Type"))) {
                        bodies.add(body);
                        exchange.getResponseHeaders().add("Content-Type", "application/x-protobuf");
                        exchange.sendResponseHeaders(200, -1);
                    } else {
                        exchange.sendResponseHeaders(400, -1);
                    }
                } finally {
                    exchange.close();
                }
            });
            server.start();
        }

        String base() {
            return "http://127.0.0.1:" + server.getAddress().getPort();
        }

        /** Every span received so far, decoded. */
        List<Span> spans() throws IOException {
            List<Span> spans = new ArrayList<>();
            for (byte[] body : bodies) {
                for (ResourceSpans rs : ExportTraceServiceRequest.parseFrom(body).getResourceSpansList()) {
                    for (ScopeSpans ss : rs.getScopeSpansList()) {
                        spans.addAll(ss.getSpansList());
                    }
                }
            }
            return spans;
        }

        /** The spans received, once there are at least {@code n}, waiting up to 10 s. */
        List<Span> awaitSpans(int n) throws Exception {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (spans().size() < n && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            List<Span> spans = spans();
            assertTrue(spans.size() >= n, "expected " + n + " spans, got " + spans.size());
            return spans;
        }

        @Override
        public void close() {
            server.stop(0);
        }
    }

    WireMockServer upstream;
    OtlpReceiver receiver;
    TestGateway gateway;

    @BeforeEach
    void start() throws Exception {
        upstream = new WireMockServer(options().dynamicPort());
        upstream.start();
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody(BudgetEnforcementTest.COMPLETION)));
        receiver = new OtlpReceiver();
    }

    @AfterEach
    void stop() {
        if (gateway != null) {
            gateway.close();
        }
        receiver.close();
        upstream.stop();
    }

    private TestGateway gateway(String telemetry) throws InterruptedException {
        return TestGateway.start("""
                providers:
                  openai: {type: openai, base_url: "http://127.0.0.1:%d/v1", api_key: sk-upstream-secret}
                models:
                  - {name: gpt-4o-mini, provider: openai, price: {input_per_mtok: 0.15, output_per_mtok: 0.60}}
                %s
                """.formatted(upstream.port(), telemetry));
    }

    private TestGateway exporting() throws InterruptedException {
        return gateway("telemetry: {otlp_endpoint: \"" + receiver.base() + "\", service_name: gw-test}\ninstance_id: gw-7");
    }

    private HttpResponse<String> chat(String... headers) throws Exception {
        HttpResponse<String> r = gateway.post("/v1/chat/completions", "tw-test-key", BudgetEnforcementTest.CHAT,
                headers);
        assertEquals(200, r.statusCode(), r.body());
        return r;
    }

    private List<LoggedRequest> upstreamRequests() {
        return upstream.findAll(postRequestedFor(urlEqualTo("/v1/chat/completions")));
    }

    private static String hex(com.google.protobuf.ByteString bytes) {
        return HexFormat.of().formatHex(bytes.toByteArray());
    }

    private static Map<String, AnyValue> attributes(List<KeyValue> list) {
        Map<String, AnyValue> map = new java.util.HashMap<>();
        list.forEach(kv -> map.put(kv.getKey(), kv.getValue()));
        return map;
    }

    @Test
    void exportsOneSpanPerCallWithTheGenAiAttributesAndTheCallsRealTimes() throws Exception {
        gateway = exporting();
        HttpResponse<String> r = chat("X-Task-Id", "task-7");
        UsageRecord record = gateway.awaitRecord(x -> x.id().equals(r.headers().firstValue("x-request-id").get()));
        Span span = receiver.awaitSpans(1).get(0);

        assertEquals("chat gpt-4o-mini", span.getName());
        assertEquals(Span.SpanKind.SPAN_KIND_SERVER, span.getKind());
        Map<String, AnyValue> a = attributes(span.getAttributesList());
        assertEquals("chat", a.get("gen_ai.operation.name").getStringValue());
        assertEquals("openai", a.get("gen_ai.provider.name").getStringValue());
        assertEquals("gpt-4o-mini", a.get("gen_ai.request.model").getStringValue());
        assertEquals("gpt-4o-mini", a.get("gen_ai.response.model").getStringValue());
        assertEquals(15, a.get("gen_ai.usage.input_tokens").getIntValue());
        assertEquals(10, a.get("gen_ai.usage.output_tokens").getIntValue());
        assertEquals(10, a.get("gen_ai.request.max_tokens").getIntValue());
        assertEquals("length", a.get("gen_ai.response.finish_reasons").getArrayValue().getValues(0).getStringValue());
        assertEquals("demo", a.get("tokenwise.team").getStringValue());
        assertEquals(BudgetEnforcementTest.CALL_NANOS / 1e9, a.get("tokenwise.cost_usd").getDoubleValue(), 1e-15);
        assertEquals("task-7", a.get("tokenwise.task_id").getStringValue());
        assertEquals(1, a.get("tokenwise.attempts").getIntValue());
        assertEquals(record.id(), a.get("tokenwise.request_id").getStringValue());
        assertEquals(200, a.get("http.response.status_code").getIntValue());
        assertEquals(io.opentelemetry.proto.trace.v1.Status.StatusCode.STATUS_CODE_UNSET, span.getStatus().getCode());
        var resource = attributes(ExportTraceServiceRequest.parseFrom(receiver.bodies.get(0))
                .getResourceSpans(0).getResource().getAttributesList());
        assertEquals("gw-test", resource.get("service.name").getStringValue());
        assertEquals("gw-7", resource.get("service.instance.id").getStringValue());

        // The span lasts exactly as the record says, from the request's arrival.
        assertEquals(record.latencyMicros() * 1000, span.getEndTimeUnixNano() - span.getStartTimeUnixNano());
        long startMillis = span.getStartTimeUnixNano() / 1_000_000;
        assertTrue(Math.abs(startMillis - record.createdAtMillis()) < 100,
                "span starts at " + startMillis + ", the call at " + record.createdAtMillis());
    }

    @Test
    void neverExportsThePromptTheAnswerOrAnyKey() throws Exception {
        gateway = exporting();
        chat();
        receiver.awaitSpans(1);
        for (byte[] body : receiver.bodies) {
            String raw = new String(body, StandardCharsets.ISO_8859_1);
            for (String secret : List.of(PROMPT, "friendly way", ANSWER, "How are you", "tw-test-key",
                    "sk-upstream-secret")) {
                assertFalse(raw.contains(secret), "exported " + secret);
            }
        }
    }

    @Test
    void continuesTheClientsTraceAndNamesTheGatewaysSpanAsTheProviderCallsParent() throws Exception {
        gateway = exporting();
        chat("traceparent", CLIENT_TRACEPARENT);
        Span span = receiver.awaitSpans(1).get(0);
        assertEquals(TRACE_ID, hex(span.getTraceId()));
        assertEquals(CLIENT_SPAN_ID, hex(span.getParentSpanId()));
        String gatewaySpanId = hex(span.getSpanId());
        assertNotEquals(CLIENT_SPAN_ID, gatewaySpanId);
        assertEquals("00-" + TRACE_ID + "-" + gatewaySpanId + "-01",
                upstreamRequests().get(0).getHeader("traceparent"));
    }

    @Test
    void startsATraceForACallThatCameWithoutOneAndPassesItUpstream() throws Exception {
        gateway = exporting();
        chat();
        Span span = receiver.awaitSpans(1).get(0);
        assertTrue(span.getParentSpanId().isEmpty());
        // Sampled; the gateway's trace ids are random, which W3C level 2 says with flag 02.
        String traceparent = upstreamRequests().get(0).getHeader("traceparent");
        assertTrue(traceparent.matches("00-" + hex(span.getTraceId()) + "-" + hex(span.getSpanId()) + "-0[13]"),
                traceparent);
    }

    @Test
    void aMalformedTraceparentStartsANewTraceAndIsNotPassedUpstream() throws Exception {
        gateway = exporting();
        chat("traceparent", "00-not-a-trace-01");
        Span span = receiver.awaitSpans(1).get(0);
        assertTrue(span.getParentSpanId().isEmpty());
        String upstreamTraceparent = upstreamRequests().get(0).getHeader("traceparent");
        assertTrue(upstreamTraceparent.startsWith("00-" + hex(span.getTraceId()) + "-" + hex(span.getSpanId()) + "-"),
                upstreamTraceparent);
    }

    @Test
    void aCallRefusedAtAdmissionHasAnErrorSpanAndNothingGoesUpstream() throws Exception {
        gateway = TestGateway.start("""
                providers:
                  openai: {type: openai, base_url: "http://127.0.0.1:%d/v1", api_key: sk-upstream-secret}
                models:
                  - {name: gpt-4o-mini, provider: openai, price: {input_per_mtok: 0.15, output_per_mtok: 0.60},
                     rate_limits: {requests_per_minute: 1}}
                telemetry: {otlp_endpoint: "%s"}
                """.formatted(upstream.port(), receiver.base()), TestGateway.DEFAULT_TEAMS);
        chat();
        HttpResponse<String> refused = gateway.post("/v1/chat/completions", "tw-test-key", BudgetEnforcementTest.CHAT,
                "traceparent", CLIENT_TRACEPARENT);
        assertEquals(429, refused.statusCode(), refused.body());
        Span span = receiver.awaitSpans(2).stream().filter(s -> hex(s.getTraceId()).equals(TRACE_ID)).findFirst()
                .orElseThrow();
        assertEquals(io.opentelemetry.proto.trace.v1.Status.StatusCode.STATUS_CODE_ERROR, span.getStatus().getCode());
        assertEquals("not_forwarded", attributes(span.getAttributesList()).get("error.type").getStringValue());
        assertEquals(1, upstreamRequests().size());
    }

    @Test
    void withoutTelemetryTheClientsTraceparentGoesUpstreamUntouched() throws Exception {
        gateway = gateway("");
        chat("traceparent", CLIENT_TRACEPARENT);
        assertEquals(CLIENT_TRACEPARENT, upstreamRequests().get(0).getHeader("traceparent"));
        Thread.sleep(1_500); // longer than the export's schedule, were it on
        assertEquals(0, receiver.bodies.size());
    }

    @Test
    void anOtlpEndpointThatNeverAnswersNeitherSlowsNorFailsCalls() throws Exception {
        try (ServerSocket hanging = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            List<Socket> held = new CopyOnWriteArrayList<>();
            Thread acceptor = new Thread(() -> {
                while (!hanging.isClosed()) {
                    try {
                        held.add(hanging.accept());
                    } catch (IOException closed) {
                        return;
                    }
                }
            });
            acceptor.setDaemon(true);
            acceptor.start();
            gateway = gateway("telemetry: {otlp_endpoint: \"http://127.0.0.1:" + hanging.getLocalPort() + "\"}");
            try {
                for (int i = 0; i < 30; i++) {
                    long started = System.nanoTime();
                    chat("traceparent", CLIENT_TRACEPARENT);
                    long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
                    assertTrue(millis < 1_000, "call " + i + " took " + millis + " ms");
                    if (i == 10) {
                        Thread.sleep(1_200); // a batch is now stuck on the endpoint
                    }
                }
                assertTrue(held.size() >= 1, "the exporter never reached the endpoint");
                HttpResponse<String> metrics = gateway.get("/metrics", TestGateway.ADMIN_KEY);
                assertTrue(metrics.body().contains("tokenwise_otel_spans_dropped_total"), metrics.body());
                assertTrue(metrics.body().contains("tokenwise_otel_spans_failed_total"), metrics.body());
            } finally {
                long closing = System.nanoTime();
                gateway.close();
                gateway = null;
                assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - closing) < 8_000, "shutdown waited");
                for (Socket s : held) {
                    s.close();
                }
            }
        }
    }
}
