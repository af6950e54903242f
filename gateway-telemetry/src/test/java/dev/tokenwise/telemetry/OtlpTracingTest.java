package dev.tokenwise.telemetry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenwise.core.config.TelemetryConfig;
import dev.tokenwise.core.model.CallStatus;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.TokenUsage;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.spi.AdmissionStage;
import dev.tokenwise.core.testing.LeakDetectingExtension;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(LeakDetectingExtension.class)
class OtlpTracingTest {

    private static UsageRecord record(String id, long latencyMicros) {
        return UsageRecord.builder().id(id).team("demo").keyId("k1").model("gpt-4o-mini").provider("openai")
                .endpoint(Endpoint.CHAT_COMPLETIONS).status(CallStatus.OK).httpStatus(200)
                .usage(TokenUsage.of(10, 20)).costNanos(1_500).createdAtMillis(System.currentTimeMillis())
                .latencyMicros(latencyMicros).build();
    }

    /** An OTLP endpoint that takes connections and then never answers: the worst a collector can do. */
    private static final class HangingEndpoint implements AutoCloseable {
        final ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        final List<Socket> held = new CopyOnWriteArrayList<>();
        final Thread acceptor = new Thread(() -> {
            while (!server.isClosed()) {
                try {
                    held.add(server.accept());
                } catch (IOException closed) {
                    return;
                }
            }
        }, "hanging-otlp");

        HangingEndpoint() throws IOException {
            acceptor.setDaemon(true);
            acceptor.start();
        }

        String url() {
            return "http://127.0.0.1:" + server.getLocalPort() + "/v1/traces";
        }

        @Override
        public void close() throws IOException {
            server.close();
            for (Socket s : held) {
                s.close();
            }
        }
    }

    @Test
    void spansThatDoNotFitTheQueueOfAHangingEndpointAreDroppedAndCountedWithoutDelayingTheirCalls()
            throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (HangingEndpoint endpoint = new HangingEndpoint()) {
            OtlpTracing tracing = OtlpTracing.start(new TelemetryConfig(endpoint.url(), "test", 1.0, Map.of()),
                    Map.of("openai", "openai"), registry, 4, Duration.ofMillis(10));
            try {
                long started = System.nanoTime();
                for (int i = 0; i < 200; i++) {
                    AdmissionStage.Lease lease = tracing.stage().admit(new AdmissionStage.Call("req_" + i, "demo",
                            "k1", "gpt-4o-mini", Endpoint.CHAT_COMPLETIONS, 10, 20, System.nanoTime()));
                    lease.decorateUpstream(new DefaultHttpHeaders());
                    lease.settle(record("req_" + i, 1_000));
                }
                long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
                assertTrue(elapsedMillis < 2_000, "200 spans took " + elapsedMillis + " ms to hand over");
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (tracing.droppedSpans() == 0 && System.nanoTime() < deadline) {
                    Thread.sleep(10);
                }
                // At most the queue (4) and one batch in flight (4) can be waiting for the endpoint; the rest drop.
                assertTrue(tracing.droppedSpans() >= 200 - 8, "dropped: " + tracing.droppedSpans());
                assertEquals(tracing.droppedSpans(),
                        registry.get("tokenwise.otel.spans.dropped").functionCounter().count());
            } finally {
                long closing = System.nanoTime();
                tracing.close();
                assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - closing) < 7_000, "close took too long");
            }
        }
    }

    @Test
    void namesTheGenAiOperationOfEachEndpoint() {
        assertEquals("chat", CallSpanStage.operation(Endpoint.CHAT_COMPLETIONS));
        assertEquals("chat", CallSpanStage.operation(Endpoint.MESSAGES));
        assertEquals("embeddings", CallSpanStage.operation(Endpoint.EMBEDDINGS));
        assertEquals("generate_content", CallSpanStage.operation(Endpoint.GEMINI_STREAM_GENERATE));
    }
}
