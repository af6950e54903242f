package dev.tokenwise.metrics.api;

import static dev.tokenwise.metrics.ledger.TestRecords.record;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenwise.core.accounting.AccountingCore;
import dev.tokenwise.core.auth.Principal;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.model.RecordFlag;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.spi.ApiRoute;
import dev.tokenwise.core.spi.ApiRoute.Request;
import dev.tokenwise.core.spi.ApiRoute.Response;
import dev.tokenwise.metrics.ledger.SqliteLedger;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RequestsRouteTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;
    private final AccountingCore accounting = new AccountingCore(List.of(), 16, 100);
    private final List<Runnable> tasks = new ArrayList<>();

    @AfterEach
    void tearDown() {
        accounting.close();
    }

    @Test
    void answersAnOlderCallFromTheLedgerOffTheCallersThread() throws Exception {
        try (SqliteLedger ledger = SqliteLedger.open(dir.resolve("ledger.db"), SqliteLedger.Sync.NORMAL)) {
            ledger.accept(record("req_old", "a", "a1", "m1", 1_000, 12_300).withFlags(RecordFlag.USAGE_REJECTED.bit()));
            assertTrue(ledger.flush(Duration.ofSeconds(30)));
            RequestsRoute route = new RequestsRoute(accounting, ledger::find, tasks::add);

            CompletableFuture<Response> answer = route.handle(request("req_old", Principal.key("a", "a1")));
            assertFalse(answer.isDone());
            runTasks();
            JsonNode json = JSON.readTree(answer.get(5, TimeUnit.SECONDS).body());
            assertEquals("req_old", json.get("id").asText());
            assertEquals(12_300, json.get("cost_nanos").asLong());
            assertEquals("[\"usage_rejected\"]", json.get("flags").toString());
            assertTrue(json.get("retry").isNull(), "no retry lookup given: not known");
        }
    }

    @Test
    void saysWhetherTheLedgerFlaggedTheCallAsARetry() throws Exception {
        try (SqliteLedger ledger = SqliteLedger.open(dir.resolve("ledger.db"), SqliteLedger.Sync.NORMAL)) {
            ledger.accept(dev.tokenwise.metrics.ledger.TaskFixture.call("r1", "a", "a1", "m1", "t", 0, 9, 1, 1, 0,
                    "stop", 1_000));
            ledger.accept(dev.tokenwise.metrics.ledger.TaskFixture.call("r2", "a", "a1", "m1", "t", 0, 9, 1, 1, 0,
                    "stop", 2_000));
            assertTrue(ledger.flush(Duration.ofSeconds(30)));
            RequestsRoute route = new RequestsRoute(accounting, ledger::find, Runnable::run,
                    (id, waitMillis) -> CompletableFuture.completedFuture(ledger.tasks().retry(id)));
            JsonNode first = JSON.readTree(route.handle(request("r1", Principal.ADMIN)).get(5, TimeUnit.SECONDS).body());
            JsonNode second = JSON.readTree(route.handle(request("r2", Principal.ADMIN)).get(5, TimeUnit.SECONDS).body());
            assertFalse(first.get("retry").asBoolean());
            assertTrue(second.get("retry").asBoolean(), "the same task asked the same model the same prompt");
        }
    }

    @Test
    void hidesALedgerRecordFromAnotherKey() {
        Map<String, UsageRecord> older = Map.of("req_old", record("req_old", "a", "a1", "m1", 1, 1));
        RequestsRoute route = new RequestsRoute(accounting, id -> Optional.ofNullable(older.get(id)), tasks::add);
        assertEquals(ErrorType.NOT_FOUND, failure(route, "req_old", Principal.key("a", "a2")).type());
        assertEquals(ErrorType.NOT_FOUND, failure(route, "req_old", Principal.key("b", "a1")).type());
    }

    @Test
    void answersNotFoundWhenTheLedgerDoesNotKnowTheIdEither() {
        RequestsRoute route = new RequestsRoute(accounting, id -> Optional.empty(), tasks::add);
        assertEquals(ErrorType.NOT_FOUND, failure(route, "req_none", Principal.ADMIN).type());
    }

    @Test
    void answersUnavailableWhenTheLedgerFails() {
        RequestsRoute route = new RequestsRoute(accounting, id -> {
            throw new IllegalStateException("disk on fire");
        }, tasks::add);
        assertEquals(ErrorType.UNAVAILABLE, failure(route, "req_x", Principal.ADMIN).type());
    }

    @Test
    void prefersTheAccountingCoreForRecentCalls() throws Exception {
        UsageRecord recent = record("req_recent", "a", "a1", "m1", 1, 5);
        accounting.begin("req_recent");
        accounting.settle(recent);
        RequestsRoute route = new RequestsRoute(accounting, id -> {
            throw new AssertionError("the ledger must not be asked");
        }, tasks::add);
        Response response = route.handle(request("req_recent", Principal.ADMIN)).get(5, TimeUnit.SECONDS);
        assertEquals(200, response.status());
        assertTrue(tasks.isEmpty());
    }

    @Test
    void keepsAnsweringNotFoundWithoutALedger() {
        RequestsRoute route = new RequestsRoute(accounting);
        assertEquals(ErrorType.NOT_FOUND, failure(route, "req_unknown", Principal.ADMIN).type());
        assertEquals(ErrorType.INVALID_API_KEY, failure(route, "req_unknown", null).type());
    }

    private void runTasks() {
        while (!tasks.isEmpty()) {
            tasks.remove(0).run();
        }
    }

    private GatewayException failure(ApiRoute route, String id, Principal principal) {
        try {
            CompletableFuture<Response> answer = route.handle(request(id, principal));
            runTasks();
            answer.get(5, TimeUnit.SECONDS);
        } catch (GatewayException e) {
            return e;
        } catch (ExecutionException e) {
            if (e.getCause() instanceof GatewayException g) {
                return g;
            }
            throw new AssertionError("unexpected failure", e.getCause());
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        return fail("expected an error for " + id);
    }

    private static Request request(String id, Principal principal) {
        return new Request(HttpMethod.GET, "/api/v1/requests/" + id, Map.of(), new DefaultHttpHeaders(), new byte[0],
                principal);
    }
}
