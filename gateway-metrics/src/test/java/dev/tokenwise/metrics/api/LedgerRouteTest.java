package dev.tokenwise.metrics.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenwise.core.auth.Principal;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.spi.ApiRoute.Request;
import dev.tokenwise.core.spi.ApiRoute.Response;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** What every ledger route shares: the key check, the read on a worker, 503 for a ledger that fails, the JSON. */
class LedgerRouteTest {

    /** Tasks handed to the worker, run when the test says. */
    private final List<Runnable> worker = new ArrayList<>();

    /** A route whose read is given by the test; it answers {@code {"team": <own team>, "value": <read>}}. */
    private LedgerRoute route(LedgerRoute.LedgerRead<String> read) {
        return new LedgerRoute("/api/v1/test", worker::add) {
            @Override
            protected CompletableFuture<Response> answer(Request request, Principal caller) {
                if ("bad".equals(request.queryParam("x"))) {
                    throw new GatewayException(ErrorType.BAD_REQUEST, "x: bad");
                }
                String team = ownTeam(caller);
                return read(read, value -> json(64, g -> {
                    g.writeStartObject();
                    g.writeStringField("team", team);
                    g.writeStringField("value", value);
                    g.writeEndObject();
                }));
            }
        };
    }

    private static Request get(Principal principal, String query) {
        Map<String, List<String>> params = query.isEmpty() ? Map.of() : Map.of("x", List.of(query));
        return new Request(HttpMethod.GET, "/api/v1/test", params, new DefaultHttpHeaders(), new byte[0], principal);
    }

    private CompletableFuture<Response> runWorker(CompletableFuture<Response> answer) {
        assertFalse(answer.isDone(), "the read waits for the worker, it does not run on the calling thread");
        assertEquals(1, worker.size());
        worker.remove(0).run();
        return answer;
    }

    private static GatewayException failure(CompletableFuture<Response> answer) {
        ExecutionException e = assertThrows(ExecutionException.class, () -> answer.get(5, TimeUnit.SECONDS));
        return assertInstanceOf(GatewayException.class, e.getCause());
    }

    @Test
    void readsOnTheWorkerAndAnswersJsonScopedToTheCallersTeam() throws Exception {
        Response team = runWorker(route(() -> "v").handle(get(Principal.key("a", "a1"), ""))).get(5, TimeUnit.SECONDS);
        assertEquals(200, team.status());
        assertEquals("application/json", team.contentType());
        assertEquals("{\"team\":\"a\",\"value\":\"v\"}", new String(team.body(), StandardCharsets.UTF_8));

        Response admin = runWorker(route(() -> "v").handle(get(Principal.ADMIN, ""))).get(5, TimeUnit.SECONDS);
        assertEquals("{\"team\":null,\"value\":\"v\"}", new String(admin.body(), StandardCharsets.UTF_8));
    }

    @Test
    void refusesACallerWithoutAKeyBeforeReadingAnything() {
        GatewayException e = assertThrows(GatewayException.class, () -> route(() -> "v").handle(get(null, "")));
        assertEquals(ErrorType.INVALID_API_KEY, e.type());
        assertTrue(worker.isEmpty());
    }

    @Test
    void answersABadParameterOnTheCallingThreadWithoutReading() {
        GatewayException e = assertThrows(GatewayException.class,
                () -> route(() -> "v").handle(get(Principal.ADMIN, "bad")));
        assertEquals(ErrorType.BAD_REQUEST, e.type());
        assertTrue(worker.isEmpty());
    }

    @Test
    void answersUnavailableWhenTheLedgerReadFails() {
        assertEquals(ErrorType.UNAVAILABLE, failure(runWorker(route(() -> {
            throw new SQLException("database is locked");
        }).handle(get(Principal.ADMIN, "")))).type());
        GatewayException closed = failure(runWorker(route(() -> {
            throw new IllegalStateException("ledger closed");
        }).handle(get(Principal.ADMIN, ""))));
        assertEquals(ErrorType.UNAVAILABLE, closed.type());
        assertEquals(LedgerRoute.UNREADABLE, closed.getMessage());
    }

    @Test
    void passesAGatewayErrorOfTheReadThroughAsItIs() {
        assertEquals(ErrorType.NOT_FOUND, failure(runWorker(route(() -> {
            throw new GatewayException(ErrorType.NOT_FOUND, "no such thing");
        }).handle(get(Principal.ADMIN, "")))).type());
    }

    @Test
    void aFailureWritingTheAnswerIsNotReportedAsAnUnavailableLedger() {
        LedgerRoute broken = new LedgerRoute("/api/v1/test", worker::add) {
            @Override
            protected CompletableFuture<Response> answer(Request request, Principal caller) {
                return read(() -> "v", value -> {
                    throw new IllegalStateException("a bug in the writer");
                });
            }
        };
        ExecutionException e = assertThrows(ExecutionException.class,
                () -> runWorker(broken.handle(get(Principal.ADMIN, ""))).get(5, TimeUnit.SECONDS));
        assertInstanceOf(IllegalStateException.class, e.getCause());
    }
}
