package dev.tokenwise.telemetry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenwise.core.model.CallStatus;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.TokenUsage;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.spi.AdmissionStage;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class SpanExportQueueTest {
    private final OtlpReceiver receiver;

    SpanExportQueueTest() throws Exception {
        receiver = new OtlpReceiver();
    }

    @AfterEach
    void close() {
        receiver.close();
    }

    private SpanExportQueue queue(int queueSpans, int batchSpans, long delayMillis) {
        return new SpanExportQueue(new OtlpSpanEncoder(Map.of("service.name", "test"), Map.of()),
                new OtlpHttpSender(receiver.url(), Map.of("x-api-key", "k"), Duration.ofSeconds(10),
                        Duration.ofSeconds(5)), queueSpans, batchSpans, TimeUnit.MILLISECONDS.toNanos(delayMillis));
    }

    private static void call(SpanExportQueue queue) {
        call(queue, Endpoint.CHAT_COMPLETIONS);
    }

    private static void call(SpanExportQueue queue, Endpoint endpoint) {
        AdmissionStage.Lease lease = new CallSpanStage(queue, Clock.systemUTC(), 1.0).admit(new AdmissionStage.Call(
                "req_1", "demo", "k1", "gpt-4o-mini", endpoint, 10, 20, System.nanoTime()));
        lease.settle(UsageRecord.builder().id("req_1").team("demo").keyId("k1").model("gpt-4o-mini")
                .provider("openai").endpoint(Endpoint.CHAT_COMPLETIONS).status(CallStatus.OK).httpStatus(200)
                .usage(TokenUsage.of(1, 2)).costNanos(3).createdAtMillis(System.currentTimeMillis())
                .latencyMicros(100).build());
    }

    private static void await(SpanExportQueue queue, long spans) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (queue.exported() + queue.failed() < spans && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
    }

    /** The spans of each export the receiver took. */
    private List<Integer> exports() throws Exception {
        List<Integer> sizes = new ArrayList<>();
        for (ExportTraceServiceRequest r : receiver.requests()) {
            sizes.add(r.getResourceSpans(0).getScopeSpans(0).getSpansCount());
        }
        return sizes;
    }

    @Test
    void sendsASpanWithinTheScheduleDelayWithoutWaitingForAFullBatch() throws Exception {
        try (SpanExportQueue queue = queue(100, 50, 50)) {
            long started = System.nanoTime();
            call(queue);
            await(queue, 1);
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
            assertEquals(List.of(1), exports());
            assertEquals(List.of("application/x-protobuf"), receiver.contentTypes);
            assertEquals(List.of("k"), receiver.apiKeys, "the configured headers");
            assertTrue(millis >= 40 && millis < 1_000, "exported after " + millis + " ms");
        }
    }

    @Test
    void sendsExportsOfAtMostABatchAndWhatIsLeftAtClose() throws Exception {
        SpanExportQueue queue = queue(100, 10, 60_000);
        for (int i = 0; i < 25; i++) {
            call(queue);
        }
        await(queue, 20);
        queue.close();
        assertEquals(25, queue.exported());
        assertEquals(List.of(10, 10, 5), exports());
        assertEquals(0, queue.dropped());
    }

    @Test
    void countsTheSpansOfExportsTheEndpointRefused() throws Exception {
        receiver.status = 400;
        try (SpanExportQueue queue = queue(100, 3, 10)) {
            for (int i = 0; i < 7; i++) {
                call(queue);
            }
            await(queue, 7);
            assertEquals(7, queue.failed());
            assertEquals(0, queue.exported());
        }
    }

    @Test
    void retriesAnExportTheEndpointCouldNotTakeYet() throws Exception {
        receiver.status = 503;
        try (SpanExportQueue queue = queue(100, 10, 10)) {
            call(queue);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (receiver.bodies.isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            receiver.status = 200;
            await(queue, 1);
            assertEquals(1, queue.exported());
            assertEquals(0, queue.failed());
            assertEquals(List.of(1, 1), exports()); // the one refused, then the one taken
        }
    }

    @Test
    void aSpanThatCannotBeEncodedIsDroppedAndTheOthersOfItsBatchAreExportedWhole() throws Exception {
        SpanExportQueue queue = queue(100, 10, 60_000);
        call(queue);
        call(queue, null); // no endpoint: the encoder fails halfway through this span
        call(queue);
        queue.close();
        assertEquals(1, queue.dropped());
        assertEquals(2, queue.exported());
        assertEquals(2, receiver.spans().size());
        assertEquals("chat gpt-4o-mini", receiver.spans().get(1).getName());
    }
}
