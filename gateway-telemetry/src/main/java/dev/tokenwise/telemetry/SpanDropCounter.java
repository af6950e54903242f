package dev.tokenwise.telemetry;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.metrics.InstrumentType;
import io.opentelemetry.sdk.metrics.data.AggregationTemporality;
import io.opentelemetry.sdk.metrics.data.LongPointData;
import io.opentelemetry.sdk.metrics.data.MetricData;
import io.opentelemetry.sdk.metrics.data.MetricDataType;
import io.opentelemetry.sdk.metrics.export.CollectionRegistration;
import io.opentelemetry.sdk.metrics.export.MetricReader;

/**
 * Reads the SDK's own telemetry of the span export, on demand: the spans its batch processor finished with an error
 * ({@code otel.sdk.processor.span.processed} with an {@code error.type}: a full queue), and the spans its exporter
 * failed to send ({@code otel.sdk.exporter.span.exported} with an {@code error.type}). Cumulative; read when the
 * gateway's metrics are scraped.
 */
final class SpanDropCounter implements MetricReader {
    private static final AttributeKey<String> ERROR_TYPE = AttributeKey.stringKey("error.type");

    private volatile CollectionRegistration registration = CollectionRegistration.noop();

    @Override
    public void register(CollectionRegistration registration) {
        this.registration = registration;
    }

    /** Spans dropped before export (the queue was full). */
    double dropped() {
        return erroneous("otel.sdk.processor.span.processed");
    }

    /** Spans the exporter could not deliver. */
    double failed() {
        return erroneous("otel.sdk.exporter.span.exported");
    }

    private long erroneous(String metric) {
        long n = 0;
        for (MetricData data : registration.collectAllMetrics()) {
            if (!data.getName().equals(metric) || data.getType() != MetricDataType.LONG_SUM) {
                continue;
            }
            for (LongPointData point : data.getLongSumData().getPoints()) {
                if (point.getAttributes().get(ERROR_TYPE) != null) {
                    n += point.getValue();
                }
            }
        }
        return n;
    }

    @Override
    public AggregationTemporality getAggregationTemporality(InstrumentType instrumentType) {
        return AggregationTemporality.CUMULATIVE;
    }

    @Override
    public CompletableResultCode forceFlush() {
        return CompletableResultCode.ofSuccess();
    }

    @Override
    public CompletableResultCode shutdown() {
        registration = CollectionRegistration.noop();
        return CompletableResultCode.ofSuccess();
    }
}
