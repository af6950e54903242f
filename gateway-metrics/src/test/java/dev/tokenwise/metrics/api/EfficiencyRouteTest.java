package dev.tokenwise.metrics.api;

import static dev.tokenwise.metrics.ledger.TaskFixture.IDLE_MILLIS;
import static dev.tokenwise.metrics.ledger.TaskFixture.T0;
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
import dev.tokenwise.metrics.ledger.SqliteLedger;
import dev.tokenwise.metrics.ledger.TaskFixture;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EfficiencyRouteTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long NOW = T0 + 2 * IDLE_MILLIS;

    @TempDir
    Path dir;
    private final AtomicLong clock = new AtomicLong(NOW);
    private SqliteLedger ledger;
    private ExecutorService executor;
    private EfficiencyRoute route;

    @BeforeEach
    void setUp() {
        ledger = SqliteLedger.open(dir.resolve("ledger.db"), SqliteLedger.Sync.NORMAL);
        TaskFixture.calls().forEach(ledger::accept);
        assertTrue(ledger.flush(Duration.ofSeconds(30)));
        TaskFixture.outcomes().forEach(ledger.tasks()::saveOutcome);
        EfficiencyTracker tracker = new EfficiencyTracker(new AlertBook(clock::get, null), m -> true,
                EfficiencySettings.DEFAULTS.withTaskIdle(Duration.ofMillis(IDLE_MILLIS)), clock::get);
        executor = Executors.newSingleThreadExecutor();
        route = new EfficiencyRoute(ledger, tracker, executor);
    }

    @AfterEach
    void tearDown() {
        ledger.close();
        executor.shutdownNow();
    }

    @Test
    void answersTheWorkedExampleByModel() throws Exception {
        JsonNode json = body(Principal.ADMIN, "");
        assertEquals("model", json.get("group_by").asText());
        assertEquals(Instant.ofEpochMilli(NOW).toString(), json.get("to").asText());
        assertEquals(3600, json.get("task_idle_seconds").asLong());
        JsonNode data = json.get("data");
        assertEquals(2, data.size());

        JsonNode large = data.get(0);
        assertEquals("sim-large", large.get("model").asText());
        assertEquals(1, large.get("tasks").asLong());
        assertEquals(0, large.get("succeeded").asLong());
        assertEquals(1, large.get("failed").asLong());
        assertEquals(0.0, large.get("success_rate").asDouble());
        assertEquals(2, large.get("calls").asLong(), "write-tests' sim-small call counts for sim-large");
        assertEquals(2.0, large.get("calls_per_task").asDouble());
        assertTrue(large.get("tokens_per_success").isNull());
        assertTrue(large.get("cost_per_success_usd").isNull());
        assertEquals(new BigDecimal("0.0038"), large.get("wasted_cost_usd").decimalValue());
        assertEquals(35.0, large.get("mean_output_tokens").asDouble());

        JsonNode small = data.get(1);
        assertEquals("sim-small", small.get("model").asText());
        assertEquals(2, small.get("tasks").asLong());
        assertEquals(1, small.get("succeeded").asLong());
        assertEquals(0, small.get("failed").asLong());
        assertEquals(1, small.get("unknown").asLong());
        assertEquals(0, small.get("pending").asLong());
        assertEquals(1.0, small.get("success_rate").asDouble());
        assertEquals(5, small.get("calls").asLong());
        assertEquals(2.5, small.get("calls_per_task").asDouble());
        assertEquals(3, small.get("retries").asLong());
        assertEquals(0.6, small.get("retry_rate").asDouble());
        assertEquals(660.0, small.get("tokens_per_success").asDouble());
        assertEquals(new BigDecimal("0.0045"), small.get("cost_per_success_usd").decimalValue());
        assertEquals(BigDecimal.ZERO, small.get("wasted_cost_usd").decimalValue());
        assertEquals(0.4, small.get("truncation_rate").asDouble());
        assertEquals(166.0, small.get("mean_output_tokens").asDouble());
        assertEquals(new BigDecimal("0.0102"), small.get("cost_usd").decimalValue());
    }

    @Test
    void answersEveryFigureAsTheReferenceComputesIt() throws Exception {
        for (String groupBy : List.of("model", "team")) {
            Map<String, EfficiencyTotals> expected = TaskFixture.reference(TaskFixture.calls(), TaskFixture.outcomes(),
                    groupBy, 0, NOW, null, NOW - IDLE_MILLIS);
            JsonNode data = body(Principal.ADMIN, "group_by=" + groupBy).get("data");
            assertEquals(expected.size(), data.size());
            for (JsonNode row : data) {
                EfficiencyTotals t = expected.get(row.get(groupBy).asText());
                assertEquals(t.tasks(), row.get("tasks").asLong());
                assertEquals(t.succeeded(), row.get("succeeded").asLong());
                assertEquals(t.failed(), row.get("failed").asLong());
                assertEquals(t.unknown(), row.get("unknown").asLong());
                assertEquals(t.calls(), row.get("calls").asLong());
                assertEquals(t.retries(), row.get("retries").asLong());
                assertRatio(t.succeeded(), t.succeeded() + t.failed(), row.get("success_rate"));
                assertRatio(t.calls(), t.tasks(), row.get("calls_per_task"));
                assertRatio(t.retries(), t.calls(), row.get("retry_rate"));
                assertRatio(t.judgedTokens(), t.succeeded(), row.get("tokens_per_success"));
                assertRatio(t.truncated(), t.calls(), row.get("truncation_rate"));
                assertRatio(t.outputTokens(), t.calls(), row.get("mean_output_tokens"));
                if (t.succeeded() == 0) {
                    assertTrue(row.get("cost_per_success_usd").isNull());
                } else {
                    assertEquals(0, BigDecimal.valueOf(t.judgedCostNanos()).divide(BigDecimal.valueOf(t.succeeded()))
                            .movePointLeft(9).compareTo(row.get("cost_per_success_usd").decimalValue()));
                }
                assertEquals(0, BigDecimal.valueOf(t.wastedCostNanos(), 9)
                        .compareTo(row.get("wasted_cost_usd").decimalValue()));
            }
        }
    }

    private static void assertRatio(long numerator, long denominator, JsonNode value) {
        if (denominator == 0) {
            assertTrue(value.isNull(), value.toString());
        } else {
            assertEquals((double) numerator / denominator, value.asDouble(), 1e-12);
        }
    }

    @Test
    void answersByTeamAndShowsATeamKeyOnlyItsTeam() throws Exception {
        JsonNode teams = body(Principal.ADMIN, "group_by=team").get("data");
        assertEquals(2, teams.size());
        assertEquals("a", teams.get(0).get("team").asText());
        assertEquals(0.5, teams.get(0).get("success_rate").asDouble());
        assertEquals(900.0, teams.get(0).get("tokens_per_success").asDouble());
        assertEquals(new BigDecimal("0.0083"), teams.get(0).get("cost_per_success_usd").decimalValue());
        assertTrue(teams.get(1).get("success_rate").isNull(), "team b has only an unknown task");

        JsonNode onlyB = body(Principal.key("b", "b1"), "group_by=team").get("data");
        assertEquals(1, onlyB.size());
        assertEquals("b", onlyB.get(0).get("team").asText());
        JsonNode modelsOfB = body(Principal.key("b", "b1"), "group_by=model").get("data");
        assertEquals(1, modelsOfB.size());
        assertEquals(2, modelsOfB.get(0).get("calls").asLong());
    }

    @Test
    void countsTasksWhoseLastCallIsInTheRange() throws Exception {
        JsonNode early = body(Principal.ADMIN, "group_by=team&to=2026-11-28T10:00:45Z").get("data");
        assertEquals(1, early.size());
        assertEquals(2, early.get(0).get("tasks").asLong()); // fix-login and write-tests of team a
        JsonNode late = body(Principal.ADMIN, "group_by=team&from=2026-11-28T10:00:45Z").get("data");
        assertEquals("b", late.get(0).get("team").asText());
        clock.set(T0 + 120_000);
        JsonNode soon = body(Principal.ADMIN, "group_by=team").get("data");
        assertEquals(1, soon.get(1).get("pending").asLong(), "summarise is not idle yet");
        assertEquals(0, soon.get(1).get("unknown").asLong());
    }

    @Test
    void rejectsBadParameters() {
        assertEquals(ErrorType.INVALID_API_KEY, failure(null, "").type());
        GatewayException groupBy = failure(Principal.ADMIN, "group_by=day");
        assertEquals(ErrorType.BAD_REQUEST, groupBy.type());
        assertEquals("group_by: day (expected one of: model, team)", groupBy.getMessage());
        assertTrue(failure(Principal.ADMIN, "from=yesterday").getMessage().startsWith("from: yesterday"));
        assertEquals(ErrorType.BAD_REQUEST, failure(Principal.ADMIN, "from=2026-11-29&to=2026-11-27").type());
    }

    @Test
    void queriesTheLedgerOnTheExecutorAndAnswersUnavailableWhenItCannot() throws Exception {
        List<Runnable> tasks = new ArrayList<>();
        EfficiencyRoute deferred = new EfficiencyRoute(ledger, new EfficiencyTracker(new AlertBook(), m -> true),
                tasks::add);
        CompletableFuture<Response> answer = deferred.handle(request(Principal.ADMIN, ""));
        assertFalse(answer.isDone());
        tasks.get(0).run();
        assertEquals(200, answer.get(5, TimeUnit.SECONDS).status());
        ledger.close();
        assertEquals(ErrorType.UNAVAILABLE, failure(Principal.ADMIN, "").type());
    }

    @Test
    void matchesOnlyGetOnItsPath() {
        assertTrue(route.matches(HttpMethod.GET, "/api/v1/efficiency"));
        assertFalse(route.matches(HttpMethod.POST, "/api/v1/efficiency"));
        assertFalse(route.matchesPath("/api/v1/efficiency/x"));
    }

    private JsonNode body(Principal principal, String query) throws Exception {
        Response response = route.handle(request(principal, query)).get(5, TimeUnit.SECONDS);
        assertEquals(200, response.status());
        return JSON.readTree(new String(response.body(), StandardCharsets.UTF_8));
    }

    private GatewayException failure(Principal principal, String query) {
        try {
            route.handle(request(principal, query)).get(5, TimeUnit.SECONDS);
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
        return fail("expected an error for ?" + query);
    }

    private static Request request(Principal principal, String query) {
        return new Request(HttpMethod.GET, "/api/v1/efficiency",
                new QueryStringDecoder("/api/v1/efficiency?" + query).parameters(), new DefaultHttpHeaders(),
                new byte[0], principal);
    }
}
