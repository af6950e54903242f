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
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.Span;
import io.opentelemetry.proto.trace.v1.Status;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class CallSpanStageTest {
    private static final String CLIENT_TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    private static final String UNSAMPLED_TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";

    private final OtlpReceiver receiver;
    private final SpanExportQueue queue;

    CallSpanStageTest() throws Exception {
        receiver = new OtlpReceiver();
        queue = new SpanExportQueue(new OtlpSpanEncoder(Map.of("service.name", "test"), Map.of("openai", "openai")),
                new OtlpHttpSender(receiver.url(), Map.of(), Duration.ofSeconds(10), Duration.ofSeconds(5)), 64, 64,
                TimeUnit.MILLISECONDS.toNanos(5));
    }

    @AfterEach
    void close() {
        queue.close();
        receiver.close();
    }

    @Test
    void exportsTheOutputCapTheGatewayReadAndNoneWhenTheRequestNamesNone() throws Exception {
        Span capped = callWith(new CallSpanStage(queue, Clock.systemUTC(), 1.0), null, 77, null);
        assertEquals(77L, attributes(capped).get("gen_ai.request.max_tokens").getIntValue());
        Span uncapped = callWith(new CallSpanStage(queue, Clock.systemUTC(), 1.0), null, 0, null);
        assertNull(attributes(uncapped).get("gen_ai.request.max_tokens"));
    }

    @Test
    void aCallWithoutTraceparentIsARootSpanAndOneWithItContinuesTheClientsTrace() throws Exception {
        CallSpanStage stage = new CallSpanStage(queue, Clock.systemUTC(), 1.0);
        HttpHeaders upstream = new DefaultHttpHeaders();
        Span root = callWith(stage, new DefaultHttpHeaders().add("x-request-id", "r"), 0, upstream);
        assertTrue(root.getParentSpanId().isEmpty());
        assertEquals("00-" + hex(root.getTraceId()) + "-" + hex(root.getSpanId()) + "-01", upstream.get("traceparent"));
        Span child = callWith(stage, new DefaultHttpHeaders().add("TraceParent", CLIENT_TRACEPARENT), 0, upstream);
        assertEquals("0af7651916cd43dd8448eb211c80319c", hex(child.getTraceId()));
        assertEquals("b7ad6b7169203331", hex(child.getParentSpanId()));
        assertEquals("00-0af7651916cd43dd8448eb211c80319c-" + hex(child.getSpanId()) + "-01",
                upstream.get("traceparent"));
    }

    @Test
    void aSpanCarriesTheRecordsAttributesAndItsStatus() throws Exception {
        Span span = callWith(new CallSpanStage(queue, Clock.systemUTC(), 1.0), null, 0, null);
        Map<String, AnyValue> a = attributes(span);
        assertEquals("chat", a.get("gen_ai.operation.name").getStringValue());
        assertEquals("openai", a.get("gen_ai.provider.name").getStringValue());
        assertEquals(12L, a.get("gen_ai.usage.input_tokens").getIntValue());
        assertEquals(48L, a.get("gen_ai.usage.output_tokens").getIntValue());
        assertEquals(30_600 / 1e9, a.get("tokenwise.cost_usd").getDoubleValue());
        assertEquals("ok", a.get("tokenwise.status").getStringValue());
        assertEquals(1_000_000, span.getEndTimeUnixNano() - span.getStartTimeUnixNano());
        assertEquals(Status.StatusCode.STATUS_CODE_UNSET, span.getStatus().getCode());
        assertEquals(span.getAttributesCount(), a.size(), "each attribute once");
    }

    @Test
    void aCallThatNeverWentUpstreamIsAnErrorSpan() throws Exception {
        CallSpanStage stage = new CallSpanStage(queue, Clock.systemUTC(), 1.0);
        stage.admit(call(null, 0)).abort();
        Span span = receiver.awaitSpans(1).get(0);
        assertEquals(Status.StatusCode.STATUS_CODE_ERROR, span.getStatus().getCode());
        assertEquals("not_forwarded", attributes(span).get("error.type").getStringValue());
    }

    @Test
    void followsAClientsUnsampledTraceExportingNothingAndSayingSoUpstream() throws Exception {
        CallSpanStage stage = new CallSpanStage(queue, Clock.systemUTC(), 1.0);
        HttpHeaders upstream = new DefaultHttpHeaders();
        AdmissionStage.Lease lease = stage.admit(call(new DefaultHttpHeaders().add("traceparent",
                UNSAMPLED_TRACEPARENT), 0));
        lease.decorateUpstream(upstream);
        lease.settle(record());
        assertTrue(upstream.get("traceparent").matches("00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-00"),
                upstream.get("traceparent"));
        Thread.sleep(100); // twenty schedule delays
        assertEquals(List.of(), receiver.spans());
    }

    @Test
    void atSampleRatioZeroARootCallIsNotExportedYetItsTraceGoesUpstream() throws Exception {
        CallSpanStage stage = new CallSpanStage(queue, Clock.systemUTC(), 0.0);
        HttpHeaders upstream = new DefaultHttpHeaders();
        for (int i = 0; i < 20; i++) {
            AdmissionStage.Lease lease = stage.admit(call(null, 0));
            lease.decorateUpstream(upstream);
            lease.settle(record());
            assertTrue(upstream.get("traceparent").matches("00-[0-9a-f]{32}-[0-9a-f]{16}-00"),
                    upstream.get("traceparent"));
        }
        Thread.sleep(100);
        assertEquals(List.of(), receiver.spans());
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

    private Span callWith(CallSpanStage stage, HttpHeaders headers, long maxOutputTokens, HttpHeaders upstream)
            throws Exception {
        int before = receiver.spans().size();
        AdmissionStage.Lease lease = stage.admit(call(headers, maxOutputTokens));
        if (upstream != null) {
            lease.decorateUpstream(upstream);
        }
        lease.settle(record());
        Span span = receiver.awaitSpans(before + 1).get(before);
        assertEquals("chat gpt-4o-mini", span.getName());
        return span;
    }

    private static Map<String, AnyValue> attributes(Span span) {
        Map<String, AnyValue> map = new HashMap<>();
        for (KeyValue kv : span.getAttributesList()) {
            map.put(kv.getKey(), kv.getValue());
        }
        return map;
    }

    private static String hex(com.google.protobuf.ByteString bytes) {
        return HexFormat.of().formatHex(bytes.toByteArray());
    }
}
