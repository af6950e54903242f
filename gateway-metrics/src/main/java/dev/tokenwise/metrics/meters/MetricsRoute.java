package dev.tokenwise.metrics.meters;

import dev.tokenwise.core.auth.Principal;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.spi.GetRoute;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.handler.codec.http.HttpHeaderNames;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * {@code GET /metrics}: every meter of the registry in the Prometheus text format (version 0.0.4), or
 * OpenMetrics when the scraper asks for it in {@code Accept}. Metrics and labels: {@code docs/metrics.md}.
 *
 * <p>When the gateway has an admin key, scraping needs it ({@code Authorization: Bearer <admin key>}, which
 * Prometheus sends with {@code authorization: {credentials_file: ...}}): the metrics name teams and their
 * spend. Without an admin key the endpoint is open. The scrape refreshes the {@link GatewayMeters} gauges and
 * formats the registry on the executor given to the constructor, never on the event loop.
 *
 * <pre>{@code
 * routes.add(new MetricsRoute(registry, meters, apiPool, config.adminKey() != null));
 * }</pre>
 */
public final class MetricsRoute extends GetRoute {
    static final String PATH = "/metrics";
    /** The content types of the Prometheus client's text writers (their exposition jar is a runtime dependency). */
    static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";
    static final String OPEN_METRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8";

    private final PrometheusMeterRegistry registry;
    private final GatewayMeters meters;
    private final Executor executor;
    private final boolean adminOnly;

    /**
     * @param meters refreshed before each scrape, or {@code null}
     * @param adminOnly whether only the admin key may scrape
     */
    public MetricsRoute(PrometheusMeterRegistry registry, GatewayMeters meters, Executor executor, boolean adminOnly) {
        super(PATH);
        this.registry = Objects.requireNonNull(registry, "registry");
        this.meters = meters;
        this.executor = Objects.requireNonNull(executor, "executor");
        this.adminOnly = adminOnly;
    }



    @Override
    public CompletableFuture<Response> handle(Request request) {
        if (adminOnly) {
            Principal principal = request.principal();
            if (principal == null) {
                throw new GatewayException(ErrorType.INVALID_API_KEY, "missing or invalid API key (metrics need the admin key)");
            }
            if (!principal.admin()) {
                throw new GatewayException(ErrorType.FORBIDDEN, "metrics need the admin key");
            }
        }
        String accept = request.headers().get(HttpHeaderNames.ACCEPT);
        String contentType = accept != null && accept.contains("application/openmetrics-text")
                ? OPEN_METRICS : PROMETHEUS_TEXT;
        return CompletableFuture.supplyAsync(() -> {
            if (meters != null) {
                meters.refresh();
            }
            byte[] body = registry.scrape(contentType).getBytes(StandardCharsets.UTF_8);
            return new Response(200, contentType, body, Map.of("Cache-Control", "no-store"));
        }, executor);
    }
}
