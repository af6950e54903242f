package dev.tokenwise.telemetry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenwise.core.model.CallStatus;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.TokenUsage;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.spi.AdmissionStage;
import io.opentelemetry.sdk.common.Clock;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.common.InstrumentationScopeInfo;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class SpanExportQueueTest {

    /** An exporter that keeps the size of each export and answers as told. */
    private static final class Exporter implements SpanExporter {
        final List<Integer> exports = new CopyOnWriteArrayList<>();
        final boolean succeed;

        Exporter(boolean succeed) {
            this.succeed = succeed;
        }

        @Override
        public CompletableResultCode export(Collection<SpanData> spans) {
            exports.add(spans.size());
            return succeed ? CompletableResultCode.ofSuccess() : CompletableResultCode.ofFailure();
        }

        @Override
        public CompletableResultCode flush() {
            return CompletableResultCode.ofSuccess();
        }

        @Override
        public CompletableResultCode shutdown() {
            return CompletableResultCode.ofSuccess();
        }
    }

    private static SpanExportQueue queue(Exporter exporter, int queueSpans, int batchSpans, long delayMillis) {
        return new SpanExportQueue(exporter, span -> CallSpanData.of(span, Map.of(), Resource.empty(),
                InstrumentationScopeInfo.create("test")), queueSpans, batchSpans,
                TimeUnit.MILLISECONDS.toNanos(delayMillis), TimeUnit.SECONDS.toNanos(5));
    }

    private static void call(SpanExportQueue queue) {
        AdmissionStage.Lease lease = new CallSpanStage(queue, Clock.getDefault(), 1.0).admit(new AdmissionStage.Call(
                "req_1", "demo", "k1", "gpt-4o-mini", Endpoint.CHAT_COMPLETIONS, 10, 20, System.nanoTime()));
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

    @Test
    void sendsASpanWithinTheScheduleDelayWithoutWaitingForAFullBatch() throws Exception {
        Exporter exporter = new Exporter(true);
        try (SpanExportQueue queue = queue(exporter, 100, 50, 50)) {
            long started = System.nanoTime();
            call(queue);
            await(queue, 1);
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
            assertEquals(List.of(1), exporter.exports);
            assertTrue(millis >= 40 && millis < 1_000, "exported after " + millis + " ms");
        }
    }

    @Test
    void sendsExportsOfAtMostABatchAndWhatIsLeftAtClose() throws Exception {
        Exporter exporter = new Exporter(true);
        SpanExportQueue queue = queue(exporter, 100, 10, 60_000);
        for (int i = 0; i < 25; i++) {
            call(queue);
        }
        await(queue, 20);
        queue.close();
        assertEquals(25, queue.exported());
        assertEquals(List.of(10, 10, 5), exporter.exports);
        assertEquals(0, queue.dropped());
    }

    @Test
    void countsTheSpansOfExportsTheEndpointRefused() throws Exception {
        Exporter exporter = new Exporter(false);
        try (SpanExportQueue queue = queue(exporter, 100, 3, 10)) {
            for (int i = 0; i < 7; i++) {
                call(queue);
            }
            await(queue, 7);
            assertEquals(7, queue.failed());
            assertEquals(0, queue.exported());
        }
    }
}
