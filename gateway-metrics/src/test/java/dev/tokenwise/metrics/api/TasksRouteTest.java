package dev.tokenwise.metrics.api;

import static dev.tokenwise.metrics.ledger.TaskFixture.IDLE_MILLIS;
import static dev.tokenwise.metrics.ledger.TaskFixture.T0;
import static dev.tokenwise.metrics.ledger.TaskFixture.call;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenwise.core.auth.Principal;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.spi.ApiRoute.Request;
import dev.tokenwise.core.spi.ApiRoute.Response;
import dev.tokenwise.metrics.efficiency.AlertBook;
import dev.tokenwise.metrics.efficiency.EfficiencySettings;
import dev.tokenwise.metrics.efficiency.EfficiencyTracker;
import dev.tokenwise.metrics.ledger.EfficiencyTotals;
import dev.tokenwise.metrics.ledger.GroupBy;
import dev.tokenwise.metrics.ledger.SqliteLedger;
import dev.tokenwise.metrics.ledger.TaskFixture;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TasksRouteTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Principal A1 = Principal.key("a", "a1");
    private static final Principal A2 = Principal.key("a", "a2");
    private static final Principal B1 = Principal.key("b", "b1");

    @TempDir
    Path dir;
    private final AtomicLong clock = new AtomicLong(T0 + 2 * IDLE_MILLIS);
    private SqliteLedger ledger;
    private EfficiencyTracker tracker;
    private ExecutorService executor;
    private TasksRoute route;

    @BeforeEach
    void setUp() {
        ledger = SqliteLedger.open(dir.resolve("ledger.db"), SqliteLedger.Sync.NORMAL);
        tracker = new EfficiencyTracker(new AlertBook(clock::get, null), m -> true,
                EfficiencySettings.DEFAULTS.withTaskIdle(Duration.ofMillis(IDLE_MILLIS)), clock::get);
        TaskFixture.calls().forEach(r -> {
            ledger.accept(r);
            tracker.accept(r);
        });
        assertTrue(ledger.flush(Duration.ofSeconds(30)));
        executor = Executors.newSingleThreadExecutor();
        route = new TasksRoute(ledger, tracker, executor);
    }

    @AfterEach
    void tearDown() {
        ledger.close();
        executor.shutdownNow();
    }

    @Test
    void answersATaskWithItsFiguresForAnyKeyOfItsTeam() throws Exception {
        JsonNode t = ok(get(A2, "fix-login")); // a2 did not run it, but is of team a
        assertEquals("fix-login", t.get("task_id").asText());
        assertEquals("a", t.get("team").asText());
        assertEquals(3, t.get("calls").asLong());
        assertEquals(2, t.get("retries").asLong());
        assertEquals(1, t.get("truncated").asLong());
        assertEquals(350, t.get("input_tokens").asLong());
        assertEquals(310, t.get("output_tokens").asLong());
        assertEquals("0.0045", t.get("cost_usd").asText());
        assertEquals(4_500_000, t.get("cost_nanos").asLong());
        assertTrue(t.get("success").isNull());
        assertEquals("unknown", t.get("status").asText(), "no outcome and idle for more than an hour");
        assertEquals("[\"sim-small\"]", t.get("models").toString());
        assertEquals("2026-11-28T10:00:00Z", t.get("first_at").asText());
        assertEquals("2026-11-28T10:00:20Z", t.get("last_at").asText());
    }

    @Test
    void reportsAnOutcomeAndReplacesAnEarlierOne() throws Exception {
        JsonNode first = ok(post(A2, "write-tests", "{\"success\": true}"));
        assertEquals("succeeded", first.get("status").asText());
        assertTrue(first.get("success").asBoolean());
        assertTrue(first.get("score").isNull());

        JsonNode second = ok(post(A2, "write-tests", "{\"success\": false, \"score\": 0.2, \"note\": \"flaky\"}"));
        assertEquals("failed", second.get("status").asText());
        assertEquals(0.2, second.get("score").asDouble());
        assertEquals("flaky", second.get("note").asText());
        assertEquals("[\"sim-small\",\"sim-large\"]", second.get("models").toString());
        assertEquals("sim-large", second.get("last_model").asText());

        JsonNode read = ok(get(A1, "write-tests"));
        assertFalse(read.get("success").asBoolean());
        assertEquals("failed", read.get("status").asText());
        assertEquals("a2", ledger.tasks().outcome("a", "write-tests").orElseThrow().keyId());
        // counted once, as failed, in the ledger and in the live figures
        for (List<EfficiencyTotals> rows : List.of(
                ledger.tasks().efficiency(GroupBy.MODEL, 0, clock.get(), null, clock.get() - IDLE_MILLIS),
                tracker.live(GroupBy.MODEL))) {
            EfficiencyTotals large = rows.stream().filter(r -> r.group().equals("sim-large")).findFirst().orElseThrow();
            assertEquals(1, large.tasks());
            assertEquals(1, large.failed());
            assertEquals(0, large.succeeded());
        }
    }

    @Test
    void letsTheAdminReportAnyTasksOutcome() throws Exception {
        JsonNode t = ok(post(Principal.ADMIN, "summarise", "{\"success\": true, \"score\": 1}"));
        assertEquals("b", t.get("team").asText());
        assertEquals("succeeded", t.get("status").asText());
        assertEquals(null, ledger.tasks().outcome("b", "summarise").orElseThrow().keyId());
    }

    @Test
    void saysPendingWhileATaskWithoutOutcomeIsNotIdle() throws Exception {
        clock.set(T0 + 60_000 + IDLE_MILLIS - 1);
        assertEquals("pending", ok(get(B1, "summarise")).get("status").asText());
        clock.set(T0 + 60_000 + IDLE_MILLIS + 1);
        assertEquals("unknown", ok(get(B1, "summarise")).get("status").asText());
    }

    @Test
    void refusesCallersWithoutAKeyOrOfAnotherKeyOfTheTeam() {
        assertEquals(ErrorType.INVALID_API_KEY, failure(get(null, "fix-login")).type());
        GatewayException otherKey = failure(post(A2, "fix-login", "{\"success\": true}"));
        assertEquals(ErrorType.FORBIDDEN, otherKey.type());
        assertTrue(otherKey.getMessage().contains("run by another key"), otherKey.getMessage());
        assertTrue(ledger.tasks().outcome("a", "fix-login").isEmpty(), "nothing stored on a refusal");
    }

    @Test
    void answersAnotherTeamsTaskExactlyAsATaskThatDoesNotExist() {
        // fix-login is team a's; team b reading it or reporting on it learns nothing, not even that it exists.
        for (String task : List.of("fix-login", "nope")) {
            GatewayException read = failure(get(B1, task));
            assertEquals(ErrorType.NOT_FOUND, read.type());
            assertEquals("no task " + task, read.getMessage());
            GatewayException report = failure(post(B1, task, "{\"success\": true}"));
            assertEquals(ErrorType.NOT_FOUND, report.type());
            assertEquals("no task " + task, report.getMessage());
        }
        assertTrue(ledger.tasks().outcome("a", "fix-login").isEmpty(), "nothing stored on a refusal");
    }

    @Test
    void answersNotFoundForAnUnknownTask() {
        for (Principal p : List.of(A1, Principal.ADMIN)) {
            GatewayException e = failure(get(p, "nope"));
            assertEquals(ErrorType.NOT_FOUND, e.type());
            assertEquals("no task nope", e.getMessage());
            assertEquals(ErrorType.NOT_FOUND, failure(post(p, "nope", "{\"success\": true}")).type());
        }
    }

    @Test
    void rejectsABadBodyNamingTheField() {
        assertBadBody("", "body: expected a JSON object");
        assertBadBody("[true]", "body: expected a JSON object");
        assertBadBody("{\"success\": tru", "body: not valid JSON");
        assertBadBody("{}", "success: missing (expected: true or false)");
        assertBadBody("{\"success\": \"yes\"}", "success: \"yes\" (expected: true or false)");
        assertBadBody("{\"success\": true, \"score\": 1.5}", "score: 1.5 (expected: a number from 0 to 1)");
        assertBadBody("{\"success\": true, \"score\": \"high\"}", "score: \"high\"");
        assertBadBody("{\"success\": true, \"note\": 5}", "note: expected a string");
        assertBadBody("{\"success\": true, \"note\": \"" + "x".repeat(2_001) + "\"}", "note: expected a string");
        assertBadBody("{\"sucess\": true}", "unknown field: sucess (expected: success, score, note)");
    }

    private void assertBadBody(String body, String message) {
        GatewayException e = failure(post(A1, "fix-login", body));
        assertEquals(ErrorType.BAD_REQUEST, e.type(), body);
        assertTrue(e.getMessage().startsWith(message), e.getMessage());
    }

    @Test
    void asksTheAdminToNameTheTeamOfAnIdSeveralTeamsUse() throws Exception {
        ledger.accept(call("b-login", "b", "b1", "sim-small", "fix-login", 0, 1, 5, 5, 0.1, "stop", T0));
        assertTrue(ledger.flush(Duration.ofSeconds(30)));
        GatewayException e = failure(get(Principal.ADMIN, "fix-login"));
        assertEquals(ErrorType.BAD_REQUEST, e.type());
        assertEquals("task fix-login is used by several teams (a, b): name one with ?team=", e.getMessage());
        assertEquals(1, ok(route.handle(request(HttpMethod.GET, "/api/v1/tasks/fix-login", "team=b", Principal.ADMIN,
                ""))).get("calls").asLong());
        // each team sees its own task under the same id
        assertEquals(1, ok(get(B1, "fix-login")).get("calls").asLong());
        assertEquals(3, ok(get(A1, "fix-login")).get("calls").asLong());
    }

    @Test
    void answersATaskWhoseCallsAreNotCommittedYetFromTheTracker() throws Exception {
        tracker.accept(call("fresh", "a", "a1", "sim-small", "just-started", 0, 9, 10, 20, 0.3, "stop", clock.get()));
        JsonNode t = ok(get(A1, "just-started"));
        assertEquals(1, t.get("calls").asLong());
        assertEquals("pending", t.get("status").asText());
        JsonNode reported = ok(post(A1, "just-started", "{\"success\": true}"));
        assertEquals("succeeded", reported.get("status").asText());
        assertTrue(ledger.tasks().outcome("a", "just-started").orElseThrow().success());
    }

    @Test
    void decodesThePercentEncodedTaskId() throws Exception {
        ledger.accept(call("odd", "a", "a1", "sim-small", "a b/c+d", 0, 1, 5, 5, 0.1, "stop", T0));
        assertTrue(ledger.flush(Duration.ofSeconds(30)));
        assertEquals("a b/c+d", ok(get(A1, "a%20b%2Fc+d")).get("task_id").asText());
        assertEquals(ErrorType.BAD_REQUEST, failure(get(A1, "x%0Ay")).type());
        assertEquals(ErrorType.BAD_REQUEST, failure(get(A1, "x".repeat(129))).type());
    }

    @Test
    void readsAndWritesTheLedgerOnTheExecutorNotTheCaller() throws Exception {
        List<Runnable> tasks = new ArrayList<>();
        TasksRoute deferred = new TasksRoute(ledger, tracker, tasks::add);
        CompletableFuture<Response> read = deferred.handle(request(HttpMethod.GET, "/api/v1/tasks/fix-login", "", A1, ""));
        CompletableFuture<Response> write = deferred.handle(request(HttpMethod.POST, "/api/v1/tasks/fix-login/outcome",
                "", A1, "{\"success\": true}"));
        assertFalse(read.isDone());
        assertFalse(write.isDone());
        assertTrue(ledger.tasks().outcome("a", "fix-login").isEmpty());
        assertEquals(2, tasks.size());
        tasks.forEach(Runnable::run);
        assertEquals(200, read.get(5, TimeUnit.SECONDS).status());
        assertEquals(200, write.get(5, TimeUnit.SECONDS).status());
    }

    @Test
    void answersUnavailableWhenTheLedgerCannotBeRead() {
        ledger.close();
        assertEquals(ErrorType.UNAVAILABLE, failure(get(A1, "fix-login")).type());
        assertEquals(ErrorType.UNAVAILABLE, failure(post(A1, "fix-login", "{\"success\": true}")).type());
    }

    @Test
    void matchesGetOnATaskAndPostOnItsOutcome() {
        assertTrue(route.matches(HttpMethod.GET, "/api/v1/tasks/t1"));
        assertTrue(route.matches(HttpMethod.POST, "/api/v1/tasks/t1/outcome"));
        assertFalse(route.matches(HttpMethod.POST, "/api/v1/tasks/t1"));
        assertFalse(route.matches(HttpMethod.GET, "/api/v1/tasks/t1/outcome"));
        assertFalse(route.matches(HttpMethod.GET, "/api/v1/tasks/"));
        assertTrue(route.matchesPath("/api/v1/tasks/t1/outcome"));
        assertFalse(route.matchesPath("/api/v1/tasks"));
    }

    private CompletableFuture<Response> get(Principal principal, String encodedId) {
        return answer(() -> route.handle(request(HttpMethod.GET, "/api/v1/tasks/" + encodedId, "", principal, "")));
    }

    private CompletableFuture<Response> post(Principal principal, String encodedId, String body) {
        return answer(() -> route.handle(request(HttpMethod.POST, "/api/v1/tasks/" + encodedId + "/outcome", "", principal,
                body)));
    }

    /** Turns an exception thrown by {@code handle} itself into a failed future, as the frontend answers both alike. */
    private static CompletableFuture<Response> answer(Supplier<CompletableFuture<Response>> handle) {
        try {
            return handle.get();
        } catch (GatewayException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    private static JsonNode ok(CompletableFuture<Response> answer) throws Exception {
        Response response = answer.get(5, TimeUnit.SECONDS);
        assertEquals(200, response.status());
        assertEquals("application/json", response.contentType());
        return JSON.readTree(new String(response.body(), StandardCharsets.UTF_8));
    }

    private static GatewayException failure(CompletableFuture<Response> answer) {
        try {
            answer.get(5, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof GatewayException g) {
                return g;
            }
            throw new AssertionError("unexpected failure", e.getCause());
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        return fail("expected an error");
    }

    private static Request request(HttpMethod method, String path, String query, Principal principal, String body) {
        return new Request(method, path, new QueryStringDecoder(path + "?" + query).parameters(),
                new DefaultHttpHeaders(), body.getBytes(StandardCharsets.UTF_8), principal);
    }
}
