package dev.tokenwise.telemetry;

import dev.tokenwise.core.config.TelemetryConfig;
import dev.tokenwise.core.spi.AdmissionStage;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway's span export: one span per call, sent to an OTLP/HTTP (protobuf) endpoint from a thread of its own
 * ({@link SpanExportQueue}), which encodes the spans itself ({@link OtlpSpanEncoder}) and posts them with the JDK's HTTP
 * client ({@link OtlpHttpSender}). The {@link #stage() admission stage} notes each call's span ids and start on the
 * event loop and queues the ended span with the call's record; the exported span is encoded from them off the event
 * loops. A call never waits for the
 * export: when the endpoint is slow or gone, the bounded queue fills and further spans are dropped and counted
 * ({@code tokenwise_otel_spans_dropped_total}).
 *
 * <pre>{@code
 * OtlpTracing tracing = OtlpTracing.start(config.telemetry(), Map.of("openai", "openai"), meterRegistry, "gw-1");
 * stages.add(0, tracing.stage());
 * ...
 * tracing.close(); // exports what is queued, for up to 5 s
 * }</pre>
 */
public final class OtlpTracing implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(OtlpTracing.class);
    /**
     * The spans that may wait for export before further ones are dropped (a span waiting is its call's record and
     * a few ids, a KiB or so): four exports' worth, so that spans keep queueing while one export is on its way.
     */
    static final int QUEUE_SPANS = 8192;
    /**
     * The spans sent in one export, at most: the HTTP request and the export's scheduling cost per export, the
     * protobuf encoding per span, so fewer, larger exports are cheaper (about 640 bytes a span, 1.3 MB an export).
     */
    static final int EXPORT_BATCH_SPANS = 2048;

    private final SpanExportQueue queue;
    private final CallSpanStage stage;

    private OtlpTracing(SpanExportQueue queue, CallSpanStage stage) {
        this.queue = queue;
        this.stage = stage;
    }

    /**
     * Starts the export configured by {@code config} (which must be {@link TelemetryConfig#enabled enabled}).
     *
     * @param providerSystems the {@code gen_ai.provider.name} of each configured provider, by its config name
     * @param registry where the dropped and failed span counters are registered; {@code null} for none
     * @param instanceId the gateway's {@code instance_id}, the resource's {@code service.instance.id}; {@code null}
     *     for none
     */
    public static OtlpTracing start(TelemetryConfig config, Map<String, String> providerSystems,
                                    MeterRegistry registry, String instanceId) {
        return start(config, providerSystems, registry, instanceId, QUEUE_SPANS, Duration.ofSeconds(1));
    }

    static OtlpTracing start(TelemetryConfig config, Map<String, String> providerSystems, MeterRegistry registry,
                             int queueSpans, Duration scheduleDelay) {
        return start(config, providerSystems, registry, null, queueSpans, scheduleDelay);
    }

    private static OtlpTracing start(TelemetryConfig config, Map<String, String> providerSystems,
                                     MeterRegistry registry, String instanceId, int queueSpans,
                                     Duration scheduleDelay) {
        if (!config.enabled()) {
            throw new IllegalArgumentException("telemetry.otlp_endpoint: not set (expected: an OTLP/HTTP endpoint)");
        }
        OtlpHttpSender sender = new OtlpHttpSender(config.tracesEndpoint(), config.headers(), Duration.ofSeconds(10),
                Duration.ofSeconds(5));
        SpanExportQueue queue = new SpanExportQueue(new OtlpSpanEncoder(resource(config.serviceName(), instanceId), providerSystems), sender,
                queueSpans, Math.min(EXPORT_BATCH_SPANS, queueSpans), scheduleDelay.toNanos());
        CallSpanStage stage = new CallSpanStage(queue, Clock.systemUTC(), config.sampleRatio());
        if (registry != null) {
            FunctionCounter.builder("tokenwise.otel.spans.dropped", queue, SpanExportQueue::dropped)
                    .description("Spans not exported because the export queue was full (the OTLP endpoint is slow"
                            + " or down)")
                    .register(registry);
            FunctionCounter.builder("tokenwise.otel.spans.failed", queue, SpanExportQueue::failed)
                    .description("Spans the OTLP endpoint did not take (an export that failed or timed out)")
                    .register(registry);
        }
        log.info("Telemetry: one span per call exported to {} as service {} (sample ratio {})",
                config.tracesEndpoint(), config.serviceName(), config.sampleRatio());
        return new OtlpTracing(queue, stage);
    }

    /**
     * The attributes of the spans' resource: the service, the gateway instance ({@code null} for none), and, since the
     * spans are not made by the OpenTelemetry SDK, which code made them.
     */
    static Map<String, String> resource(String serviceName, String instanceId) {
        Map<String, String> resource = new LinkedHashMap<>();
        resource.put("service.name", serviceName);
        if (instanceId != null) {
            resource.put("service.instance.id", instanceId);
        }
        resource.put("telemetry.sdk.name", "tokenwise");
        resource.put("telemetry.sdk.language", "java");
        return resource;
    }

    /** The admission stage that makes the spans: the first stage, so that refused calls have theirs too. */
    public AdmissionStage stage() {
        return stage;
    }

    /** Spans dropped so far because the export queue was full. */
    public long droppedSpans() {
        return queue.dropped();
    }

    /** Spans whose export failed so far. */
    public long failedSpans() {
        return queue.failed();
    }

    /** Exports what is queued (waiting up to 5 s for the endpoint), then stops. */
    @Override
    public void close() {
        queue.close();
    }
}
