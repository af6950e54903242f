package dev.tokenwise.core.config;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * The export of one OpenTelemetry span per call ({@code telemetry:}), off unless an endpoint is set.
 *
 * @param tracesEndpoint the OTLP/HTTP URL spans are posted to (e.g. {@code http://127.0.0.1:4318/v1/traces}), or
 *     {@code null} for no export
 * @param serviceName the {@code service.name} of the exported spans
 * @param sampleRatio the share of traces started at the gateway that are exported, from 0 to 1; a call that continues
 *     a client's trace follows the client's sampling decision
 * @param headers headers sent with each export (e.g. a backend's API key); never logged
 */
public record TelemetryConfig(String tracesEndpoint, String serviceName, double sampleRatio,
                              Map<String, String> headers) {
    /** No export. */
    public static final TelemetryConfig OFF = new TelemetryConfig(null, "tokenwise-gateway", 1.0, Map.of());

    public TelemetryConfig {
        Checks.checkNotBlank(serviceName, "telemetry.service_name");
        if (!(sampleRatio >= 0 && sampleRatio <= 1)) {
            throw new ConfigException("telemetry.sample_ratio: " + sampleRatio + " (expected: from 0 to 1)");
        }
        if (tracesEndpoint != null && !isHttpUrl(tracesEndpoint)) {
            throw new ConfigException("telemetry.otlp_endpoint: " + tracesEndpoint
                    + " (expected: an http:// or https:// URL)");
        }
        headers = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(Objects.requireNonNull(headers, "headers")));
    }

    /** {@code true} when {@code url} is an absolute {@code http} or {@code https} URL with a host. */
    public static boolean isHttpUrl(String url) {
        try {
            URI uri = new URI(url.trim());
            String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
            return (scheme.equals("http") || scheme.equals("https")) && uri.getHost() != null;
        } catch (URISyntaxException e) {
            return false;
        }
    }

    /** {@code true} when spans are exported. */
    public boolean enabled() {
        return tracesEndpoint != null;
    }

    /**
     * The traces URL of an OTLP/HTTP endpoint given as its base (as {@code OTEL_EXPORTER_OTLP_ENDPOINT} is):
     * {@code /v1/traces} appended, unless the URL already ends with it.
     */
    public static String tracesUrl(String base) {
        String trimmed = base.trim();
        if (trimmed.endsWith("/v1/traces")) {
            return trimmed;
        }
        return (trimmed.endsWith("/") ? trimmed.substring(0, trimmed.length() - 1) : trimmed) + "/v1/traces";
    }

    @Override
    public String toString() {
        // The headers may carry a backend's credentials.
        return "TelemetryConfig[tracesEndpoint=" + tracesEndpoint + ", serviceName=" + serviceName + ", sampleRatio="
                + sampleRatio + ", headers=" + headers.keySet() + "]";
    }
}
