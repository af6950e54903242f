package dev.tokenwise.server;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.tokenwise.core.accounting.AccountingCore;
import dev.tokenwise.core.auth.Principal;
import dev.tokenwise.core.health.PeriodicTask;
import dev.tokenwise.core.spi.ApiRoute;
import dev.tokenwise.core.spi.ProviderStats;
import dev.tokenwise.metrics.ledger.Ledger;
import dev.tokenwise.server.cluster.RedisLink;
import io.netty.handler.codec.http.HttpMethod;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * {@code GET /healthz}: whether the gateway serves and books calls.
 *
 * <ul>
 *   <li>{@code 200 {"status":"ok"}}: it does.</li>
 *   <li>{@code 200 {"status":"degraded"}}: it serves and keeps every record, but the ledger cannot write for now
 *       (records wait in memory and are retried), so a load balancer does not pull a gateway whose only problem
 *       is a full disk.</li>
 *   <li>{@code 503 {"status":"degraded"}}: records no longer flow (a background thread that books them died or
 *       is stuck, see {@link AccountingCore#recordingStopped}); the gateway refuses calls until they do, so it is
 *       not a gateway to send calls to. Also while a background task that keeps the budgets right fails (the
 *       reaper of expired reservations; in cluster mode the Redis watcher that renews budget slices and applies
 *       admin changes): the admin view names it under {@code background}.</li>
 * </ul>
 *
 * Without the admin key that is all it says. With it, the body also has the ledger's state and last error, why
 * records stopped, the record queue, the calls in flight and each provider's circuit breaker. Reads only
 * in-memory state. In cluster mode it also names the instance and says whether Redis is reachable ({@code degraded}
 * while it is not: calls with a budget are refused, the rest are served).
 */
final class HealthRoute implements ApiRoute {
    private static final JsonFactory JSON = new JsonFactory();

    private final Ledger ledger;
    private final AccountingCore accounting;
    private final Supplier<? extends Map<String, ? extends ProviderStats>> providers;
    /** The cluster's Redis, or {@code null} on a single node. */
    private final RedisLink redis;
    private final List<PeriodicTask> background;

    /** @param providers the providers' breakers; empty until the server has started */
    HealthRoute(Ledger ledger, AccountingCore accounting, Supplier<? extends Map<String, ? extends ProviderStats>> providers) {
        this(ledger, accounting, providers, null);
    }

    /** @param redis the cluster's Redis (cluster mode), or {@code null} */
    HealthRoute(Ledger ledger, AccountingCore accounting,
                Supplier<? extends Map<String, ? extends ProviderStats>> providers, RedisLink redis) {
        this(ledger, accounting, providers, redis, List.of());
    }

    /** @param background the periodic tasks that keep the budgets right; one failing takes health down */
    HealthRoute(Ledger ledger, AccountingCore accounting,
                Supplier<? extends Map<String, ? extends ProviderStats>> providers, RedisLink redis,
                List<PeriodicTask> background) {
        this.ledger = ledger;
        this.accounting = accounting;
        this.providers = providers;
        this.redis = redis;
        this.background = List.copyOf(background);
    }

    @Override
    public boolean matches(HttpMethod method, String path) {
        return "/healthz".equals(path) && (HttpMethod.GET.equals(method) || HttpMethod.HEAD.equals(method));
    }

    @Override
    public CompletableFuture<Response> handle(Request request) {
        String stopped = accounting.recordingStopped();
        boolean ledgerHealthy = ledger.healthy();
        boolean backgroundFailing = background.stream().anyMatch(t -> t.failure() != null);
        Principal principal = request.principal();
        boolean admin = principal != null && principal.admin();
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        try (JsonGenerator g = JSON.createGenerator(out)) {
            g.writeStartObject();
            boolean redisUp = redis == null || redis.up();
            g.writeStringField("status", stopped == null && ledgerHealthy && redisUp && !backgroundFailing ? "ok"
                    : "degraded");
            if (redis != null) {
                g.writeStringField("instance_id", redis.config().instanceId());
                g.writeObjectFieldStart("cluster");
                g.writeBooleanField("redis_up", redisUp);
                if (admin) {
                    g.writeStringField("last_error", redisUp ? null : redis.lastError());
                }
                g.writeEndObject();
            }
            if (admin) {
                g.writeObjectFieldStart("recording");
                g.writeBooleanField("flowing", stopped == null);
                g.writeStringField("stopped_reason", stopped);
                g.writeNumberField("sink_failures", accounting.dispatcher().sinkFailures());
                g.writeEndObject();
                g.writeObjectFieldStart("ledger");
                g.writeBooleanField("healthy", ledgerHealthy);
                g.writeNumberField("pending_records", ledger.pendingRecords());
                g.writeNumberField("rejected_records", ledger.rejectedRecords());
                g.writeStringField("last_error", ledger.lastError().orElse(null));
                g.writeEndObject();
                g.writeObjectFieldStart("providers");
                for (ProviderStats p : providers.get().values()) {
                    g.writeObjectFieldStart(p.provider());
                    g.writeStringField("circuit", p.state().name().toLowerCase(Locale.ROOT));
                    g.writeNumberField("consecutive_failures", p.consecutiveFailures());
                    g.writeNumberField("retries", p.retries());
                    g.writeNumberField("refused_by_breaker", p.refusedByBreaker());
                    g.writeEndObject();
                }
                g.writeEndObject();
                g.writeObjectFieldStart("background");
                for (PeriodicTask t : background) {
                    g.writeStringField(t.name(), t.failure() == null ? "ok" : t.failure());
                }
                g.writeEndObject();
                g.writeNumberField("records_queued", accounting.dispatcher().depth());
                g.writeNumberField("calls_in_flight", accounting.inFlightCount());
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return CompletableFuture.completedFuture(Response.json(stopped == null && !backgroundFailing ? 200 : 503,
                out.toByteArray()));
    }
}
