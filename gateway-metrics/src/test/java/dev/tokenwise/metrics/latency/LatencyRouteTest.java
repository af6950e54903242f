package dev.tokenwise.metrics.latency;

import static dev.tokenwise.metrics.latency.LatencyCalls.call;
import static dev.tokenwise.metrics.latency.LatencyCalls.ok;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenwise.core.auth.Principal;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.model.CallStatus;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.TokenUsage;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.spi.ApiRoute;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import dev.tokenwise.metrics.ledger.SqliteLedger;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LatencyRouteTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final LatencyBook book = new LatencyBook(UnaryOperator.identity(), System::currentTimeMillis);
    @TempDir
    Path dir;
    private SqliteLedger ledger;
    private LatencyRoute route;

    @BeforeEach
    void setUp() {
        ledger = SqliteLedger.open(dir.resolve("ledger.db"), SqliteLedger.Sync.NORMAL);
        route = new LatencyRoute(book, ledger, Runnable::run);
    }

    @AfterEach
    void tearDown() {
        ledger.close();
    }

    /** A call of {@code team} made now, given to the book and committed to the ledger. */
    private void record(String id, String team, String model, long latencyMicros, long upstreamMicros, long ttftMicros,
                        boolean stream, CallStatus status) {
        UsageRecord r = UsageRecord.builder().id(id).team(team).keyId(team + "-key").model(model).provider("sim")
                .endpoint(Endpoint.CHAT_COMPLETIONS).stream(stream).status(status).httpStatus(200)
                .usage(TokenUsage.of(10, 5)).usageFromProvider(true).localInputTokens(10).localOutputTokens(5)
                .costNanos(100).finishReason("stop").createdAtMillis(System.currentTimeMillis())
                .latencyMicros(latencyMicros).upstreamLatencyMicros(upstreamMicros).ttftMicros(ttftMicros).build();
        book.accept(r);
        ledger.accept(r);
    }

    private static JsonNode json(ApiRoute.Response response) throws Exception {
        assertEquals(200, response.status());
        return JSON.readTree(new String(response.body(), StandardCharsets.UTF_8));
    }

    private ApiRoute.Response get(String query, Principal principal) throws Exception {
        return route.handle(new ApiRoute.Request(HttpMethod.GET, "/api/v1/latency",
                new QueryStringDecoder(query, false).parameters(), new DefaultHttpHeaders(), new byte[0], principal)).get();
    }

    @Test
    void answersPercentilesPerModelInMilliseconds() throws Exception {
        book.accept(ok("sim-small", 400, 120_000));
        book.accept(call("sim-small", 150_500, 150_000, 40_000, true, CallStatus.OK));
        book.accept(ok("sim-large", 300, 900_000));
        JsonNode json = JSON.readTree(new String(get("window=5m", Principal.ADMIN).body(), StandardCharsets.UTF_8));
        assertEquals("5m", json.get("window").asText());
        assertEquals("ms", json.get("unit").asText());
        assertEquals(3, json.get("overall").get("upstream").get("count").asInt());
        JsonNode small = json.get("models").get(0);
        assertEquals("sim-small", small.get("model").asText());
        JsonNode overhead = small.get("overhead");
        for (String field : new String[] {"p50", "p90", "p99", "p999", "max", "mean"}) {
            assertTrue(overhead.has(field), field);
        }
        assertEquals(0.5, overhead.get("max").asDouble(), 0.005);
        assertEquals(40.0, small.get("ttft").get("p50").asDouble(), 0.4);
        assertTrue(json.get("models").get(1).get("ttft").isNull(), "no stream, no TTFT");
    }

    @Test
    void showsATeamKeyOnlyItsOwnTeamsCallsAndTheAdminEveryTeams() throws Exception {
        record("req_a1", "a", "sim-small", 400, 120_000, 0, false, CallStatus.OK);
        record("req_a2", "a", "sim-small", 150_500, 150_000, 40_000, true, CallStatus.OK);
        record("req_a3", "a", "sim-small", 5_000_000, 0, 0, false, CallStatus.UPSTREAM_TIMEOUT);
        record("req_b1", "b", "sim-small", 300, 900_000, 0, false, CallStatus.OK);
        record("req_b2", "b", "sim-large", 300, 900_000, 0, false, CallStatus.OK);
        assertTrue(ledger.flush(Duration.ofSeconds(10)));
        for (String window : new String[] {"window=5m", "window=all"}) {
            JsonNode a = json(get(window, Principal.key("a", "a-key")));
            assertEquals(2, a.at("/overall/upstream/count").asInt(), a.toString());
            assertEquals(1, a.get("models").size(), "team b's model is not named: " + a);
            assertEquals("sim-small", a.at("/models/0/model").asText());
            assertEquals(1, a.at("/models/0/ttft/count").asInt());
            assertEquals(40.0, a.at("/models/0/ttft/p50").asDouble(), 0.4);
            assertEquals(0.5, a.at("/models/0/overhead/max").asDouble(), 0.005);
            JsonNode b = json(get(window, Principal.key("b", "b-key")));
            assertEquals(2, b.at("/overall/upstream/count").asInt(), b.toString());
            assertEquals(2, b.get("models").size());
            assertTrue(b.at("/overall/ttft").isNull(), "team b streamed nothing");
            JsonNode admin = json(get(window, Principal.ADMIN));
            assertEquals(4, admin.at("/overall/upstream/count").asInt(), admin.toString());
        }
        JsonNode none = json(get("window=5m", Principal.key("c", "c-key")));
        assertEquals(0, none.get("models").size(), "no calls, no models");
    }

    @Test
    void answersUnavailableWhenTheLedgerCannotBeRead() {
        ledger.close();
        ExecutionException e = assertThrows(ExecutionException.class, () -> get("", Principal.key("a", "a-key")));
        assertEquals(ErrorType.UNAVAILABLE, ((GatewayException) e.getCause()).type());
    }

    @Test
    void parsesWindows() {
        assertEquals(15, LatencyRoute.windowMinutes(null));
        assertEquals(1, LatencyRoute.windowMinutes("1m"));
        assertEquals(60, LatencyRoute.windowMinutes("1h"));
        assertEquals(60, LatencyRoute.windowMinutes("60m"));
        assertEquals(0, LatencyRoute.windowMinutes("all"));
        for (String bad : new String[] {"0m", "61m", "2h", "5", "m", "-5m", "5d", "1e3m"}) {
            GatewayException e = assertThrows(GatewayException.class, () -> LatencyRoute.windowMinutes(bad), bad);
            assertEquals(ErrorType.BAD_REQUEST, e.type());
            assertTrue(e.getMessage().contains("window: " + bad), e.getMessage());
        }
    }

    @Test
    void needsAKey() {
        GatewayException e = assertThrows(GatewayException.class, () -> get("", null));
        assertEquals(ErrorType.INVALID_API_KEY, e.type());
    }
}
