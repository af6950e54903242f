package dev.tokenwise.metrics.api;

import static dev.tokenwise.metrics.ledger.TestRecords.record;
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
import dev.tokenwise.metrics.ledger.SqliteLedger;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import dev.tokenwise.core.model.CacheStatus;
import dev.tokenwise.core.model.CallStatus;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.TokenUsage;
import dev.tokenwise.core.model.UsageRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UsageRouteTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Clock NOW = Clock.fixed(Instant.parse("2026-11-29T12:00:00Z"), ZoneOffset.UTC);

    @TempDir
    Path dir;
    private SqliteLedger ledger;
    private ExecutorService executor;
    private UsageRoute route;

    @BeforeEach
    void setUp() {
        ledger = SqliteLedger.open(dir.resolve("ledger.db"), SqliteLedger.Sync.NORMAL);
        ledger.accept(record("req_1", "a", "a1", "m1", millis("2026-11-27T23:59:59.999Z"), 100));
        ledger.accept(record("req_2", "a", "a2", "m2", millis("2026-11-28T00:00:00Z"), 200));
        ledger.accept(record("req_3", "b", "b1", "m1", millis("2026-11-28T12:00:00Z"), 12_300));
        ledger.accept(record("req_4", "a", "a1", "m1", millis("2026-11-29T01:00:00Z"), 400));
        ledger.accept(record("req_future", "a", "a1", "m1", millis("2026-11-29T13:00:00Z"), 1_000_000));
        assertTrue(ledger.flush(Duration.ofSeconds(30)));
        executor = Executors.newSingleThreadExecutor();
        route = new UsageRoute(ledger, executor, NOW);
    }

    @AfterEach
    void tearDown() {
        ledger.close();
        executor.shutdownNow();
    }

    @Test
    void answersUsageGroupedByTeamForTheAdmin() throws Exception {
        String body = body(Principal.ADMIN, "");
        assertTrue(body.contains("\"cost_usd\":0.0000123,\"cost_nanos\":12300"), body);
        JsonNode json = JSON.readTree(body);
        assertEquals("team", json.get("group_by").asText());
        assertEquals("1970-01-01T00:00:00Z", json.get("from").asText());
        assertEquals("2026-11-29T12:00:00Z", json.get("to").asText());
        JsonNode data = json.get("data");
        assertEquals(2, data.size());
        JsonNode a = data.get(0);
        assertEquals("a", a.get("team").asText());
        assertEquals(3, a.get("requests").asLong());
        assertEquals(300, a.get("input_tokens").asLong());
        assertEquals(150, a.get("output_tokens").asLong());
        assertEquals(60, a.get("cached_input_tokens").asLong());
        assertEquals(30, a.get("reasoning_tokens").asLong());
        assertEquals(700, a.get("cost_nanos").asLong());
        assertEquals("b", data.get(1).get("team").asText());
        assertEquals(1, data.get(1).get("requests").asLong());
    }

    @Test
    void saysWhatTheResponseCacheAndThePromptCacheSavedPerGroup() throws Exception {
        // Team c: a call of $0.000002550 bought once, served twice more from the cache; one call whose 1,024 of
        // 2,000 input tokens came from the provider's cache at $0.075 off per Mtok.
        long at = millis("2026-11-29T02:00:00Z");
        UsageRecord bought = record("req_c1", "c", "c1", "m1", at, 2_550, TokenUsage.of(15, 10)).withCache(CacheStatus.MISS);
        ledger.accept(bought);
        for (int i = 2; i <= 3; i++) {
            ledger.accept(UsageRecord.builder().id("req_c" + i).team("c").keyId("c1").model("m1").provider("sim")
                    .endpoint(Endpoint.CHAT_COMPLETIONS).status(CallStatus.OK).httpStatus(200)
                    .usage(TokenUsage.of(15, 10)).usageFromProvider(true).localInputTokens(15).localOutputTokens(10)
                    .finishReason("stop").createdAtMillis(at).latencyMicros(10).ttftMicros(10).requestedModel("m1")
                    .cache(CacheStatus.HIT).savedNanos(2_550).build());
        }
        ledger.accept(UsageRecord.builder().id("req_c4").team("c").keyId("c1").model("m1").provider("sim")
                .endpoint(Endpoint.CHAT_COMPLETIONS).status(CallStatus.OK).httpStatus(200)
                .usage(new TokenUsage(2_000, 1_024, 0, 10, 0)).usageFromProvider(true).localInputTokens(2_000)
                .localOutputTokens(10).finishReason("stop").createdAtMillis(at).latencyMicros(10)
                .upstreamLatencyMicros(5).requestedModel("m1").promptCacheSavedNanos(76_800).build());
        assertTrue(ledger.flush(Duration.ofSeconds(30)));
        JsonNode c = JSON.readTree(body(Principal.key("c", "c1"), "")).get("data").get(0);
        assertEquals(4, c.get("requests").asLong());
        assertEquals(2, c.get("cache_hits").asLong());
        assertEquals(new java.math.BigDecimal("0.0000051"), c.get("cache_saved_usd").decimalValue(), "2 x 2,550 nano-USD");
        assertEquals(new java.math.BigDecimal("0.0000768"), c.get("prompt_cache_saved_usd").decimalValue());
        // 1,024 cached of 2,045 input tokens in all
        assertEquals(new java.math.BigDecimal("0.5007"), c.get("cached_input_share").decimalValue());
        JsonNode a = JSON.readTree(body(Principal.ADMIN, "")).get("data").get(0);
        assertEquals(0, a.get("cache_hits").asLong());
        assertEquals(new java.math.BigDecimal("0"), a.get("cache_saved_usd").decimalValue());
    }

    @Test
    void showsATeamKeyOnlyItsOwnTeam() throws Exception {
        Principal b = Principal.key("b", "b1");
        JsonNode teams = JSON.readTree(body(b, "group_by=team")).get("data");
        assertEquals(1, teams.size());
        assertEquals("b", teams.get(0).get("team").asText());
        JsonNode keys = JSON.readTree(body(b, "group_by=key")).get("data");
        assertEquals(1, keys.size());
        assertEquals("b1", keys.get(0).get("key_id").asText());
        JsonNode models = JSON.readTree(body(b, "group_by=model")).get("data");
        assertEquals(1, models.size());
        assertEquals(12_300, models.get(0).get("cost_nanos").asLong());
    }

    @Test
    void groupsByModelKeyAndDay() throws Exception {
        JsonNode models = JSON.readTree(body(Principal.ADMIN, "group_by=model")).get("data");
        assertEquals(List.of("m1", "m2"), List.of(models.get(0).get("model").asText(), models.get(1).get("model").asText()));
        assertEquals(12_800, models.get(0).get("cost_nanos").asLong());
        assertFalse(models.get(0).has("team"));

        JsonNode keys = JSON.readTree(body(Principal.ADMIN, "group_by=key")).get("data");
        assertEquals(3, keys.size());
        assertEquals("a", keys.get(0).get("team").asText());
        assertEquals("a1", keys.get(0).get("key_id").asText());
        assertEquals(500, keys.get(0).get("cost_nanos").asLong());

        JsonNode days = JSON.readTree(body(Principal.ADMIN, "group_by=day")).get("data");
        List<String> labels = new ArrayList<>();
        days.forEach(d -> labels.add(d.get("day").asText()));
        assertEquals(List.of("2026-11-27", "2026-11-28", "2026-11-29"), labels);
        assertEquals(2, days.get(1).get("requests").asLong());
    }

    @Test
    void readsDatesAsWholeDaysAndInstantsAsGiven() throws Exception {
        JsonNode day = JSON.readTree(body(Principal.ADMIN, "group_by=day&from=2026-11-28&to=2026-11-28"));
        assertEquals("2026-11-28T00:00:00Z", day.get("from").asText());
        assertEquals("2026-11-29T00:00:00Z", day.get("to").asText());
        assertEquals(1, day.get("data").size());
        assertEquals(2, day.get("data").get(0).get("requests").asLong());

        JsonNode instant = JSON.readTree(body(Principal.ADMIN, "group_by=team&from=2026-11-28T12:00:00Z"));
        assertEquals(2, instant.get("data").size()); // a: req_4, b: req_3
        assertEquals(400, instant.get("data").get(0).get("cost_nanos").asLong());

        JsonNode offset = JSON.readTree(body(Principal.ADMIN, "from=2026-11-28T13:00:00%2B01:00&to=2026-11-29T13:30:00Z"));
        assertEquals("2026-11-28T12:00:00Z", offset.get("from").asText());
        assertEquals(1_000_400, offset.get("data").get(0).get("cost_nanos").asLong()); // now includes req_future
    }

    @Test
    void rejectsACallWithoutAKey() {
        GatewayException e = failure(null, "");
        assertEquals(ErrorType.INVALID_API_KEY, e.type());
    }

    @Test
    void rejectsAnUnknownGroupByListingTheAllowedValues() {
        GatewayException e = failure(Principal.ADMIN, "group_by=provider");
        assertEquals(ErrorType.BAD_REQUEST, e.type());
        assertEquals("group_by: provider (expected one of: team, model, key, day)", e.getMessage());
    }

    @Test
    void rejectsAnInvalidBoundNamingTheParameter() {
        GatewayException from = failure(Principal.ADMIN, "from=yesterday");
        assertEquals(ErrorType.BAD_REQUEST, from.type());
        assertTrue(from.getMessage().startsWith("from: yesterday"), from.getMessage());
        GatewayException to = failure(Principal.ADMIN, "to=2026-13-01");
        assertTrue(to.getMessage().startsWith("to: 2026-13-01"), to.getMessage());
        GatewayException reversed = failure(Principal.ADMIN, "from=2026-11-29&to=2026-11-27");
        assertEquals(ErrorType.BAD_REQUEST, reversed.type());
        assertTrue(reversed.getMessage().contains("is after"), reversed.getMessage());
    }

    @Test
    void queriesTheLedgerOnTheExecutorNotTheCaller() throws Exception {
        List<Runnable> tasks = new ArrayList<>();
        UsageRoute deferred = new UsageRoute(ledger, tasks::add, NOW);
        CompletableFuture<Response> answer = deferred.handle(request(Principal.ADMIN, ""));
        assertFalse(answer.isDone());
        assertEquals(1, tasks.size());
        tasks.get(0).run();
        assertEquals(200, answer.get(5, TimeUnit.SECONDS).status());
    }

    @Test
    void answersUnavailableWhenTheLedgerCannotBeRead() {
        ledger.close();
        GatewayException e = failure(Principal.ADMIN, "");
        assertEquals(ErrorType.UNAVAILABLE, e.type());
    }

    @Test
    void matchesOnlyGetOnItsPath() {
        assertTrue(route.matches(HttpMethod.GET, "/api/v1/usage"));
        assertFalse(route.matches(HttpMethod.POST, "/api/v1/usage"));
        assertTrue(route.matchesPath("/api/v1/usage"));
        assertFalse(route.matchesPath("/api/v1/usage/x"));
    }

    private String body(Principal principal, String query) throws Exception {
        Response response = route.handle(request(principal, query)).get(5, TimeUnit.SECONDS);
        assertEquals(200, response.status());
        assertEquals("application/json", response.contentType());
        return new String(response.body(), StandardCharsets.UTF_8);
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
        return new Request(HttpMethod.GET, "/api/v1/usage",
                new QueryStringDecoder("/api/v1/usage?" + query).parameters(), new DefaultHttpHeaders(), new byte[0],
                principal);
    }

    private static long millis(String instant) {
        return Instant.parse(instant).toEpochMilli();
    }
}
