package dev.tokenwise.telemetry;

import dev.tokenwise.core.model.CallStatus;
import dev.tokenwise.core.model.UsageRecord;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanId;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceId;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.sdk.common.InstrumentationLibraryInfo;
import io.opentelemetry.sdk.common.InstrumentationScopeInfo;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.data.EventData;
import io.opentelemetry.sdk.trace.data.LinkData;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.data.StatusData;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The exported span of one call, made on the export thread from what admission noted ({@link CallSpanStage.CallSpan})
 * and the call's {@link UsageRecord}: immutable once made, handed to the SDK's OTLP exporter as it is. Its attributes
 * follow the GenAI semantic conventions, plus the gateway's own ({@code tokenwise.*}); see docs/observability.md.
 */
final class CallSpanData implements SpanData {
    static final AttributeKey<String> OPERATION = AttributeKey.stringKey("gen_ai.operation.name");
    static final AttributeKey<String> PROVIDER = AttributeKey.stringKey("gen_ai.provider.name");
    static final AttributeKey<String> REQUEST_MODEL = AttributeKey.stringKey("gen_ai.request.model");
    static final AttributeKey<String> RESPONSE_MODEL = AttributeKey.stringKey("gen_ai.response.model");
    static final AttributeKey<Long> INPUT_TOKENS = AttributeKey.longKey("gen_ai.usage.input_tokens");
    static final AttributeKey<Long> OUTPUT_TOKENS = AttributeKey.longKey("gen_ai.usage.output_tokens");
    static final AttributeKey<Long> MAX_TOKENS = AttributeKey.longKey("gen_ai.request.max_tokens");
    static final AttributeKey<List<String>> FINISH_REASONS = AttributeKey.stringArrayKey("gen_ai.response.finish_reasons");
    static final AttributeKey<Long> HTTP_STATUS = AttributeKey.longKey("http.response.status_code");
    static final AttributeKey<String> ERROR_TYPE = AttributeKey.stringKey("error.type");
    static final AttributeKey<String> TEAM = AttributeKey.stringKey("tokenwise.team");
    static final AttributeKey<String> KEY_ID = AttributeKey.stringKey("tokenwise.key_id");
    static final AttributeKey<String> REQUEST_ID = AttributeKey.stringKey("tokenwise.request_id");
    static final AttributeKey<String> PROVIDER_CONFIG_NAME = AttributeKey.stringKey("tokenwise.provider");
    static final AttributeKey<Double> COST_USD = AttributeKey.doubleKey("tokenwise.cost_usd");
    static final AttributeKey<String> TASK_ID = AttributeKey.stringKey("tokenwise.task_id");
    static final AttributeKey<String> CACHE = AttributeKey.stringKey("tokenwise.cache");
    static final AttributeKey<Long> ATTEMPTS = AttributeKey.longKey("tokenwise.attempts");
    static final AttributeKey<String> STATUS = AttributeKey.stringKey("tokenwise.status");
    private static final int MAX_ATTRIBUTES = 20;
    private static final String NOT_FORWARDED = "not_forwarded";

    private final String name;
    private final SpanContext spanContext;
    private final SpanContext parentSpanContext;
    private final StatusData status;
    private final long startEpochNanos;
    private final long endEpochNanos;
    private final CallAttributes attributes;
    private final Resource resource;
    private final InstrumentationScopeInfo scope;

    private CallSpanData(String name, SpanContext spanContext, SpanContext parentSpanContext, StatusData status,
                         long startEpochNanos, long endEpochNanos, CallAttributes attributes, Resource resource,
                         InstrumentationScopeInfo scope) {
        this.name = name;
        this.spanContext = spanContext;
        this.parentSpanContext = parentSpanContext;
        this.status = status;
        this.startEpochNanos = startEpochNanos;
        this.endEpochNanos = endEpochNanos;
        this.attributes = attributes;
        this.resource = resource;
        this.scope = scope;
    }

