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
import java.util.concurrent.CompletableFuture;

/**
 * {@code GET /api/v1/requests/{id}}: the usage record of one call, for the admin key or the key that
 * made the call (others get 404, so ids of other teams do not leak). A call still in flight is
 * answered when it settles.
 */
public final class RequestsRoute implements ApiRoute {
    private static final String PREFIX = "/api/v1/requests/";
    private static final JsonFactory JSON = new JsonFactory();

    private final AccountingCore accounting;

    public RequestsRoute(AccountingCore accounting) {
        this.accounting = accounting;
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
        Principal principal = request.principal();
        if (principal == null) {
            throw new GatewayException(ErrorType.INVALID_API_KEY, "missing or invalid API key");
        }
        String id = request.path().substring(PREFIX.length());
        CompletableFuture<UsageRecord> record = accounting.lookup(id);
        if (record == null) {
            throw notFound(id);
        }
        return record.thenApply(r -> {
            if (!principal.admin() && !(r.team().equals(principal.team()) && r.keyId().equals(principal.keyId()))) {
                throw notFound(id);
            }
            return Response.json(200, toJson(r));
        });
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
