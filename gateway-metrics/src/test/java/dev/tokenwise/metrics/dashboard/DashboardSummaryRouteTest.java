package dev.tokenwise.metrics.dashboard;

import static dev.tokenwise.metrics.ledger.TestRecords.record;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenwise.core.auth.Principal;
import dev.tokenwise.core.budget.Budget;
import dev.tokenwise.core.config.BudgetPeriod;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.model.CacheStatus;
import dev.tokenwise.core.model.CallStatus;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.TokenUsage;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.spi.ApiRoute;
import dev.tokenwise.metrics.ledger.SqliteLedger;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DashboardSummaryRouteTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long NOW = Instant.parse("2026-11-29T12:30:00Z").toEpochMilli();
    private static final long HOUR = 3_600_000L;

    @TempDir
    Path dir;
    private SqliteLedger ledger;
    private final List<Budget.Snapshot> budgets = new ArrayList<>();

    @AfterEach
    void close() {
        if (ledger != null) {
            ledger.close();
        }
    }

    private DashboardSummaryRoute route() {
        return new DashboardSummaryRoute(new LedgerReader(ledger.file(), 5_000), () -> budgets, 80, Runnable::run, () -> NOW);
    }

    private JsonNode summary(String query) throws Exception {
        return JSON.readTree(summaryText(query, Principal.ADMIN));
    }

    private String summaryText(String query, Principal principal) throws Exception {
        ApiRoute.Response r = route().handle(new ApiRoute.Request(HttpMethod.GET, DashboardSummaryRoute.PATH,
                new QueryStringDecoder(query, false).parameters(), new DefaultHttpHeaders(), new byte[0], principal)).get();
        assertEquals(200, r.status());
        return new String(r.body(), java.nio.charset.StandardCharsets.UTF_8);
    }

    private void open(UsageRecord... records) {
        ledger = SqliteLedger.open(dir.resolve("ledger.db"), SqliteLedger.Sync.NORMAL);
        for (UsageRecord r : records) {
            ledger.accept(r);
        }
        assertTrue(ledger.flush(Duration.ofSeconds(30)));
    }

    @Test
    void saysThereIsNothingWithoutCallsOrBudgets() throws Exception {
        open();
        JsonNode s = summary("");
        assertEquals("24h", s.get("range").asText());
        assertEquals(0, s.get("totals").get("requests").asInt());
        assertEquals(0, s.get("teams").get("shown").size());
        assertTrue(s.get("teams").get("other").isNull());
        assertEquals(24, s.get("spend_over_time").get("buckets").size());
        assertEquals(0, s.get("spend_over_time").get("series").size());
        assertEquals(0, s.get("models").get("count").asInt());
    }

    @Test
    void showsSpendAgainstBudgetsOverTimeAndPerModel() throws Exception {
        open(record("r1", "research", "k1", "sim-large", NOW - 2 * HOUR, 3_000_000_000L),
                record("r2", "research", "k1", "sim-small", NOW - 10 * 60_000, 500_000_000L),
                record("r3", "ops", "k2", "sim-small", NOW - 5 * 60_000, 250_000_000L),
                record("old", "ops", "k2", "sim-small", NOW - 30 * HOUR, 999_000_000_000L),
                UsageRecord.builder().id("r4").team("ops").keyId("k2").model("sim-small").provider("sim")
                        .endpoint(Endpoint.CHAT_COMPLETIONS).status(CallStatus.UPSTREAM_ERROR).httpStatus(502)
                        .usage(TokenUsage.ZERO).createdAtMillis(NOW - 60_000).latencyMicros(1)
                        .upstreamLatencyMicros(1).build());
        budgets.add(new Budget.Snapshot("research", 10_000_000_000L, BudgetPeriod.DAILY, 0, NOW + HOUR,
                3_500_000_000L, 200_000_000L, 6_300_000_000L));
        budgets.add(new Budget.Snapshot("idle-team", 1_000_000_000L, BudgetPeriod.MONTHLY, 0, NOW + HOUR, 0, 0,
                1_000_000_000L));
        JsonNode s = summary("range=24h");
        assertEquals(80, s.get("soft_threshold_percent").asInt());
        JsonNode totals = s.get("totals");
        assertEquals(4, totals.get("requests").asInt(), "the 30-hour-old call is outside the range");
        assertEquals(1, totals.get("errors").asInt());
        assertEquals(3.75, totals.get("cost_usd").asDouble(), 1e-12);

        JsonNode teams = s.get("teams").get("shown");
        assertEquals(3, teams.size());
        assertEquals("research", teams.get(0).get("team").asText());
        JsonNode budget = teams.get(0).get("budget");
        assertEquals(10, budget.get("limit_usd").asDouble());
        assertEquals(3.5, budget.get("spent_usd").asDouble());
        assertEquals(6.3, budget.get("remaining_usd").asDouble());
        assertEquals(35.0, budget.get("used_percent").asDouble());
        assertEquals("daily", budget.get("period").asText());
        assertEquals("ops", teams.get(1).get("team").asText());
        assertTrue(teams.get(1).get("budget").isNull());
        assertEquals("idle-team", teams.get(2).get("team").asText(), "a budget without calls is still shown");

        JsonNode overTime = s.get("spend_over_time");
        assertEquals("2026-11-28T13:00:00Z", overTime.get("buckets").get(0).asText());
        assertEquals("2026-11-29T12:00:00Z", overTime.get("buckets").get(23).asText());
        JsonNode research = overTime.get("series").get(0);
        assertEquals("research", research.get("team").asText());
        assertEquals(3.0, research.get("usd").get(21).asDouble(), "10:30 falls in the 10:00 bucket");
        assertEquals(0.5, research.get("usd").get(23).asDouble());

        JsonNode models = s.get("models").get("shown");
        assertEquals("sim-large", models.get(0).get("model").asText());
        assertEquals("sim-small", models.get(1).get("model").asText());
        assertEquals(3, models.get(1).get("requests").asInt());
        assertEquals(1, models.get(1).get("errors").asInt());
        assertEquals(200, models.get(1).get("input_tokens").asInt());
    }

    @Test
    void showsWhatTheCachesSavedOverTimeAndTheHitRatePerTeamAndModel() throws Exception {
        open(record("m1", "research", "k1", "sim-large", NOW - 2 * HOUR, 3_000).withCache(CacheStatus.MISS),
                hit("h1", "research", "sim-large", NOW - 2 * HOUR + 60_000, 3_000),
                hit("h2", "research", "sim-large", NOW - 60_000, 3_000),
                record("m2", "ops", "k2", "sim-small", NOW - 60_000, 500).withCache(CacheStatus.MISS),
                record("s1", "ops", "k2", "sim-small", NOW - 60_000, 500).withCache(CacheStatus.SKIP),
                UsageRecord.builder().id("p1").team("ops").keyId("k2").model("sim-small").provider("sim")
                        .endpoint(Endpoint.CHAT_COMPLETIONS).status(CallStatus.OK).httpStatus(200)
                        .usage(new TokenUsage(2_000, 1_024, 0, 5, 0)).usageFromProvider(true).localInputTokens(2_000)
                        .localOutputTokens(5).costNanos(100).finishReason("stop").createdAtMillis(NOW - 60_000)
                        .latencyMicros(1).upstreamLatencyMicros(1).requestedModel("sim-small")
                        .promptCacheSavedNanos(76_800).build());
        JsonNode savings = summary("range=24h").get("savings");
        assertEquals(2, savings.get("cache_hits").asInt());
        assertEquals(2, savings.get("cache_misses").asInt(), "a skip is not a lookup");
        assertEquals(0.000006, savings.get("cache_saved_usd").asDouble(), 1e-15);
        assertEquals(0.0000768, savings.get("prompt_cache_saved_usd").asDouble(), 1e-15);
        JsonNode cache = savings.get("over_time").get("cache_saved_usd");
        assertEquals(24, cache.size());
        assertEquals(0.000003, cache.get(21).asDouble(), 1e-15, "the hit at 10:31 falls in the 10:00 bucket");
        assertEquals(0.000003, cache.get(23).asDouble(), 1e-15);
        assertEquals(0.0000768, savings.get("over_time").get("prompt_cache_saved_usd").get(23).asDouble(), 1e-15);
        JsonNode teams = savings.get("hit_rate").get("teams");
        assertEquals("research", teams.get(0).get("team").asText());
        assertEquals(2, teams.get(0).get("hits").asInt());
        assertEquals(1, teams.get(0).get("misses").asInt());
        assertEquals(0.6667, teams.get(0).get("hit_rate").asDouble());
        assertEquals("ops", teams.get(1).get("team").asText());
        assertEquals(0.0, teams.get(1).get("hit_rate").asDouble());
        assertEquals("sim-large", savings.get("hit_rate").get("models").get(0).get("model").asText());
    }

    private static UsageRecord hit(String id, String team, String model, long at, long savedNanos) {
        return UsageRecord.builder().id(id).team(team).keyId("k1").model(model).provider("sim")
                .endpoint(Endpoint.CHAT_COMPLETIONS).status(CallStatus.OK).httpStatus(200)
                .usage(new TokenUsage(100, 0, 0, 50, 0)).usageFromProvider(true).localInputTokens(100)
                .localOutputTokens(50).finishReason("stop").createdAtMillis(at).latencyMicros(1).ttftMicros(1)
                .requestedModel(model).cache(CacheStatus.HIT).savedNanos(savedNanos).build();
    }

    @Test
    void namesTheBiggestTeamsAndModelsAndSumsTheRestIntoOther() throws Exception {
        List<UsageRecord> records = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            records.add(record("r" + i, "team-" + i, "k" + i, "model-" + (i % 40), NOW - 60_000, (i + 1) * 1_000L));
        }
        open(records.toArray(UsageRecord[]::new));
        JsonNode s = summary("range=7d");
        JsonNode teams = s.get("teams");
        assertEquals(300, teams.get("count").asInt());
        assertEquals(DashboardSummaryRoute.TOP_TEAMS, teams.get("shown").size());
        assertEquals("team-299", teams.get("shown").get(0).get("team").asText());
        assertEquals(300 - DashboardSummaryRoute.TOP_TEAMS, teams.get("other").get("teams").asInt());
        JsonNode series = s.get("spend_over_time").get("series");
        assertEquals(DashboardSummaryRoute.TOP_SERIES + 1, series.size());
        assertEquals("other (292 teams)", series.get(DashboardSummaryRoute.TOP_SERIES).get("team").asText());
        assertTrue(series.get(DashboardSummaryRoute.TOP_SERIES).get("other").asBoolean());
        assertEquals(28, s.get("spend_over_time").get("buckets").size(), "7 days of 6-hour buckets");
        JsonNode models = s.get("models");
        assertEquals(40, models.get("count").asInt());
        assertEquals(DashboardSummaryRoute.TOP_MODELS, models.get("shown").size());
        assertEquals(30, models.get("other").get("models").asInt());
        long shown = 0;
        for (JsonNode m : models.get("shown")) {
            shown += m.get("requests").asLong();
        }
        assertEquals(300, shown + models.get("other").get("requests").asLong(), "nothing is lost in other");
    }

    @Test
    void namesTheTeamsClosestToTheirLimitAsWellAsTheBiggestSpenders() throws Exception {
        List<UsageRecord> records = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            // big-i spend a lot against huge budgets; small-i spend little against tiny ones.
            records.add(record("b" + i, "big-" + i, "k", "m", NOW - 60_000, 1_000_000_000L + i));
            records.add(record("s" + i, "small-" + i, "k", "m", NOW - 60_000, 1_000L + i));
            budgets.add(new Budget.Snapshot("big-" + i, 1_000_000_000_000L, BudgetPeriod.DAILY, 0, NOW + HOUR,
                    1_000_000_000L + i, 0, 0));
            budgets.add(new Budget.Snapshot("small-" + i, 1_100L + i, BudgetPeriod.DAILY, 0, NOW + HOUR, 1_000L + i, 0, 0));
        }
        open(records.toArray(UsageRecord[]::new));
        List<String> named = new ArrayList<>();
        for (JsonNode t : summary("").get("teams").get("shown")) {
            named.add(t.get("team").asText());
        }
        assertEquals(DashboardSummaryRoute.TOP_TEAMS, named.size());
        assertEquals(List.of("small-39", "big-39", "small-38", "big-38", "small-37", "big-37"), named.subList(0, 6), named.toString());
    }

    @Test
    void showsATeamKeyItsOwnTeamOnlyAndNothingOfAnyOtherTeam() throws Exception {
        open(record("r1", "research", "k1", "sim-large", NOW - 2 * HOUR, 3_000_000_000L),
                record("r2", "research", "k9", "sim-small", NOW - 10 * 60_000, 500_000_000L).withCache(CacheStatus.MISS),
                record("r3", "ops", "k2", "ops-only-model", NOW - 5 * 60_000, 250_000_000L).withCache(CacheStatus.HIT),
                record("r4", "ops", "k2", "sim-small", NOW - 5 * 60_000, 7_000_000_000L));
        budgets.add(new Budget.Snapshot("research", 10_000_000_000L, BudgetPeriod.DAILY, 0, NOW + HOUR,
                3_500_000_000L, 0, 6_500_000_000L));
        budgets.add(new Budget.Snapshot("ops", 20_000_000_000L, BudgetPeriod.MONTHLY, 0, NOW + HOUR,
                7_250_000_000L, 0, 12_750_000_000L));

        String text = summaryText("range=24h", Principal.key("research", "k1"));
        JsonNode s = JSON.readTree(text);
        assertEquals("research", s.get("team").asText(), "the answer says whose it is");
        assertEquals(2, s.get("totals").get("requests").asInt());
        assertEquals(3.5, s.get("totals").get("cost_usd").asDouble(), 1e-12, "the whole team's spend, every key");
        assertEquals(1, s.get("totals").get("teams").asInt());
        assertEquals(1, s.get("teams").get("count").asInt());
        JsonNode team = s.get("teams").get("shown").get(0);
        assertEquals("research", team.get("team").asText());
        assertEquals(10, team.get("budget").get("limit_usd").asDouble());
        assertEquals(1, s.get("spend_over_time").get("series").size());
        assertEquals(List.of("sim-large", "sim-small"), List.of(s.get("models").get("shown").get(0).get("model").asText(),
                s.get("models").get("shown").get(1).get("model").asText()));
        assertEquals(0, s.get("savings").get("cache_hits").asInt(), "the other team's cache hit is not counted");
        assertEquals(1, s.get("savings").get("cache_misses").asInt());
        for (String foreign : new String[] {"ops", "ops-only-model", "7.25", "12.75", "20", "k2"}) {
            assertTrue(!text.contains("\"" + foreign + "\"") && !text.contains(":" + foreign + ","),
                    foreign + " leaks into " + text);
        }
        assertTrue(summary("").get("team").isNull(), "the admin's answer covers every team");
    }

    @Test
    void answersTheAdminAndTeamKeysAndChecksTheRange() {
        open();
        DashboardSummaryRoute route = route();
        GatewayException none = assertThrows(GatewayException.class, () -> route.handle(new ApiRoute.Request(
                HttpMethod.GET, DashboardSummaryRoute.PATH, java.util.Map.of(), new DefaultHttpHeaders(), new byte[0], null)));
        assertEquals(ErrorType.INVALID_API_KEY, none.type());
        GatewayException range = assertThrows(GatewayException.class, () -> summary("range=1y"));
        assertEquals("range: 1y (expected: 24h, 7d or 30d)", range.getMessage());
    }
}
