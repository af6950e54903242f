package dev.tokenwise.metrics.api;

import dev.tokenwise.core.accounting.AccountingCore;
import dev.tokenwise.core.auth.Principal;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.spi.ApiRoute;
import io.netty.handler.codec.http.HttpMethod;
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

    /** How long an answer waits for the ledger to decide a recent call's retry flag before saying {@code null}. */
    static final long RETRY_WAIT_MILLIS = 2_000;

    private final AccountingCore accounting;
    private final Function<String, Optional<UsageRecord>> ledgerLookup;
    private final Executor executor;
    private final RetryLookup retryLookup;

    /** The ledger's retry flag of a call (it decides the flag as it writes the call). */
    public interface RetryLookup {
        /** The flag once the call is written; empty when the ledger cannot say within {@code waitMillis}. */
        CompletableFuture<Optional<Boolean>> retry(String requestId, long waitMillis);
    }

    /** A route answering only from the accounting core's recent and in-flight calls. */
    public RequestsRoute(AccountingCore accounting) {
        this.accounting = Objects.requireNonNull(accounting, "accounting");
        this.ledgerLookup = null;
        this.executor = null;
        this.retryLookup = null;
    }

    /**
     * A route that falls back to {@code ledgerLookup} (e.g. {@code ledger::find}) for ids the accounting
     * core does not know; the lookup runs on {@code executor} (a worker pool, not an event loop).
     */
    public RequestsRoute(AccountingCore accounting, Function<String, Optional<UsageRecord>> ledgerLookup,
                         Executor executor) {
        this(accounting, ledgerLookup, executor, null);
    }

    /**
     * As above, and each answer carries the call's {@code retry} flag as the ledger decided it ({@code null} when
     * the ledger cannot say in time).
     */
    public RequestsRoute(AccountingCore accounting, Function<String, Optional<UsageRecord>> ledgerLookup,
                         Executor executor, RetryLookup retryLookup) {
        this.accounting = Objects.requireNonNull(accounting, "accounting");
        this.ledgerLookup = Objects.requireNonNull(ledgerLookup, "ledgerLookup");
        this.executor = Objects.requireNonNull(executor, "executor");
        this.retryLookup = retryLookup;
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
        return record.thenCompose(r -> {
            if (!principal.admin()
                    && !(Objects.equals(r.team(), principal.team()) && Objects.equals(r.keyId(), principal.keyId()))) {
                throw notFound(id);
            }
            if (retryLookup == null) {
                return CompletableFuture.completedFuture(Response.json(200, toJson(r, null)));
            }
            return retryLookup.retry(id, RETRY_WAIT_MILLIS)
                    .exceptionally(e -> Optional.empty())
                    .thenApply(retry -> Response.json(200, toJson(r, retry.orElse(null))));
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

    /** The record as JSON, with its {@code retry} flag ({@code null}: not known). */
    static byte[] toJson(UsageRecord r, Boolean retry) {
        return JsonBody.write(768, g -> {
            UsageRecordJson.write(g, r, retry);
        });
    }
}
