package dev.tokenwise.telemetry;

import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.spi.AdmissionStage;
import io.netty.handler.codec.http.HttpHeaders;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import java.time.Clock;
import java.time.Instant;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Makes one span of each call the gateway admits: started at admission (backdated to the request's arrival),
 * continuing the client's W3C {@code traceparent}, named upstream as the parent of the provider call, and ended when
 * the call settles, at the moment its last byte reached the client, with the GenAI semantic-convention attributes
 * of its {@link UsageRecord} ({@link OtlpSpanEncoder}). Prompts and answers are never read into a span: of the request
 * body, only the output-token cap the gateway read from it ({@link Call#maxOutputTokens}) is.
 *
 * <p>No span object is made on the event loop: admission draws the span's ids (three random
 * longs), decides its sampling and notes its start; settling hands the lease itself, with the call's record, to a
 * bounded queue ({@link SpanExportQueue#offer}), whose thread encodes the exported span and sends it.
 * When the queue is full the span is dropped and counted; the call never waits.
 */
final class CallSpanStage implements AdmissionStage {
    private static final String TRACEPARENT = "traceparent";
    private static final W3CTraceContextPropagator W3C = W3CTraceContextPropagator.getInstance();

    private final SpanExportQueue sink;
    private final Clock clock;
    /** Root calls whose trace id's random part is below this are sampled (the SDK's TraceIdRatioBased rule). */
    private final long sampledBelow;

    /**
     * @param sink where ended spans go
     * @param sampleRatio the share of calls without a client's trace that are exported (a client's trace is
     *     followed as its {@code traceparent}'s sampled flag says)
     */
    CallSpanStage(SpanExportQueue sink, Clock clock, double sampleRatio) {
        if (!(sampleRatio >= 0 && sampleRatio <= 1)) {
            throw new IllegalArgumentException("sampleRatio: " + sampleRatio + " (expected: 0 to 1)");
        }
        this.sink = sink;
        this.clock = clock;
        this.sampledBelow = sampleRatio >= 1 ? Long.MAX_VALUE : (long) (sampleRatio * Long.MAX_VALUE);
    }

    @Override
    public Lease admit(Call call) {
        // The span starts when the request arrived, not now: admission comes after parsing and routing.
        long startEpochNanos = epochNanos(clock) - Math.max(0, System.nanoTime() - call.nowNanos());
        SpanContext parent = null;
        if (call.headers() != null && call.headers().contains(TRACEPARENT)) {
            SpanContext extracted = Span.fromContext(W3C.extract(Context.root(), call.headers(),
                    HeadersGetter.INSTANCE)).getSpanContext();
            parent = extracted.isValid() ? extracted : null; // a malformed traceparent starts a new trace
        }
        ThreadLocalRandom random = ThreadLocalRandom.current();
        long traceIdHigh;
        long traceIdLow;
        boolean sampled;
        if (parent != null) {
            traceIdHigh = TraceIds.high(parent.getTraceId());
            traceIdLow = TraceIds.low(parent.getTraceId());
            sampled = parent.isSampled();
        } else {
            traceIdHigh = random.nextLong();
            do {
                traceIdLow = random.nextLong();
            } while (traceIdLow == 0);
            sampled = Math.abs(traceIdLow) < sampledBelow;
        }
        long spanId;
        do {
            spanId = random.nextLong();
        } while (spanId == 0);
        return new CallSpan(call, parent, traceIdHigh, traceIdLow, spanId, sampled, startEpochNanos);
    }

    /**
     * The span of one admitted call, from admission to its end; once ended, it waits in the export queue and is read
     * by the export thread only (the queue's hand-off publishes its fields).
     */
    final class CallSpan implements Lease {
        final Call call;
        /** The client's span, or {@code null} for a root span. */
        final SpanContext parent;
        final long traceIdHigh;
        final long traceIdLow;
        final long spanId;
        final boolean sampled;
        final long startEpochNanos;
        /** Set when the span ends: the call's record, or {@code null} for a call that never went upstream. */
        UsageRecord record;
        long endEpochNanos;

        CallSpan(Call call, SpanContext parent, long traceIdHigh, long traceIdLow, long spanId, boolean sampled,
                 long startEpochNanos) {
            this.call = call;
            this.parent = parent;
            this.traceIdHigh = traceIdHigh;
            this.traceIdLow = traceIdLow;
            this.spanId = spanId;
            this.sampled = sampled;
            this.startEpochNanos = startEpochNanos;
        }

        @Override
        public void decorateUpstream(HttpHeaders upstreamHeaders) {
            // Replaces the client's traceparent (copied with its other headers): the provider call's parent is this span.
            upstreamHeaders.set(TRACEPARENT, TraceIds.traceparent(traceIdHigh, traceIdLow, spanId, sampled));
        }

        @Override
        public void settle(UsageRecord record) {
            long latencyNanos = record.latencyMicros() * 1000;
            end(record, latencyNanos > 0 ? startEpochNanos + latencyNanos : epochNanos(clock));
        }

        @Override
        public void abort() {
            // Refused by a later stage or by the budget, or the client left while the call waited: nothing upstream.
            end(null, epochNanos(clock));
        }

        private void end(UsageRecord record, long endEpochNanos) {
            if (!sampled) {
                return;
            }
            this.record = record;
            this.endEpochNanos = endEpochNanos;
            sink.offer(this);
        }
    }

    private static long epochNanos(Clock clock) {
        Instant now = clock.instant();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano();
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
}
