package dev.tokenwise.telemetry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenwise.core.model.CacheStatus;
import dev.tokenwise.core.model.CallStatus;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.TokenUsage;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.spi.AdmissionStage;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.common.AttributesBuilder;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import io.opentelemetry.sdk.common.InstrumentationLibraryInfo;
import io.opentelemetry.sdk.common.InstrumentationScopeInfo;
import io.opentelemetry.sdk.trace.data.EventData;
import io.opentelemetry.sdk.trace.data.LinkData;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.data.StatusData;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The gateway's own OTLP encoding against the OpenTelemetry SDK's: the same spans, encoded by {@link OtlpSpanEncoder}
 * (sent by the gateway's export) and by the SDK's {@link OtlpHttpSpanExporter} from a {@link SpanData} that spells
 * out what each span must say, each to a real receiver; decoded with the opentelemetry-proto classes, the requests
 * must be equal (attributes compared as the set they are).
 */
class OtlpSpanEncoderTest {
    private static final Map<String, String> SYSTEMS = Map.of("openai", "openai", "my-azure", "azure.ai.openai");
    private static final String CLIENT_TRACE_ID = "0af7651916cd43dd8448eb211c80319c";
    private static final String CLIENT_SPAN_ID = "b7ad6b7169203331";
    private static final String LONG_ID = "req_" + "x".repeat(300);

    private final OtlpReceiver ours;
    private final OtlpReceiver sdks;
    private final SpanExportQueue queue;
    private final CallSpanStage stage;
    private final Map<String, String> resource = OtlpTracing.resource("gw-test", "gw-7");

    OtlpSpanEncoderTest() throws Exception {
        ours = new OtlpReceiver();
        sdks = new OtlpReceiver();
        queue = new SpanExportQueue(new OtlpSpanEncoder(resource, SYSTEMS),
                new OtlpHttpSender(ours.url(), Map.of(), Duration.ofSeconds(10), Duration.ofSeconds(5)), 64, 64,
                TimeUnit.MILLISECONDS.toNanos(5));
        stage = new CallSpanStage(queue, Clock.systemUTC(), 1.0);
    }

    @AfterEach
    void close() {
        queue.close();
        ours.close();
        sdks.close();
    }

    @Test
    void encodesASuccessfulCallAsTheSdkDoes() throws Exception {
        UsageRecord record = UsageRecord.builder().id("req_1").team("équipe ☃ 😀").keyId("k1").model("gpt-4o-mini")
                .provider("openai").endpoint(Endpoint.CHAT_COMPLETIONS).status(CallStatus.OK).httpStatus(200)
                .usage(TokenUsage.of(12, 48)).costNanos(30_600).taskId("task-7").finishReason("stop")
                .cache(CacheStatus.MISS).createdAtMillis(System.currentTimeMillis()).latencyMicros(1_234).attempts(2)
                .build();
        CallSpanStage.CallSpan span = settle(call("req_1", "équipe ☃ 😀", "gpt-4o-mini", Endpoint.CHAT_COMPLETIONS,
                false, null, 77), record);
        assertEncodedAsTheSdkDoes(List.of(expected(span, "chat gpt-4o-mini", StatusData.unset(), Attributes.builder()
                .put("gen_ai.operation.name", "chat")
                .put("gen_ai.request.model", "gpt-4o-mini")
                .put("tokenwise.team", "équipe ☃ 😀")
                .put("tokenwise.key_id", "k1")
                .put("tokenwise.request_id", "req_1")
                .put("gen_ai.request.max_tokens", 77L)
                .put("gen_ai.response.model", "gpt-4o-mini")
                .put("gen_ai.provider.name", "openai")
                .put("tokenwise.provider", "openai")
                .put("gen_ai.usage.input_tokens", 12L)
                .put("gen_ai.usage.output_tokens", 48L)
                .put(AttributeKey.stringArrayKey("gen_ai.response.finish_reasons"), List.of("stop"))
                .put("http.response.status_code", 200L)
                .put("tokenwise.cost_usd", 30_600 / 1e9)
                .put("tokenwise.task_id", "task-7")
                .put("tokenwise.cache", "miss")
                .put("tokenwise.attempts", 2L)
                .put("tokenwise.status", "ok"))));
    }

    @Test
    void encodesARefusedCallAsTheSdkDoes() throws Exception {
        AdmissionStage.Lease lease = stage.admit(call("req_2", "demo", "gpt-4o", Endpoint.MESSAGES, false, null, 0));
        lease.abort();
        CallSpanStage.CallSpan span = (CallSpanStage.CallSpan) lease;
        assertEncodedAsTheSdkDoes(List.of(expected(span, "chat gpt-4o",
                StatusData.create(StatusCode.ERROR, "not forwarded"), Attributes.builder()
                        .put("gen_ai.operation.name", "chat")
                        .put("gen_ai.request.model", "gpt-4o")
                        .put("tokenwise.team", "demo")
                        .put("tokenwise.key_id", "k1")
                        .put("tokenwise.request_id", "req_2")
                        .put("error.type", "not_forwarded"))));
    }

    @Test
    void encodesAStreamedCallWithLongAndEmptyStringsAsTheSdkDoes() throws Exception {
        String longModel = "gemini-" + "é".repeat(150);
        UsageRecord record = UsageRecord.builder().id(LONG_ID).team("demo").keyId("k1").model(longModel)
                .provider("my-azure").endpoint(Endpoint.GEMINI_STREAM_GENERATE).stream(true).status(CallStatus.OK)
                .httpStatus(200).usage(TokenUsage.of(1_000_000, 0)).costNanos(0).taskId("").finishReason("x".repeat(200))
                .cache(CacheStatus.HIT).createdAtMillis(System.currentTimeMillis()).latencyMicros(90_000_000)
                .ttftMicros(1_000).build();
        CallSpanStage.CallSpan span = settle(call(LONG_ID, "demo", "gemini-pro", Endpoint.GEMINI_STREAM_GENERATE, true,
                null, 0), record);
        assertEncodedAsTheSdkDoes(List.of(expected(span, "generate_content gemini-pro", StatusData.unset(),
                Attributes.builder()
                        .put("gen_ai.operation.name", "generate_content")
                        .put("gen_ai.request.model", "gemini-pro")
                        .put("tokenwise.team", "demo")
                        .put("tokenwise.key_id", "k1")
                        .put("tokenwise.request_id", LONG_ID)
                        .put("gen_ai.response.model", longModel)
                        .put("gen_ai.provider.name", "azure.ai.openai")
                        .put("tokenwise.provider", "my-azure")
                        .put("gen_ai.usage.input_tokens", 1_000_000L)
                        .put("gen_ai.usage.output_tokens", 0L)
                        .put(AttributeKey.stringArrayKey("gen_ai.response.finish_reasons"), List.of("x".repeat(200)))
                        .put("http.response.status_code", 200L)
                        .put("tokenwise.cost_usd", 0.0)
                        .put("tokenwise.task_id", "")
                        .put("tokenwise.cache", "hit")
                        .put("tokenwise.attempts", 1L)
                        .put("tokenwise.status", "ok"))));
    }

    @Test
    void encodesAFailedCallContinuingAClientsTraceAsTheSdkDoes() throws Exception {
        HttpHeaders headers = new DefaultHttpHeaders()
                .add("traceparent", "00-" + CLIENT_TRACE_ID + "-" + CLIENT_SPAN_ID + "-01")
                .add("tracestate", "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
        UsageRecord record = UsageRecord.builder().id("req_4").team("demo").keyId("k1").model("gpt-4o-mini")
                .provider("elsewhere").endpoint(Endpoint.EMBEDDINGS).status(CallStatus.UPSTREAM_ERROR).httpStatus(502)
                .costNanos(0).createdAtMillis(System.currentTimeMillis()).latencyMicros(0).attempts(3).build();
        CallSpanStage.CallSpan span = settle(call("req_4", "demo", "gpt-4o-mini", Endpoint.EMBEDDINGS, false, headers,
                0), record);
        assertEquals(CLIENT_TRACE_ID, hex(span.traceIdHigh) + hex(span.traceIdLow));
        assertEncodedAsTheSdkDoes(List.of(expected(span, "embeddings gpt-4o-mini",
                StatusData.create(StatusCode.ERROR, "upstream_error"), Attributes.builder()
                        .put("gen_ai.operation.name", "embeddings")
                        .put("gen_ai.request.model", "gpt-4o-mini")
                        .put("tokenwise.team", "demo")
                        .put("tokenwise.key_id", "k1")
                        .put("tokenwise.request_id", "req_4")
                        .put("gen_ai.response.model", "gpt-4o-mini")
                        .put("gen_ai.provider.name", "elsewhere")
                        .put("tokenwise.provider", "elsewhere")
                        .put("http.response.status_code", 502L)
                        .put("tokenwise.cost_usd", 0.0)
                        .put("tokenwise.attempts", 3L)
                        .put("tokenwise.status", "upstream_error")
                        .put("error.type", "upstream_error"))));
    }

    @Test
    void encodesABatchOfManyCallsAsTheSdkDoes() throws Exception {
        List<SpanData> expected = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            String id = "req_" + "7".repeat(i * 5);
            UsageRecord record = UsageRecord.builder().id(id).team("team-" + i).keyId("k1").model("gpt-4o-mini")
                    .provider("openai").endpoint(Endpoint.CHAT_COMPLETIONS).status(CallStatus.OK).httpStatus(200)
                    .usage(TokenUsage.of(i, i * 1_000L)).costNanos(i * 123_456_789L)
                    .createdAtMillis(System.currentTimeMillis()).latencyMicros(1_000 + i).build();
            CallSpanStage.CallSpan span = settle(call(id, "team-" + i, "gpt-4o-mini", Endpoint.CHAT_COMPLETIONS, false,
                    null, i), record);
            AttributesBuilder a = Attributes.builder()
                    .put("gen_ai.operation.name", "chat")
                    .put("gen_ai.request.model", "gpt-4o-mini")
                    .put("tokenwise.team", "team-" + i)
                    .put("tokenwise.key_id", "k1")
                    .put("tokenwise.request_id", id)
                    .put("gen_ai.response.model", "gpt-4o-mini")
                    .put("gen_ai.provider.name", "openai")
                    .put("tokenwise.provider", "openai")
                    .put("gen_ai.usage.input_tokens", (long) i)
                    .put("gen_ai.usage.output_tokens", i * 1_000L)
                    .put("http.response.status_code", 200L)
                    .put("tokenwise.cost_usd", i * 123_456_789L / 1e9)
                    .put("tokenwise.attempts", 1L)
                    .put("tokenwise.status", "ok");
            if (i > 0) {
                a.put("gen_ai.request.max_tokens", (long) i);
            }
            expected.add(expected(span, "chat gpt-4o-mini", StatusData.unset(), a));
        }
        assertEncodedAsTheSdkDoes(expected);
    }

    private static AdmissionStage.Call call(String id, String team, String model, Endpoint endpoint, boolean stream,
                                            HttpHeaders headers, long maxOutputTokens) {
        return new AdmissionStage.Call(id, team, "k1", model, endpoint, 10, 20, System.nanoTime(), stream, headers,
                null, maxOutputTokens);
    }

    private CallSpanStage.CallSpan settle(AdmissionStage.Call call, UsageRecord record) {
        AdmissionStage.Lease lease = stage.admit(call);
        lease.decorateUpstream(new DefaultHttpHeaders());
        lease.settle(record);
        return (CallSpanStage.CallSpan) lease;
    }

    /** The span the SDK's exporter is given: what the gateway's must say, spelled out. */
    private SpanData expected(CallSpanStage.CallSpan span, String name, StatusData status, AttributesBuilder attributes) {
        // The client's tracestate, in its order (a member put last comes first).
        TraceState traceState = span.parent == null ? TraceState.getDefault() : TraceState.builder()
                .put("rojo", "00f067aa0ba902b7").put("congo", "t61rcWkgMzE").build();
        SpanContext context = SpanContext.create(hex(span.traceIdHigh) + hex(span.traceIdLow), hex(span.spanId),
                TraceFlags.getSampled(), traceState);
        SpanContext parent = span.parent == null ? SpanContext.getInvalid() : SpanContext.createFromRemoteParent(
                CLIENT_TRACE_ID, CLIENT_SPAN_ID, TraceFlags.getSampled(), traceState);
        AttributesBuilder r = Attributes.builder();
        resource.forEach(r::put);
        return new ExpectedSpan(name, context, parent, status, span.startEpochNanos, span.endEpochNanos,
                attributes.build(), io.opentelemetry.sdk.resources.Resource.create(r.build()),
                InstrumentationScopeInfo.create(OtlpSpanEncoder.SCOPE));
    }

    private void assertEncodedAsTheSdkDoes(List<SpanData> expected) throws Exception {
        OtlpHttpSpanExporter exporter = OtlpHttpSpanExporter.builder().setEndpoint(sdks.url()).build();
        try {
            assertTrue(exporter.export(expected).join(10, TimeUnit.SECONDS).isSuccess());
        } finally {
            exporter.shutdown().join(5, TimeUnit.SECONDS);
        }
        ours.awaitSpans(expected.size());
        assertEquals(List.of("application/x-protobuf"), ours.contentTypes.stream().distinct().toList());
        assertEquals(normalized(sdks.requests()), normalized(ours.requests()));
    }

    /**
     * The requests as one, each span once under its resource and scope, spans in span id order, attributes in key
     * order: the order of repeated fields says nothing in OTLP (a batch may be split differently).
     */
    private static ExportTraceServiceRequest normalized(List<ExportTraceServiceRequest> requests) {
        Map<ResourceSpans, List<Span>> spans = new HashMap<>();
        for (ExportTraceServiceRequest request : requests) {
            for (ResourceSpans rs : request.getResourceSpansList()) {
                for (ScopeSpans ss : rs.getScopeSpansList()) {
                    ResourceSpans head = rs.toBuilder().clearScopeSpans()
                            .setResource(sorted(rs.getResource()))
                            .addScopeSpans(ss.toBuilder().clearSpans()).build();
                    List<Span> list = spans.computeIfAbsent(head, k -> new ArrayList<>());
                    for (Span s : ss.getSpansList()) {
                        List<KeyValue> attributes = new ArrayList<>(s.getAttributesList());
                        attributes.sort(Comparator.comparing(KeyValue::getKey));
                        list.add(s.toBuilder().clearAttributes().addAllAttributes(attributes).build());
                    }
                }
            }
        }
        ExportTraceServiceRequest.Builder out = ExportTraceServiceRequest.newBuilder();
        spans.forEach((head, list) -> {
            list.sort(Comparator.comparing(s -> s.getSpanId().toStringUtf8()));
            ResourceSpans.Builder rs = head.toBuilder();
            rs.setScopeSpans(0, rs.getScopeSpans(0).toBuilder().addAllSpans(list));
            out.addResourceSpans(rs);
        });
        assertEquals(1, out.getResourceSpansCount(), "one resource and scope");
        return out.build();
    }

    private static Resource sorted(Resource resource) {
        List<KeyValue> attributes = new ArrayList<>(resource.getAttributesList());
        attributes.sort(Comparator.comparing(KeyValue::getKey));
        return resource.toBuilder().clearAttributes().addAllAttributes(attributes).build();
    }

    private static String hex(long v) {
        return String.format("%016x", v);
    }

    /** A {@link SpanData} as given. */
    private record ExpectedSpan(String getName, SpanContext getSpanContext, SpanContext getParentSpanContext,
                                StatusData getStatus, long getStartEpochNanos, long getEndEpochNanos,
                                Attributes getAttributes, io.opentelemetry.sdk.resources.Resource getResource,
                                InstrumentationScopeInfo getInstrumentationScopeInfo) implements SpanData {
        @Override
        public SpanKind getKind() {
            return SpanKind.SERVER;
        }

        @Override
        public List<EventData> getEvents() {
            return List.of();
        }

        @Override
        public List<LinkData> getLinks() {
            return List.of();
        }

        @Override
        public boolean hasEnded() {
            return true;
        }

        @Override
        public int getTotalRecordedEvents() {
            return 0;
        }

        @Override
        public int getTotalRecordedLinks() {
            return 0;
        }

        @Override
        public int getTotalAttributeCount() {
            return getAttributes.size();
        }

        @Override
        @SuppressWarnings("deprecation")
        public InstrumentationLibraryInfo getInstrumentationLibraryInfo() {
            return InstrumentationLibraryInfo.create(getInstrumentationScopeInfo.getName(), null);
        }
    }
}
