package dev.tokenwise.telemetry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenwise.core.model.CallStatus;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.TokenUsage;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.spi.AdmissionStage;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import io.opentelemetry.api.trace.StatusCode;
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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class CallSpanStageTest {
    private static final String CLIENT_TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    private static final String UNSAMPLED_TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";

    private final List<SpanData> exported = new CopyOnWriteArrayList<>();
    private final SpanExportQueue queue = new SpanExportQueue(new SpanExporter() {
        @Override
        public CompletableResultCode export(Collection<SpanData> spans) {
            exported.addAll(spans);
            return CompletableResultCode.ofSuccess();
        }

        @Override
        public CompletableResultCode flush() {
            return CompletableResultCode.ofSuccess();
        }

        @Override
        public CompletableResultCode shutdown() {
            return CompletableResultCode.ofSuccess();
        }
    }, span -> CallSpanData.of(span, Map.of("openai", "openai"), Resource.empty(),
            InstrumentationScopeInfo.create("test")), 64, 64, TimeUnit.MILLISECONDS.toNanos(5),
            TimeUnit.SECONDS.toNanos(5));

    @AfterEach
    void close() {
        queue.close();
    }

    @Test
    void exportsTheOutputCapTheGatewayReadAndNoneWhenTheRequestNamesNone() throws Exception {
        SpanData capped = callWith(new CallSpanStage(queue, Clock.getDefault(), 1.0), null, 77, null);
        assertEquals(77L, capped.getAttributes().get(CallSpanData.MAX_TOKENS));
        SpanData uncapped = callWith(new CallSpanStage(queue, Clock.getDefault(), 1.0), null, 0, null);
        assertNull(uncapped.getAttributes().get(CallSpanData.MAX_TOKENS));
    }

    @Test
    void aCallWithoutTraceparentIsARootSpanAndOneWithItContinuesTheClientsTrace() throws Exception {
        CallSpanStage stage = new CallSpanStage(queue, Clock.getDefault(), 1.0);
        HttpHeaders upstream = new DefaultHttpHeaders();
        SpanData root = callWith(stage, new DefaultHttpHeaders().add("x-request-id", "r"), 0, upstream);
        assertFalse(root.getParentSpanContext().isValid());
        assertEquals("00-" + root.getTraceId() + "-" + root.getSpanId() + "-01", upstream.get("traceparent"));
        SpanData child = callWith(stage, new DefaultHttpHeaders().add("TraceParent", CLIENT_TRACEPARENT), 0, upstream);
        assertEquals("0af7651916cd43dd8448eb211c80319c", child.getTraceId());
        assertEquals("b7ad6b7169203331", child.getParentSpanId());
        assertEquals("00-0af7651916cd43dd8448eb211c80319c-" + child.getSpanId() + "-01", upstream.get("traceparent"));
    }

    @Test
    void aSpanCarriesTheRecordsAttributesAndItsStatus() throws Exception {
        SpanData span = callWith(new CallSpanStage(queue, Clock.getDefault(), 1.0), null, 0, null);
        assertEquals("chat", span.getAttributes().get(CallSpanData.OPERATION));
        assertEquals("openai", span.getAttributes().get(CallSpanData.PROVIDER));
        assertEquals(12L, span.getAttributes().get(CallSpanData.INPUT_TOKENS));
        assertEquals(48L, span.getAttributes().get(CallSpanData.OUTPUT_TOKENS));
        assertEquals(30_600 / 1e9, span.getAttributes().get(CallSpanData.COST_USD));
        assertEquals("ok", span.getAttributes().get(CallSpanData.STATUS));
        assertEquals(1_000_000, span.getEndEpochNanos() - span.getStartEpochNanos());
        assertEquals(StatusCode.UNSET, span.getStatus().getStatusCode());
        assertEquals(span.getAttributes().size(), span.getAttributes().asMap().size());
    }

    @Test
    void aCallThatNeverWentUpstreamIsAnErrorSpan() throws Exception {
        CallSpanStage stage = new CallSpanStage(queue, Clock.getDefault(), 1.0);
        stage.admit(call(null, 0)).abort();
        SpanData span = await(1).get(0);
        assertEquals(StatusCode.ERROR, span.getStatus().getStatusCode());
        assertEquals("not_forwarded", span.getAttributes().get(CallSpanData.ERROR_TYPE));
    }

    @Test
    void followsAClientsUnsampledTraceExportingNothingAndSayingSoUpstream() throws Exception {
        CallSpanStage stage = new CallSpanStage(queue, Clock.getDefault(), 1.0);
        HttpHeaders upstream = new DefaultHttpHeaders();
        AdmissionStage.Lease lease = stage.admit(call(new DefaultHttpHeaders().add("traceparent",
                UNSAMPLED_TRACEPARENT), 0));
        lease.decorateUpstream(upstream);
        lease.settle(record());
        assertTrue(upstream.get("traceparent").matches("00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-00"),
                upstream.get("traceparent"));
        Thread.sleep(100); // twenty schedule delays
        assertEquals(List.of(), exported);
    }

    @Test
    void atSampleRatioZeroARootCallIsNotExportedYetItsTraceGoesUpstream() throws Exception {
        CallSpanStage stage = new CallSpanStage(queue, Clock.getDefault(), 0.0);
        HttpHeaders upstream = new DefaultHttpHeaders();
        for (int i = 0; i < 20; i++) {
            AdmissionStage.Lease lease = stage.admit(call(null, 0));
            lease.decorateUpstream(upstream);
            lease.settle(record());
            assertTrue(upstream.get("traceparent").matches("00-[0-9a-f]{32}-[0-9a-f]{16}-00"),
                    upstream.get("traceparent"));
        }
        Thread.sleep(100);
        assertEquals(List.of(), exported);
    }

    private static AdmissionStage.Call call(HttpHeaders headers, long maxOutputTokens) {
        return new AdmissionStage.Call("req_1", "demo", "k1", "gpt-4o-mini", Endpoint.CHAT_COMPLETIONS, 10, 20,
                System.nanoTime(), false, headers, null, maxOutputTokens);
    }

    private static UsageRecord record() {
        return UsageRecord.builder().id("req_1").team("demo").keyId("k1").model("gpt-4o-mini")
                .requestedModel("gpt-4o-mini").provider("openai").endpoint(Endpoint.CHAT_COMPLETIONS)
                .status(CallStatus.OK).httpStatus(200).usage(TokenUsage.of(12, 48)).costNanos(30_600)
                .createdAtMillis(System.currentTimeMillis()).latencyMicros(1_000).attempts(1).build();
    }

    private SpanData callWith(CallSpanStage stage, HttpHeaders headers, long maxOutputTokens, HttpHeaders upstream)
            throws InterruptedException {
        int before = exported.size();
        AdmissionStage.Lease lease = stage.admit(call(headers, maxOutputTokens));
        if (upstream != null) {
            lease.decorateUpstream(upstream);
        }
        lease.settle(record());
        SpanData span = await(before + 1).get(before);
        assertEquals("chat gpt-4o-mini", span.getName());
        return span;
    }

    private List<SpanData> await(int n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (exported.size() < n && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertTrue(exported.size() >= n, "exported " + exported.size() + " of " + n);
        return exported;
    }
}
