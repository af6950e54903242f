package dev.tokenwise.server;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.tokenwise.core.accounting.AccountingCore;
import dev.tokenwise.core.proxy.ProviderHealth;
import dev.tokenwise.core.spi.ApiRoute;
import dev.tokenwise.metrics.ledger.SqliteLedger;
import io.netty.handler.codec.http.HttpMethod;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * {@code GET /healthz}: {@code ok}, or {@code degraded} while the ledger cannot write (records are kept
 * in memory and retried); also each provider's circuit breaker. Always 200 while the proxy serves, so a load balancer does not pull a gateway
 * whose only problem is a full disk; the body says what is wrong. Reads only in-memory state.
 */
final class HealthRoute implements ApiRoute {
    private static final JsonFactory JSON = new JsonFactory();

    private final SqliteLedger ledger;
    private final AccountingCore accounting;
    private final Supplier<Map<String, ProviderHealth>> providers;

    /** @param providers the providers' breakers; empty until the server has started */
    HealthRoute(SqliteLedger ledger, AccountingCore accounting, Supplier<Map<String, ProviderHealth>> providers) {
        this.ledger = ledger;
        this.accounting = accounting;
        this.providers = providers;
    }

    @Override
    public boolean matches(HttpMethod method, String path) {
        return "/healthz".equals(path) && (HttpMethod.GET.equals(method) || HttpMethod.HEAD.equals(method));
    }

    @Override
    public CompletableFuture<Response> handle(Request request) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        try (JsonGenerator g = JSON.createGenerator(out)) {
            boolean healthy = ledger.healthy();
            g.writeStartObject();
            g.writeStringField("status", healthy ? "ok" : "degraded");
            g.writeObjectFieldStart("ledger");
            g.writeBooleanField("healthy", healthy);
            g.writeNumberField("pending_records", ledger.pendingRecords());
            g.writeStringField("last_error", ledger.lastError().orElse(null));
            g.writeEndObject();
            g.writeObjectFieldStart("providers");
            for (ProviderHealth p : providers.get().values()) {
                g.writeObjectFieldStart(p.provider());
                g.writeStringField("circuit", p.state().name().toLowerCase(java.util.Locale.ROOT));
                g.writeNumberField("consecutive_failures", p.consecutiveFailures());
                g.writeNumberField("retries", p.retries());
                g.writeNumberField("refused_by_breaker", p.refusedByBreaker());
                g.writeEndObject();
            }
            g.writeEndObject();
            g.writeNumberField("records_queued", accounting.dispatcher().depth());
            g.writeNumberField("calls_in_flight", accounting.inFlightCount());
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return CompletableFuture.completedFuture(Response.json(200, out.toByteArray()));
    }
}
