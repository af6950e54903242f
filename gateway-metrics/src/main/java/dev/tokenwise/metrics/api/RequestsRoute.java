package dev.tokenwise.metrics.api;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.tokenwise.core.accounting.AccountingCore;
import dev.tokenwise.core.auth.Principal;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.spi.ApiRoute;
import io.netty.handler.codec.http.HttpMethod;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code GET /api/v1/requests/{id}}: the usage record of one call, for the admin key or the key that
 * made the call (others get 404, so ids of other teams do not leak). A call still in flight is
 * answered when it settles. A call the accounting core no longer remembers (older, or made before a
 * restart) is looked up in the ledger, on the executor given to the constructor, never on the event loop.
 */
public final class RequestsRoute implements ApiRoute {
    private static final Logger log = LoggerFactory.getLogger(RequestsRoute.class);
    private static final String PREFIX = "/api/v1/requests/";
    private static final JsonFactory JSON = new JsonFactory();

    private final AccountingCore accounting;
    private final Function<String, Optional<UsageRecord>> ledgerLookup;
    private final Executor executor;

    /** A route answering only from the accounting core's recent and in-flight calls. */
    public RequestsRoute(AccountingCore accounting) {
        this.accounting = Objects.requireNonNull(accounting, "accounting");
        this.ledgerLookup = null;
        this.executor = null;
    }

    /**
     * A route that falls back to {@code ledgerLookup} (e.g. {@code ledger::find}) for ids the accounting
     * core does not know; the lookup runs on {@code executor} (a worker pool, not an event loop).
     */
    public RequestsRoute(AccountingCore accounting, Function<String, Optional<UsageRecord>> ledgerLookup,
                         Executor executor) {
        this.accounting = Objects.requireNonNull(accounting, "accounting");
        this.ledgerLookup = Objects.requireNonNull(ledgerLookup, "ledgerLookup");
        this.executor = Objects.requireNonNull(executor, "executor");
    }

    @Override
    public boolean matches(HttpMethod method, String path) {
        return HttpMethod.GET.equals(method) && matchesPath(path);
    }

    @Override
    public boolean matchesPath(String path) {
        return path.startsWith(PREFIX) && path.length() > PREFIX.length() && path.indexOf('/', PREFIX.length()) < 0;
    }

    @Override
    public CompletableFuture<Response> handle(Request request) {
        Principal principal = request.requirePrincipal();
        String id = request.path().substring(PREFIX.length());
        CompletableFuture<UsageRecord> record = accounting.lookup(id);
        if (record == null) {
            if (ledgerLookup == null) {
                throw notFound(id);
            }
            record = CompletableFuture.supplyAsync(() -> fromLedger(id), executor);
        }
        return record.thenApply(r -> {
            if (!principal.admin()
                    && !(Objects.equals(r.team(), principal.team()) && Objects.equals(r.keyId(), principal.keyId()))) {
                throw notFound(id);
            }
            return Response.json(200, toJson(r));
        });
    }

    private UsageRecord fromLedger(String id) {
        Optional<UsageRecord> found;
        try {
            found = ledgerLookup.apply(id);
        } catch (RuntimeException e) {
            log.error("Looking up request {} in the ledger failed", id, e);
            throw new GatewayException(ErrorType.UNAVAILABLE, "the usage ledger cannot be read right now");
        }
        return found.orElseThrow(() -> notFound(id));
    }

    private static GatewayException notFound(String id) {
        return new GatewayException(ErrorType.NOT_FOUND, "no request " + id);
    }

    static byte[] toJson(UsageRecord r) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(768);
        try (JsonGenerator g = JSON.createGenerator(out)) {
            UsageRecordJson.write(g, r);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
