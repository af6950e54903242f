package dev.tokenwise.telemetry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.tokenwise.core.model.CallStatus;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.TokenUsage;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.spi.AdmissionStage;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import io.opentelemetry.sdk.common.Clock;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class CallSpanStageTest {
    private static final String CLIENT_TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    private final List<SpanData> ended = new CopyOnWriteArrayList<>();
    private final SdkTracerProvider provider = SdkTracerProvider.builder()
            .addSpanProcessor(SimpleSpanProcessor.create(new SpanExporter() {
                @Override
                public CompletableResultCode export(Collection<SpanData> spans) {
                    ended.addAll(spans);
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
            }))
            .build();
    private final CallSpanStage stage = new CallSpanStage(provider.get("test"), Clock.getDefault(), Map.of());

    @AfterEach
    void close() {
        provider.close();
    }

    @Test
    void exportsTheOutputCapTheGatewayReadAndNoneWhenTheRequestNamesNone() {
        SpanData capped = callWith(null, 77);
        assertEquals(77L, capped.getAttributes().get(CallSpanStage.MAX_TOKENS));
        SpanData uncapped = callWith(null, 0);
        assertNull(uncapped.getAttributes().get(CallSpanStage.MAX_TOKENS));
    }

    @Test
    void aCallWithoutTraceparentIsARootSpanAndOneWithItContinuesTheClientsTrace() {
        SpanData root = callWith(new DefaultHttpHeaders().add("x-request-id", "r"), 0);
        assertFalse(root.getParentSpanContext().isValid());
        SpanData child = callWith(new DefaultHttpHeaders().add("TraceParent", CLIENT_TRACEPARENT), 0);
        assertEquals("0af7651916cd43dd8448eb211c80319c", child.getTraceId());
        assertEquals("b7ad6b7169203331", child.getParentSpanId());
    }

    private SpanData callWith(HttpHeaders headers, long maxOutputTokens) {
        AdmissionStage.Lease lease = stage.admit(new AdmissionStage.Call("req_1", "demo", "k1", "gpt-4o-mini",
                Endpoint.CHAT_COMPLETIONS, 10, 20, System.nanoTime(), false, headers, null, maxOutputTokens));
        lease.settle(UsageRecord.builder().id("req_1").team("demo").keyId("k1").model("gpt-4o-mini")
                .requestedModel("gpt-4o-mini").provider("openai").endpoint(Endpoint.CHAT_COMPLETIONS)
                .status(CallStatus.OK).httpStatus(200).usage(TokenUsage.of(12, 48)).costNanos(30_600)
                .createdAtMillis(System.currentTimeMillis()).latencyMicros(1_000).attempts(1).build());
        SpanData span = ended.get(ended.size() - 1);
        assertEquals("chat gpt-4o-mini", span.getName());
        return span;
    }
}
