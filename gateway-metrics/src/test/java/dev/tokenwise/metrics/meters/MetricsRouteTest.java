package dev.tokenwise.metrics.meters;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenwise.core.auth.Principal;
import dev.tokenwise.core.budget.Budget;
import dev.tokenwise.core.config.BudgetPeriod;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.spi.ApiRoute;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class MetricsRouteTest {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final GatewayMeters meters = new GatewayMeters(registry, MeterSettings.DEFAULTS, List.of())
            .bindBudgets(() -> List.of(new Budget.Snapshot("research", 5_000_000_000L, BudgetPeriod.DAILY, 0, 1,
                    1_000_000_000L, 0, 4_000_000_000L)));

    @AfterEach
    void close() {
        registry.close();
    }

    private static ApiRoute.Response get(MetricsRoute route, Principal principal, HttpHeaders headers) throws Exception {
        return route.handle(new ApiRoute.Request(HttpMethod.GET, "/metrics", Map.of(), headers, new byte[0], principal)).get();
    }

    @Test
    void servesPrometheusTextWithGaugesRefreshed() throws Exception {
        MetricsRoute route = new MetricsRoute(registry, meters, Runnable::run, true);
        ApiRoute.Response r = get(route, Principal.ADMIN, new DefaultHttpHeaders());
        assertEquals(200, r.status());
        assertEquals("text/plain; version=0.0.4; charset=utf-8", r.contentType());
        String body = new String(r.body(), StandardCharsets.UTF_8);
        assertTrue(body.contains("tokenwise_budget_remaining_usd{team=\"research\"} 4.0"), body);
        assertEquals("no-store", r.headers().get("Cache-Control"));
    }

    @Test
    void servesOpenMetricsWhenAskedFor() throws Exception {
        MetricsRoute route = new MetricsRoute(registry, meters, Runnable::run, false);
        HttpHeaders headers = new DefaultHttpHeaders().set("Accept", "application/openmetrics-text; version=1.0.0");
        ApiRoute.Response r = get(route, null, headers);
        assertTrue(r.contentType().startsWith("application/openmetrics-text"), r.contentType());
        assertTrue(new String(r.body(), StandardCharsets.UTF_8).endsWith("# EOF\n"));
    }

    @Test
    void needsTheAdminKeyWhenOneIsSet() {
        MetricsRoute route = new MetricsRoute(registry, meters, Runnable::run, true);
        GatewayException none = assertThrows(GatewayException.class, () -> get(route, null, new DefaultHttpHeaders()));
        assertEquals(ErrorType.INVALID_API_KEY, none.type());
        GatewayException team = assertThrows(GatewayException.class,
                () -> get(route, Principal.key("research", "k1"), new DefaultHttpHeaders()));
        assertEquals(ErrorType.FORBIDDEN, team.type());
    }

    @Test
    void answersOnlyGetMetrics() {
        MetricsRoute route = new MetricsRoute(registry, meters, Runnable::run, true);
        assertTrue(route.matches(HttpMethod.GET, "/metrics"));
        assertFalse(route.matches(HttpMethod.POST, "/metrics"));
        assertTrue(route.matchesPath("/metrics"));
        assertFalse(route.matchesPath("/metrics/x"));
    }
}