    /**
     * The span of an ended call.
     *
     * @param providerSystems the {@code gen_ai.provider.name} of each provider by its config name (a provider
     *     missing from it is exported under its config name)
     */
    static CallSpanData of(CallSpanStage.CallSpan span, Map<String, String> providerSystems, Resource resource,
                           InstrumentationScopeInfo scope) {
        var call = span.call;
        String operation = CallSpanStage.operation(call.endpoint());
        CallAttributes a = new CallAttributes(MAX_ATTRIBUTES)
                .put(OPERATION, operation)
                .put(REQUEST_MODEL, call.model())
                .put(TEAM, call.team())
                .put(KEY_ID, call.keyId())
                .put(REQUEST_ID, call.requestId());
        if (call.maxOutputTokens() > 0) {
            a.put(MAX_TOKENS, call.maxOutputTokens());
        }
        StatusData status = StatusData.unset();
        UsageRecord record = span.record;
        if (record == null) {
            a.put(ERROR_TYPE, NOT_FORWARDED);
            status = StatusData.create(StatusCode.ERROR, "not forwarded");
        } else {
            a.put(RESPONSE_MODEL, record.model());
            if (record.provider() != null) {
                a.put(PROVIDER, providerSystems.getOrDefault(record.provider(), record.provider()));
                a.put(PROVIDER_CONFIG_NAME, record.provider());
            }
            if (record.usage() != null) {
                a.put(INPUT_TOKENS, record.usage().inputTokens());
                a.put(OUTPUT_TOKENS, record.usage().outputTokens());
            }
            if (record.finishReason() != null) {
                a.put(FINISH_REASONS, List.of(record.finishReason()));
            }
            a.put(HTTP_STATUS, (long) record.httpStatus());
            a.put(COST_USD, record.costNanos() / 1e9);
            a.put(TASK_ID, record.taskId());
            if (record.cache() != null) {
                a.put(CACHE, record.cache().name().toLowerCase(Locale.ROOT));
            }
            a.put(ATTEMPTS, (long) record.attempts());
            if (record.status() != null) {
                a.put(STATUS, record.status().label());
                if (record.status() != CallStatus.OK) {
                    a.put(ERROR_TYPE, record.status().label());
                    status = StatusData.create(StatusCode.ERROR, record.status().label());
                }
            }
        }
        TraceState traceState = span.parent == null ? TraceState.getDefault() : span.parent.getTraceState();
        SpanContext context = SpanContext.create(TraceId.fromLongs(span.traceIdHigh, span.traceIdLow),
                SpanId.fromLong(span.spanId), TraceFlags.getSampled(), traceState);
        return new CallSpanData(operation + " " + call.model(), context,
                span.parent == null ? SpanContext.getInvalid() : span.parent, status, span.startEpochNanos,
                span.endEpochNanos, a, resource, scope);
    }

    @Override
    public String getName() {
        return name;
    }

    @Override
    public SpanKind getKind() {
        return SpanKind.SERVER;
    }

    @Override
    public SpanContext getSpanContext() {
        return spanContext;
    }

    @Override
    public SpanContext getParentSpanContext() {
        return parentSpanContext;
    }

    @Override
    public StatusData getStatus() {
        return status;
    }

    @Override
    public long getStartEpochNanos() {
        return startEpochNanos;
    }

    @Override
    public Attributes getAttributes() {
        return attributes;
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
    public long getEndEpochNanos() {
        return endEpochNanos;
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
        return attributes.size();
    }

    @Override
    @SuppressWarnings("deprecation") // required by the interface; the marshaller reads the scope
    public InstrumentationLibraryInfo getInstrumentationLibraryInfo() {
        return InstrumentationLibraryInfo.create(scope.getName(), scope.getVersion());
    }

    @Override
    public InstrumentationScopeInfo getInstrumentationScopeInfo() {
        return scope;
    }

    @Override
    public Resource getResource() {
        return resource;
    }

    @Override
    public String toString() {
        return "CallSpanData{" + name + ", " + spanContext + ", " + attributes + "}";
    }
}
