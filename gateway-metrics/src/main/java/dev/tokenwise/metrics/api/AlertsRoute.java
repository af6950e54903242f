package dev.tokenwise.metrics.api;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.tokenwise.core.auth.Principal;
import dev.tokenwise.core.spi.GetRoute;
import dev.tokenwise.metrics.efficiency.Alert;
import dev.tokenwise.metrics.efficiency.AlertBook;
import java.io.IOException;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * {@code GET /api/v1/alerts}: the open alerts, oldest first, as a JSON array of
 * {@code {type, model|team|key, metric, source, message, value, threshold, since}} ({@code metric} only where a
 * type has several, {@code source} ({@code traffic} or {@code probe}) only for drift alerts; a key's alert also
 * names the key's {@code team}). Types: {@code budget_threshold},
 * {@code quality_drift}, {@code effective_price_drift}, {@code billing_discrepancy}, {@code token_inflation},
 * {@code unpriced_model}. The admin key sees all; a team key sees the model alerts and the alerts of its own team
 * (budget, token inflation) and of its team's keys, matched by the
 * team the alert belongs to, never by name alone (a key may be named like another team); no key is a 401.
 * Answered from memory, on the event loop.
 */
public final class AlertsRoute extends GetRoute {
    private static final String PATH = "/api/v1/alerts";

    private final AlertBook alerts;

    public AlertsRoute(AlertBook alerts) {
        super(PATH);
        this.alerts = Objects.requireNonNull(alerts, "alerts");
    }


    @Override
    public CompletableFuture<Response> handle(Request request) {
        Principal principal = request.requirePrincipal();
        List<Alert> visible = alerts.list().stream().filter(a -> visible(principal, a)).toList();
        return CompletableFuture.completedFuture(Response.json(200, toJson(visible)));
    }

    private static boolean visible(Principal principal, Alert alert) {
        return principal.admin() || alert.scope() == Alert.Scope.MODEL || alert.team().equals(principal.team());
    }

    static byte[] toJson(List<Alert> alerts) {
        return JsonBody.write(64 + alerts.size() * 384, g -> {
            g.writeStartArray();
            for (Alert a : alerts) {
                g.writeStartObject();
                g.writeStringField("type", a.type().label());
                g.writeStringField(a.scope().field(), a.subject());
                if (a.scope() == Alert.Scope.KEY) {
                    g.writeStringField("team", a.team());
                }
                if (a.metric() != null) {
                    g.writeStringField("metric", a.metric());
                }
                if (a.source() != null) {
                    g.writeStringField("source", a.source());
                }
                g.writeStringField("message", a.message());
                JsonBody.numberOrNull(g, "value", a.value());
                JsonBody.numberOrNull(g, "threshold", a.threshold());
                g.writeStringField("since", Instant.ofEpochMilli(a.sinceMillis()).toString());
                g.writeEndObject();
            }
            g.writeEndArray();
        });
    }
}
