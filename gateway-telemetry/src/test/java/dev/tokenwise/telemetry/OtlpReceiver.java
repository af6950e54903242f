package dev.tokenwise.telemetry;

import com.sun.net.httpserver.HttpServer;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * An OTLP/HTTP receiver for the tests: takes {@code POST /v1/traces} of {@code application/x-protobuf}, keeps each
 * body as it came and answers {@link #status} (200 unless told otherwise); decodes what it kept with the
 * opentelemetry-proto classes.
 */
final class OtlpReceiver implements AutoCloseable {
    final HttpServer server;
    final List<byte[]> bodies = new CopyOnWriteArrayList<>();
    final List<String> contentTypes = new CopyOnWriteArrayList<>();
    /** The {@code x-api-key} header of each export, or {@code null}. */
    final List<String> apiKeys = new CopyOnWriteArrayList<>();
    volatile int status = 200;

    OtlpReceiver() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/v1/traces", exchange -> {
            try (InputStream in = exchange.getRequestBody()) {
                byte[] body = in.readAllBytes();
                if ("POST".equals(exchange.getRequestMethod())) {
                    bodies.add(body);
                    contentTypes.add(exchange.getRequestHeaders().getFirst("Content-Type"));
                    apiKeys.add(String.valueOf(exchange.getRequestHeaders().getFirst("x-api-key")));
                }
                exchange.sendResponseHeaders(status, -1);
            } finally {
                exchange.close();
            }
        });
        server.start();
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/v1/traces";
    }

    /** Each export received so far, decoded. */
    List<ExportTraceServiceRequest> requests() throws IOException {
        List<ExportTraceServiceRequest> requests = new ArrayList<>();
        for (byte[] body : bodies) {
            requests.add(ExportTraceServiceRequest.parseFrom(body));
        }
        return requests;
    }

    /** Every span received so far, decoded. */
    List<Span> spans() throws IOException {
        List<Span> spans = new ArrayList<>();
        for (ExportTraceServiceRequest request : requests()) {
            for (ResourceSpans rs : request.getResourceSpansList()) {
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
            Thread.sleep(5);
        }
        List<Span> spans = spans();
        if (spans.size() < n) {
            throw new AssertionError("expected " + n + " spans, got " + spans.size());
        }
        return spans;
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
