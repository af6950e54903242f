package dev.tokenwise.telemetry;

import dev.tokenwise.core.model.CallStatus;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.spi.AdmissionStage;
import io.netty.handler.codec.http.HttpHeaders;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanBuilder;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapSetter;
import io.opentelemetry.sdk.common.Clock;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Makes one span of each call the gateway admits: started at admission (backdated to the request's arrival),
 * continuing the client's W3C {@code traceparent}, named upstream as the parent of the provider call, and ended when
 * the call settles, at the moment its last byte reached the client, with the GenAI semantic-convention attributes
 * of its {@link UsageRecord}. Prompts and answers are never read into a span: of the request body, only the
 * output-token cap the gateway read from it ({@link Call#maxOutputTokens}) is.
 *
 * <p>Admission costs a span start (two random ids and a sampling decision) on the event loop; ending hands the span
 * to the SDK's batch processor, whose bounded queue drops rather than waits when the exporter falls behind.
 */
final class CallSpanStage implements AdmissionStage {
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

    private static final String TRACEPARENT = "traceparent";
    private static final W3CTraceContextPropagator W3C = W3CTraceContextPropagator.getInstance();

    private final Tracer tracer;
    private final Clock clock;
    private final Map<String, String> providerSystems;

    /**
     * @param providerSystems the GenAI {@code gen_ai.provider.name} of each configured provider, by its name in the
     *     config (a provider missing from it is exported under its config name)
     */
    CallSpanStage(Tracer tracer, Clock clock, Map<String, String> providerSystems) {
        this.tracer = tracer;
        this.clock = clock;
        this.providerSystems = Map.copyOf(providerSystems);
    }

    @Override
    public Lease admit(Call call) {
        // The span starts when the request arrived, not now: admission comes after parsing and routing.
        long startEpochNanos = clock.now() - Math.max(0, System.nanoTime() - call.nowNanos());
        String operation = operation(call.endpoint());
        SpanBuilder builder = tracer.spanBuilder(operation + " " + call.model())
                .setSpanKind(SpanKind.SERVER)
                .setStartTimestamp(startEpochNanos, TimeUnit.NANOSECONDS);
        if (call.headers() != null && call.headers().contains(TRACEPARENT)) {
            builder.setParent(W3C.extract(Context.root(), call.headers(), HeadersGetter.INSTANCE));
        } else {
            builder.setNoParent(); // a root span, without reading the thread's current context
        }
        Span span = builder.startSpan();
        if (span.isRecording()) {
            span.setAttribute(OPERATION, operation);
            span.setAttribute(REQUEST_MODEL, call.model());
            span.setAttribute(TEAM, call.team());
            span.setAttribute(KEY_ID, call.keyId());
            span.setAttribute(REQUEST_ID, call.requestId());
            if (call.maxOutputTokens() > 0) {
                span.setAttribute(MAX_TOKENS, call.maxOutputTokens());
            }
        }
        return new CallSpan(span, startEpochNanos);
    }

    /** The span of one admitted call. */
    private final class CallSpan implements Lease {
        private final Span span;
        private final long startEpochNanos;

        CallSpan(Span span, long startEpochNanos) {
            this.span = span;
            this.startEpochNanos = startEpochNanos;
        }

        @Override
        public void decorateUpstream(HttpHeaders upstreamHeaders) {
            // Replaces the client's traceparent (copied with its other headers): the provider call's parent is this span.
            W3C.inject(Context.root().with(span), upstreamHeaders, HeadersSetter.INSTANCE);
        }

        @Override
        public void settle(UsageRecord record) {
            if (span.isRecording()) {
                describe(record);
            }
            long latencyNanos = record.latencyMicros() * 1000;
            if (latencyNanos > 0) {
                span.end(startEpochNanos + latencyNanos, TimeUnit.NANOSECONDS);
            } else {
                span.end();
            }
        }

        @Override
        public void abort() {
            // Refused by a later stage or by the budget, or the client left while the call waited: nothing upstream.
            span.setStatus(StatusCode.ERROR, "not forwarded");
            span.setAttribute(ERROR_TYPE, "not_forwarded");
            span.end();
        }

        private void describe(UsageRecord record) {
            span.setAttribute(RESPONSE_MODEL, record.model());
            if (record.provider() != null) {
                span.setAttribute(PROVIDER, providerSystems.getOrDefault(record.provider(), record.provider()));
                span.setAttribute(PROVIDER_CONFIG_NAME, record.provider());
            }
            if (record.usage() != null) {
                span.setAttribute(INPUT_TOKENS, record.usage().inputTokens());
                span.setAttribute(OUTPUT_TOKENS, record.usage().outputTokens());
            }
            if (record.finishReason() != null) {
                span.setAttribute(FINISH_REASONS, List.of(record.finishReason()));
            }
            span.setAttribute(HTTP_STATUS, record.httpStatus());
            span.setAttribute(COST_USD, record.costNanos() / 1e9);
            if (record.taskId() != null) {
                span.setAttribute(TASK_ID, record.taskId());
            }
            if (record.cache() != null) {
                span.setAttribute(CACHE, record.cache().name().toLowerCase(Locale.ROOT));
            }
            span.setAttribute(ATTEMPTS, record.attempts());
            if (record.status() != null) {
                span.setAttribute(STATUS, record.status().label());
                if (record.status() != CallStatus.OK) {
                    span.setAttribute(ERROR_TYPE, record.status().label());
                    span.setStatus(StatusCode.ERROR, record.status().label());
                }
            }
        }
    }

    /** The GenAI operation of an endpoint. */
    static String operation(Endpoint endpoint) {
        return switch (endpoint) {
            case EMBEDDINGS, GEMINI_EMBED, GEMINI_BATCH_EMBED -> "embeddings";
            case MESSAGES_COUNT_TOKENS, GEMINI_COUNT_TOKENS -> "count_tokens";
            case GEMINI_GENERATE, GEMINI_STREAM_GENERATE -> "generate_content";
            default -> "chat";
        };
    }

    private enum HeadersGetter implements TextMapGetter<HttpHeaders> {
        INSTANCE;

        @Override
        public Iterable<String> keys(HttpHeaders carrier) {
            return carrier.names();
        }

        @Override
        public String get(HttpHeaders carrier, String key) {
            return carrier == null ? null : carrier.get(key);
        }
    }

    private enum HeadersSetter implements TextMapSetter<HttpHeaders> {
        INSTANCE;

        @Override
        public void set(HttpHeaders carrier, String key, String value) {
            if (carrier != null) {
                carrier.set(key, value);
            }
        }
    }
}
