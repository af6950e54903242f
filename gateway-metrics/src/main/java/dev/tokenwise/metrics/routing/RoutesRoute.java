package dev.tokenwise.metrics.routing;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.tokenwise.core.auth.Principal;
import dev.tokenwise.core.config.RouteConfig;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.model.Money;
import dev.tokenwise.core.spi.ApiRoute;
import io.netty.handler.codec.http.HttpMethod;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.function.Predicate;

/**
 * {@code GET /api/v1/routes} and {@code GET /api/v1/routes/{name}} (admin key only: the figures mix every team's
 * tasks): each efficiency route's settings, current choice, per-candidate figures over its recent window
 * ({@code tasks, success_rate, success_rate_low, cost_per_solved_usd, share}, and the policy's
 * {@code posterior_success_rate}, {@code estimated_cost_per_solved_usd}) and what it saved against the dearest
 * candidate, and the window's split over time ({@code timeline}: up to 10 runs of consecutive tasks, each with its
 * tasks per candidate, successes and cost). Answered from memory on the event loop.
 */
public final class RoutesRoute implements ApiRoute {
    private static final String PATH = "/api/v1/routes";
    private static final JsonFactory JSON = new JsonFactory();

    private final Router router;
    private final Predicate<String> available;

    /** @param available whether a model can take new tasks now (its breaker is not open), for the current choice */
    public RoutesRoute(Router router, Predicate<String> available) {
        this.router = Objects.requireNonNull(router, "router");
        this.available = Objects.requireNonNull(available, "available");
    }

    @Override
    public boolean matches(HttpMethod method, String path) {
        return HttpMethod.GET.equals(method) && matchesPath(path);
    }

    @Override
    public boolean matchesPath(String path) {
        return path.equals(PATH) || path.startsWith(PATH + "/") && path.length() > PATH.length() + 1;
    }

    @Override
    public CompletableFuture<Response> handle(Request request) {
        Principal principal = request.requirePrincipal();
        if (!principal.admin()) {
            throw new GatewayException(ErrorType.FORBIDDEN, "admin key required: route figures cover every team");
        }
        if (request.path().equals(PATH)) {
            return CompletableFuture.completedFuture(Response.json(200, json(router.routes(), true)));
        }
        String name = URLDecoder.decode(request.path().substring(PATH.length() + 1).replace("+", "%2B"),
                StandardCharsets.UTF_8);
        RouteConfig config = router.config(name);
        if (config == null) {
            throw new GatewayException(ErrorType.NOT_FOUND, "no route " + name);
        }
        return CompletableFuture.completedFuture(Response.json(200, json(List.of(config), false)));
    }

    private byte[] json(List<RouteConfig> routes, boolean list) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(2048);
        try (JsonGenerator g = JSON.createGenerator(out)) {
            if (list) {
                g.writeStartObject();
                g.writeNumberField("window", Router.WINDOW);
                g.writeArrayFieldStart("data");
            }
            for (RouteConfig r : routes) {
                write(g, router.figures(r.name(), available));
            }
            if (list) {
                g.writeEndArray();
                g.writeEndObject();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private static void write(JsonGenerator g, RouteFigures f) throws IOException {
        RouteConfig r = f.config();
        g.writeStartObject();
        g.writeStringField("name", r.name());
        g.writeNumberField("min_success_rate", r.minSuccessRate());
        g.writeNumberField("exploration", r.exploration());
        g.writeStringField("metric", r.scoreThreshold() == null ? "success" : "score");
        if (r.scoreThreshold() != null) {
            g.writeNumberField("threshold", r.scoreThreshold());
        }
        g.writeStringField("current", f.current());
        g.writeNumberField("tasks", f.tasks());
        rate(g, "success_rate", f.successRate());
        usd(g, "cost_usd", f.costNanos());
        usd(g, "cost_per_solved_usd", f.costPerSolvedNanos());
        g.writeStringField("dearest", f.dearest());
        usd(g, "dearest_cost_per_solved_usd", f.dearestCostPerSolvedNanos());
        usd(g, "saved_usd", f.savedNanos());
        double share = f.costPerSolvedNanos() / f.dearestCostPerSolvedNanos();
        rate(g, "saved_share", Double.isFinite(share) ? 1 - share : Double.NaN);
        g.writeArrayFieldStart("timeline");
        for (RouteFigures.Slice slice : f.timeline()) {
            g.writeStartObject();
            g.writeStringField("from", java.time.Instant.ofEpochMilli(slice.fromMillis()).toString());
            g.writeStringField("to", java.time.Instant.ofEpochMilli(slice.toMillis()).toString());
            g.writeObjectFieldStart("tasks");
            for (int i = 0; i < slice.tasks().length; i++) {
                g.writeNumberField(r.candidates().get(i), slice.tasks()[i]);
            }
            g.writeEndObject();
            g.writeNumberField("solved", slice.solved());
            usd(g, "cost_usd", slice.costNanos());
            g.writeEndObject();
        }
        g.writeEndArray();
        g.writeArrayFieldStart("candidates");
        for (RouteFigures.Candidate c : f.candidates()) {
            g.writeStartObject();
            g.writeStringField("model", c.model());
            g.writeNumberField("tasks", c.tasks());
            g.writeNumberField("solved", c.solved());
            rate(g, "success_rate", c.successRate());
            rate(g, "success_rate_low", c.successRateLow());
            usd(g, "cost_per_solved_usd", c.costPerSolvedNanos());
            rate(g, "share", c.share());
            rate(g, "posterior_success_rate", c.posteriorMean());
            usd(g, "estimated_cost_per_solved_usd", c.estimatedCostPerSolvedNanos());
            g.writeEndObject();
        }
        g.writeEndArray();
        g.writeEndObject();
    }

    private static void rate(JsonGenerator g, String field, double value) throws IOException {
        if (Double.isFinite(value)) {
            g.writeNumberField(field, BigDecimal.valueOf(value).setScale(4, RoundingMode.HALF_UP).doubleValue());
        } else {
            g.writeNullField(field);
        }
    }

    private static void usd(JsonGenerator g, String field, double nanos) throws IOException {
        if (Double.isFinite(nanos)) {
            g.writeFieldName(field);
            g.writeNumber(Money.toUsd(Math.round(nanos)).toPlainString());
        } else {
            g.writeNullField(field);
        }
    }
}
