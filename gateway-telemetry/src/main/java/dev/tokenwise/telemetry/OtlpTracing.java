package dev.tokenwise.telemetry;

import dev.tokenwise.core.config.TelemetryConfig;
import dev.tokenwise.core.spi.AdmissionStage;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporterBuilder;
import io.opentelemetry.sdk.common.Clock;
import io.opentelemetry.sdk.common.InternalTelemetryVersion;
import io.opentelemetry.sdk.metrics.SdkMeterProvider;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import io.opentelemetry.sdk.trace.samplers.Sampler;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway's span export: an OpenTelemetry SDK tracer whose spans go, through a {@link BatchSpanProcessor}, to an
 * OTLP/HTTP (protobuf) endpoint, sent by the JDK's HTTP client on the processor's own thread. The
 * {@link #stage() admission stage} makes one span per call; nothing of the export runs on an event loop, and a call
 * never waits for it: when the endpoint is slow or gone, the processor's bounded queue fills and further spans are
 * dropped and counted ({@code tokenwise_otel_spans_dropped_total}).
 *
 * <pre>{@code
 * OtlpTracing tracing = OtlpTracing.start(config.telemetry(), Map.of("openai", "openai"), meterRegistry);
 * stages.add(0, tracing.stage());
 * ...
 * tracing.close(); // exports what is queued, for up to 5 s
 * }</pre>
 */
public final class OtlpTracing implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(OtlpTracing.class);
    private static final String SCOPE = "dev.tokenwise.gateway";
    /**
     * The spans the processor holds before it drops (at a KiB or two a span, some 10 MiB at most): four exports'
     * worth, so that spans keep queueing while one export is on its way.
     */
    static final int QUEUE_SPANS = 8192;
    /**
     * The spans sent in one export, at most. Measured per span at about 13,000 calls/s: the processor, the
     * marshaller and the JDK HTTP client spent about 8.5 µs of CPU with 512-span exports, 6.2 µs with 1,024 and 4.8 µs
     * with 2,048 (the HTTP request and the export's scheduling cost per export, not per span).
     */
    static final int EXPORT_BATCH_SPANS = 2048;

    private final SdkTracerProvider tracerProvider;
    private final SdkMeterProvider sdkMeters;
    private final SpanDropCounter drops;
    private final CallSpanStage stage;

    private OtlpTracing(SdkTracerProvider tracerProvider, SdkMeterProvider sdkMeters, SpanDropCounter drops,
                        CallSpanStage stage) {
        this.tracerProvider = tracerProvider;
        this.sdkMeters = sdkMeters;
        this.drops = drops;
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
        // The SDK's own meters (the processor's queue and drops, the exporter's failures) are read by the counters
        // below, never exported.
        SpanDropCounter drops = new SpanDropCounter();
        SdkMeterProvider sdkMeters = SdkMeterProvider.builder().registerMetricReader(drops).build();
        OtlpHttpSpanExporterBuilder exporter = OtlpHttpSpanExporter.builder()
                .setEndpoint(config.tracesEndpoint())
                .setTimeout(Duration.ofSeconds(10))
                .setConnectTimeout(Duration.ofSeconds(5))
                .setMeterProvider(() -> sdkMeters)
                .setInternalTelemetryVersion(InternalTelemetryVersion.LATEST);
        config.headers().forEach(exporter::addHeader);
        BatchSpanProcessor processor = BatchSpanProcessor.builder(exporter.build())
                .setMaxQueueSize(queueSpans)
                .setMaxExportBatchSize(Math.min(EXPORT_BATCH_SPANS, queueSpans))
                .setScheduleDelay(scheduleDelay)
                .setExporterTimeout(Duration.ofSeconds(15))
                .setMeterProvider(() -> sdkMeters)
                .setInternalTelemetryVersion(InternalTelemetryVersion.LATEST)
                .build();
        SdkTracerProvider tracerProvider = SdkTracerProvider.builder()
                .setResource(Resource.getDefault().merge(Resource.create(instanceId == null
                        ? Attributes.of(AttributeKey.stringKey("service.name"), config.serviceName())
                        : Attributes.of(AttributeKey.stringKey("service.name"), config.serviceName(),
                                AttributeKey.stringKey("service.instance.id"), instanceId))))
                // At 1.0, always on: a ratio sampler would read each new trace id for a decision known in advance.
                .setSampler(Sampler.parentBased(config.sampleRatio() >= 1.0 ? Sampler.alwaysOn()
                        : Sampler.traceIdRatioBased(config.sampleRatio())))
                .addSpanProcessor(processor)
                .build();
        CallSpanStage stage = new CallSpanStage(tracerProvider.get(SCOPE), Clock.getDefault(), providerSystems);
        OtlpTracing tracing = new OtlpTracing(tracerProvider, sdkMeters, drops, stage);
        if (registry != null) {
            FunctionCounter.builder("tokenwise.otel.spans.dropped", drops, SpanDropCounter::dropped)
                    .description("Spans not exported because the export queue was full (the OTLP endpoint is slow"
                            + " or down)")
                    .register(registry);
            FunctionCounter.builder("tokenwise.otel.spans.failed", drops, SpanDropCounter::failed)
                    .description("Spans the OTLP endpoint did not take (an export that failed or timed out)")
                    .register(registry);
        }
        log.info("Telemetry: one span per call exported to {} as service {} (sample ratio {})",
                config.tracesEndpoint(), config.serviceName(), config.sampleRatio());
        return tracing;
    }

    /** The admission stage that makes the spans: the first stage, so that refused calls have theirs too. */
    public AdmissionStage stage() {
        return stage;
    }

    /** Spans dropped so far because the export queue was full. */
    public long droppedSpans() {
        return (long) drops.dropped();
    }

    /** Spans whose export failed so far. */
    public long failedSpans() {
        return (long) drops.failed();
    }

    /** Exports what is queued (waiting up to 5 s for the endpoint), then stops. */
    @Override
    public void close() {
        tracerProvider.shutdown().join(5, TimeUnit.SECONDS);
        sdkMeters.shutdown().join(1, TimeUnit.SECONDS);
    }
}
