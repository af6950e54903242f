package dev.tokenwise.server.admin;

import static dev.tokenwise.server.admin.AdminFixtures.DEFAULT_TEAMS;
import static dev.tokenwise.server.admin.AdminFixtures.NOW_MILLIS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenwise.core.auth.KeyHashes;
import dev.tokenwise.core.auth.KeyRegistry;
import dev.tokenwise.core.auth.Principal;
import dev.tokenwise.core.budget.BudgetBook;
import dev.tokenwise.core.config.RateLimits;
import dev.tokenwise.core.ratelimit.RateLimiter;
import dev.tokenwise.core.config.GatewayConfig;
import dev.tokenwise.core.error.ErrorResponses;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.spi.ApiRoute;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The admin API, called as the frontend calls a route: {@code handle(Request)} with the caller's principal. */
class AdminRoutesTest {
    static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);
    static final Principal TEAM_KEY = Principal.key("demo", "demo-key");
    static final String WORKER = "admin-test-worker";

    final ExecutorService worker = Executors.newSingleThreadExecutor(r -> new Thread(r, WORKER));
    final InMemoryTeamStore store = new InMemoryTeamStore();
    final FixedSpendStore spend = new FixedSpendStore();
    final KeyRegistry keys = new KeyRegistry();
    final BudgetBook budgets = new BudgetBook(ZoneId.of("UTC"), 80, () -> NOW_MILLIS, 0);
    RateLimiter limiter;
    final AdminRoutes routes = routes(AdminFixtures.config(DEFAULT_TEAMS));

    AdminRoutes routes(GatewayConfig config) {
        TeamDirectory directory = TeamDirectory.load(config, store, spend, keys, budgets, () -> NOW_MILLIS);
        limiter = new RateLimiter(System::nanoTime);
        RateLimitDirectory rateLimits = RateLimitDirectory.load(config, store, limiter, directory, () -> NOW_MILLIS);
        return new AdminRoutes(config, directory, rateLimits, worker);
    }

    @AfterEach
    void stop() {
        worker.shutdownNow();
        budgets.close();
    }

    /** A status and body, from a response or from the error the frontend would turn into one. */
    record Answer(int status, String text) {
        JsonNode json() {
            try {
                return JSON.readTree(text);
            } catch (IOException e) {
                throw new AssertionError("not JSON: " + text, e);
            }
        }

        String errorMessage() {
            return json().path("error").path("message").asText();
        }
    }

    Answer call(HttpMethod method, String path, String body, Principal principal) throws Exception {
        ApiRoute.Request request = new ApiRoute.Request(method, path, Map.of(), new DefaultHttpHeaders(),
                body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8), principal);
        assertTrue(routes.matches(method, path), method + " " + path);
        try {
            CompletableFuture<ApiRoute.Response> answer = routes.handle(request);
            ApiRoute.Response response = answer.get(5, TimeUnit.SECONDS);
            assertEquals("application/json", response.contentType());
            return new Answer(response.status(), new String(response.body(), StandardCharsets.UTF_8));
        } catch (GatewayException e) {
            return error(e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof GatewayException g) {
                return error(g);
            }
            throw e;
        } catch (TimeoutException e) {
            throw new AssertionError("no answer", e);
        }
    }

    private static Answer error(GatewayException e) {
        return new Answer(e.type().status(), new String(ErrorResponses.body(e.type(), e.getMessage()),
                StandardCharsets.UTF_8));
    }

    Answer admin(HttpMethod method, String path, String body) throws Exception {
        return call(method, path, body, Principal.ADMIN);
    }

    @Test
    void setsATeamsAndAKeysRateLimitsStoresThemAndAppliesThemAtOnce() throws Exception {
        Answer none = admin(HttpMethod.GET, "/api/v1/teams/demo/rate_limits", null);
        assertEquals(200, none.status(), none.text());
        assertEquals("{\"team\":\"demo\",\"rate_limits\":{\"requests_per_minute\":null,\"tokens_per_minute\":null,"
                + "\"concurrent_requests\":null}}", none.text());

        Answer team = admin(HttpMethod.PUT, "/api/v1/teams/demo/rate_limits",
                "{\"requests_per_minute\":5,\"tokens_per_minute\":300000,\"concurrent_requests\":20}");
        assertEquals(200, team.status(), team.text());
        assertEquals(5, team.json().at("/rate_limits/requests_per_minute").asLong());
        assertEquals(new RateLimits(5, 300_000, 20), limiter.team("demo"), "applied at once");
        Answer key = admin(HttpMethod.PUT, "/api/v1/keys/demo-key/rate_limits", "{\"requests_per_minute\":2}");
        assertEquals(200, key.status(), key.text());
        assertEquals(new RateLimits(2, 0, 0), limiter.key("demo-key"));

        assertEquals("{\"key\":\"demo-key\",\"rate_limits\":{\"requests_per_minute\":2,\"tokens_per_minute\":null,"
                + "\"concurrent_requests\":null}}", admin(HttpMethod.GET, "/api/v1/keys/demo-key/rate_limits", null).text());

        // After a restart the stored limits win over the config file's.
        routes(AdminFixtures.config(DEFAULT_TEAMS));
        assertEquals(new RateLimits(5, 300_000, 20), limiter.team("demo"));
        assertEquals(new RateLimits(2, 0, 0), limiter.key("demo-key"));
    }

    @Test
    void removesEveryLimitOfATeamWithAnEmptyObject() throws Exception {
        admin(HttpMethod.PUT, "/api/v1/teams/demo/rate_limits", "{\"requests_per_minute\":5}");
        Answer removed = admin(HttpMethod.PUT, "/api/v1/teams/demo/rate_limits", "{}");
        assertEquals(200, removed.status());
        assertEquals(RateLimits.NONE, limiter.team("demo"));
        routes(AdminFixtures.config(DEFAULT_TEAMS));
        assertEquals(RateLimits.NONE, limiter.team("demo"), "the removal is stored too");
    }

    @Test
    void refusesRateLimitsOfUnknownHoldersAndImpossibleValues() throws Exception {
        assertEquals(404, admin(HttpMethod.PUT, "/api/v1/teams/nobody/rate_limits", "{\"requests_per_minute\":5}").status());
        assertEquals(404, admin(HttpMethod.GET, "/api/v1/keys/nobody/rate_limits", null).status());
        for (String body : List.of("{\"requests_per_minute\":0}", "{\"tokens_per_minute\":-5}",
                "{\"concurrent_requests\":1.5}", "{\"requests_per_minute\":\"5\"}", "{\"rpm\":5}")) {
            Answer a = admin(HttpMethod.PUT, "/api/v1/teams/demo/rate_limits", body);
            assertEquals(400, a.status(), body + " -> " + a.text());
        }
        assertEquals(403, call(HttpMethod.PUT, "/api/v1/teams/demo/rate_limits", "{}", TEAM_KEY).status());
    }

    @Test
    void answers401WithoutAKey() throws Exception {
        Answer a = call(HttpMethod.GET, "/api/v1/teams", null, null);

        assertEquals(401, a.status());
        assertEquals("invalid_api_key", a.json().path("error").path("code").asText());
    }

    @Test
    void answers403ToATeamKey() throws Exception {
        for (String path : List.of("/api/v1/teams", "/api/v1/keys", "/api/v1/teams/demo")) {
            Answer a = call(HttpMethod.GET, path, null, TEAM_KEY);
            assertEquals(403, a.status(), path);
            assertEquals("admin key required", a.errorMessage());
        }
        Answer revoke = call(HttpMethod.DELETE, "/api/v1/keys/demo-key", null, TEAM_KEY);
        assertEquals(403, revoke.status());
        assertNotNull(keys.find("tw-test-key"), "a team key cannot revoke anything");
    }

    @Test
    void answers403ToEveryoneWhileNoAdminKeyIsSet() throws Exception {
        AdminRoutes disabled = routes(AdminFixtures.config(DEFAULT_TEAMS, null));
        ApiRoute.Request request = new ApiRoute.Request(HttpMethod.GET, "/api/v1/teams", Map.of(),
                new DefaultHttpHeaders(), new byte[0], Principal.ADMIN);

        GatewayException e = org.junit.jupiter.api.Assertions.assertThrows(GatewayException.class,
                () -> disabled.handle(request));
        assertEquals(403, e.type().status());
        assertTrue(e.getMessage().contains("disabled until admin.key is set"), e.getMessage());
    }

    @Test
    void createsATeamAndListsIt() throws Exception {
        Answer created = admin(HttpMethod.POST, "/api/v1/teams",
                "{\"name\":\"research\",\"budget\":{\"limit_usd\":12.50,\"period\":\"weekly\"}}");

        assertEquals(201, created.status(), created.text());
        JsonNode team = created.json();
        assertEquals("research", team.get("name").asText());
        assertEquals(new BigDecimal("12.5"), team.get("budget").get("limit_usd").decimalValue());
        assertEquals("weekly", team.get("budget").get("period").asText());
        assertEquals("2024-05-13T00:00:00Z", team.get("period_start").asText(), "weeks start on Monday");
        assertEquals("2024-05-20T00:00:00Z", team.get("period_end").asText());
        assertTrue(created.text().contains("\"remaining_usd\":12.5"), created.text());

        Answer list = admin(HttpMethod.GET, "/api/v1/teams", null);
        assertEquals(200, list.status());
        List<String> names = new ArrayList<>();
        list.json().get("data").forEach(t -> names.add(t.get("name").asText()));
        assertEquals(List.of("demo", "other", "research"), names);
        assertEquals("research", store.team("research").name());
    }

    @Test
    void writesMoneyAsExactPlainNumbers() throws Exception {
        Answer tiny = admin(HttpMethod.POST, "/api/v1/teams",
                "{\"name\":\"tiny\",\"budget\":{\"limit_usd\":0.000000001,\"period\":\"total\"}}");
        Answer ten = admin(HttpMethod.PUT, "/api/v1/teams/demo/budget", "{\"limit_usd\":10,\"period\":\"daily\"}");

        assertTrue(tiny.text().contains("\"limit_usd\":0.000000001"), tiny.text());
        assertTrue(tiny.json().get("period_start").isNull(), "a total budget has no period start");
        assertTrue(tiny.json().get("period_end").isNull());
        assertTrue(ten.text().contains("\"limit_usd\":10,"), ten.text());
        assertFalse(ten.text().contains("E+"), ten.text());
    }

    @Test
    void teamViewShowsSpentReservedAndRemainingThisPeriod() throws Exception {
        BudgetBook.Admission settled = budgets.reserve("r1", "demo", "demo-key", 500_000_000L, TimeUnit.MINUTES.toNanos(1));
        budgets.settle(settled.reservation(), 250_000_000L);
        budgets.reserve("r2", "demo", "demo-key", 100_000_000L, TimeUnit.MINUTES.toNanos(1));

        Answer a = admin(HttpMethod.GET, "/api/v1/teams/demo", null);

        assertEquals(200, a.status());
        JsonNode team = a.json();
        assertEquals("demo", team.get("name").asText());
        assertEquals(new BigDecimal("5"), team.get("limit_usd").decimalValue());
        assertEquals(new BigDecimal("0.25"), team.get("spent_usd").decimalValue());
        assertEquals(new BigDecimal("0.1"), team.get("reserved_usd").decimalValue());
        assertEquals(new BigDecimal("4.65"), team.get("remaining_usd").decimalValue());
        assertEquals("2024-05-15T00:00:00Z", team.get("period_start").asText());
        assertEquals("2024-05-16T00:00:00Z", team.get("period_end").asText());
        assertEquals("[\"demo-key\"]", team.get("keys").toString());
    }

    @Test
    void teamWithoutABudgetShowsNullFigures() throws Exception {
        JsonNode team = admin(HttpMethod.GET, "/api/v1/teams/other", null).json();

        assertTrue(team.get("budget").isNull());
        assertTrue(team.get("limit_usd").isNull());
        assertTrue(team.get("spent_usd").isNull());
    }

    @Test
    void unknownTeamIsNotFound() throws Exception {
        assertEquals(404, admin(HttpMethod.GET, "/api/v1/teams/nobody", null).status());
        assertEquals(404, admin(HttpMethod.PUT, "/api/v1/teams/nobody/budget",
                "{\"limit_usd\":1,\"period\":\"daily\"}").status());
        assertEquals(404, admin(HttpMethod.POST, "/api/v1/teams/nobody/keys", "{}").status());
    }

    @Test
    void pathSegmentsArePercentDecoded() throws Exception {
        Answer a = admin(HttpMethod.GET, "/api/v1/teams/d%65mo", null);

        assertEquals(200, a.status());
        assertEquals("demo", a.json().get("name").asText());
    }

    @Test
    void duplicateTeamIsRefused() throws Exception {
        Answer a = admin(HttpMethod.POST, "/api/v1/teams", "{\"name\":\"demo\"}");

        assertEquals(409, a.status());
        assertEquals("team demo already exists", a.errorMessage());
    }

    @Test
    void putBudgetReplacesTheLimitAndAnswersTheTeam() throws Exception {
        Answer a = admin(HttpMethod.PUT, "/api/v1/teams/demo/budget", "{\"limit_usd\":7.25,\"period\":\"daily\"}");

        assertEquals(200, a.status(), a.text());
        assertEquals(new BigDecimal("7.25"), a.json().get("limit_usd").decimalValue());
        assertEquals(new BigDecimal("7.25"), a.json().get("remaining_usd").decimalValue());
        assertEquals(7_250_000_000L, budgets.team("demo").limitNanos());
        assertEquals(7_250_000_000L, store.team("demo").budget().limitNanos());
    }

    @Test
    void createdKeyIsShownOnceAndNeverListed() throws Exception {
        Answer created = admin(HttpMethod.POST, "/api/v1/teams/demo/keys",
                "{\"name\":\"ci\",\"models\":[\"sim-small\"],\"budget\":{\"limit_usd\":1,\"period\":\"monthly\"}}");

        assertEquals(201, created.status(), created.text());
        JsonNode key = created.json();
        String secret = key.get("key").asText();
        assertTrue(secret.matches("tw-[0-9A-Za-z]{40}"), secret);
        assertEquals("ci", key.get("id").asText());
        assertEquals("demo", key.get("team").asText());
        assertEquals("[\"sim-small\"]", key.get("models").toString());
        assertEquals(new BigDecimal("1"), key.get("budget").get("limit_usd").decimalValue());
        assertEquals("2024-05-15T12:00:00Z", key.get("created_at").asText());
        assertEquals("ci", keys.find(secret).id());

        Answer list = admin(HttpMethod.GET, "/api/v1/keys", null);
        assertEquals(200, list.status());
        assertFalse(list.text().contains(secret), "no secret");
        assertFalse(list.text().contains(KeyHashes.sha256Hex(secret)), "no hash");
        assertFalse(list.text().contains(KeyHashes.sha256Hex("tw-test-key")), "no hash of config keys either");
        JsonNode ci = null;
        for (JsonNode k : list.json().get("data")) {
            assertNull(k.get("key"));
            assertFalse(k.get("revoked").asBoolean());
            if ("ci".equals(k.get("id").asText())) {
                ci = k;
            }
        }
        assertNotNull(ci, list.text());
        assertEquals(3, list.json().get("data").size());
    }

    @Test
    void keyBodyMayBeEmpty() throws Exception {
        Answer created = admin(HttpMethod.POST, "/api/v1/teams/other/keys", "");

        assertEquals(201, created.status(), created.text());
        assertEquals("[]", created.json().get("models").toString());
        assertTrue(created.json().get("budget").isNull());
    }

    @Test
    void revokedKeyStopsAuthenticatingAtOnce() throws Exception {
        String secret = admin(HttpMethod.POST, "/api/v1/teams/demo/keys", "{\"name\":\"ci\"}").json().get("key").asText();

        Answer revoked = admin(HttpMethod.DELETE, "/api/v1/keys/ci", null);

        assertEquals(200, revoked.status());
        assertEquals("{\"id\":\"ci\",\"revoked\":true}", revoked.text());
        assertNull(keys.find(secret));
        assertTrue(store.key("ci").revoked());
        assertEquals(404, admin(HttpMethod.DELETE, "/api/v1/keys/nope", null).status());
        JsonNode listed = admin(HttpMethod.GET, "/api/v1/keys", null).json().get("data");
        for (JsonNode k : listed) {
            assertEquals("ci".equals(k.get("id").asText()), k.get("revoked").asBoolean(), k.toString());
        }
    }

    @Test
    void rejectsBadBodiesNamingTheField() throws Exception {
        record Case(HttpMethod method, String path, String body, String expected) {
        }
        String budget = "/api/v1/teams/demo/budget";
        String keys = "/api/v1/teams/demo/keys";
        List<Case> cases = List.of(
                new Case(HttpMethod.POST, "/api/v1/teams", "{", "not valid JSON"),
                new Case(HttpMethod.POST, "/api/v1/teams", "", "request body: missing"),
                new Case(HttpMethod.POST, "/api/v1/teams", "[]", "expected a JSON object"),
                new Case(HttpMethod.POST, "/api/v1/teams", "{\"name\":\"a\"} {}", "not valid JSON"),
                new Case(HttpMethod.POST, "/api/v1/teams", "{\"name\":\"a\",\"name\":\"b\"}", "Duplicate field"),
                new Case(HttpMethod.POST, "/api/v1/teams", "{}", "name: missing"),
                new Case(HttpMethod.POST, "/api/v1/teams", "{\"name\":5}", "name: expected a string, got a number"),
                new Case(HttpMethod.POST, "/api/v1/teams", "{\"name\":\"a b\"}", "name: 'a b'"),
                new Case(HttpMethod.POST, "/api/v1/teams", "{\"name\":\"a\",\"budget\":5}", "budget: expected an object"),
                new Case(HttpMethod.POST, "/api/v1/teams",
                        "{\"name\":\"a\",\"budget\":{\"limit_usd\":\"5\",\"period\":\"daily\"}}",
                        "budget.limit_usd: expected a number, got a string"),
                new Case(HttpMethod.PUT, budget, "{\"limit_usd\":5,\"period\":\"hourly\"}", "period: 'hourly'"),
                new Case(HttpMethod.PUT, budget, "{\"limit_usd\":5}", "period: missing"),
                new Case(HttpMethod.PUT, budget, "{\"period\":\"daily\"}", "limit_usd: missing"),
                new Case(HttpMethod.PUT, budget, "{\"limit_usd\":-1,\"period\":\"daily\"}", "limit_usd: -1 (expected: >= 0)"),
                new Case(HttpMethod.PUT, budget, "{\"limit_usd\":0.0000000001,\"period\":\"daily\"}", "at most 9 decimals"),
                new Case(HttpMethod.PUT, budget, "{\"limit_usd\":1e30,\"period\":\"daily\"}", "nano-USD range"),
                new Case(HttpMethod.PUT, budget, "{\"limit_usd\":5,\"period\":\"daily\",\"extra\":1}", "extra: unknown field"),
                new Case(HttpMethod.POST, keys, "{\"models\":\"sim-small\"}", "models: expected an array"),
                new Case(HttpMethod.POST, keys, "{\"models\":[1]}", "models[0]: expected a string"),
                new Case(HttpMethod.POST, keys, "{\"models\":[\"gpt-9\"]}", "gpt-9 is not a model"),
                new Case(HttpMethod.POST, keys, "{\"budget\":{\"limit_usd\":1,\"period\":\"daily\",\"x\":1}}",
                        "budget.x: unknown field"));
        for (Case c : cases) {
            Answer a = admin(c.method(), c.path(), c.body());
            assertEquals(400, a.status(), c + " -> " + a.text());
            assertEquals("invalid_request", a.json().path("error").path("code").asText());
            assertTrue(a.errorMessage().contains(c.expected()), c + " -> " + a.errorMessage());
        }
        assertEquals(5_000_000_000L, budgets.team("demo").limitNanos(), "no bad request changed anything");
        assertEquals(2, store.keys().size());
    }

    @Test
    void setsReplacesAndRemovesAKeysBudgetStoringItAndApplyingItAtOnce() throws Exception {
        Answer set = admin(HttpMethod.PUT, "/api/v1/keys/demo-key/budget", "{\"limit_usd\":2.5,\"period\":\"daily\"}");

        assertEquals(200, set.status(), set.text());
        assertEquals("demo-key", set.json().get("id").asText());
        assertEquals("demo", set.json().get("team").asText());
        assertEquals(new BigDecimal("2.5"), set.json().at("/budget/limit_usd").decimalValue());
        assertEquals("daily", set.json().at("/budget/period").asText());
        assertFalse(set.json().get("revoked").asBoolean());
        assertNull(set.json().get("key"), "never the secret");
        assertFalse(set.text().contains(KeyHashes.sha256Hex("tw-test-key")), "never the hash");
        assertEquals(2_500_000_000L, budgets.key("demo-key").limitNanos());
        assertEquals(2_500_000_000L, store.key("demo-key").budget().limitNanos());
        JsonNode listed = null;
        for (JsonNode k : admin(HttpMethod.GET, "/api/v1/keys", null).json().get("data")) {
            if (k.get("id").asText().equals("demo-key")) {
                listed = k;
            }
        }
        assertEquals(set.json(), listed, "the answer is the key as the list shows it");

        Answer replaced = admin(HttpMethod.PUT, "/api/v1/keys/demo-key/budget",
                "{\"limit_usd\":1,\"period\":\"weekly\"}");
        assertEquals(200, replaced.status(), replaced.text());
        assertEquals("weekly", replaced.json().at("/budget/period").asText());
        assertEquals(1_000_000_000L, budgets.key("demo-key").limitNanos());
        assertEquals("weekly", store.key("demo-key").budget().period().label());

        Answer removed = admin(HttpMethod.DELETE, "/api/v1/keys/demo-key/budget", null);
        assertEquals(200, removed.status(), removed.text());
        assertTrue(removed.json().get("budget").isNull(), removed.text());
        assertNull(budgets.key("demo-key"), "the key spends within its team's budget only");
        assertNull(store.key("demo-key").budget());
        assertTrue(keys.find("tw-test-key") != null, "the key still works");
        assertEquals(200, admin(HttpMethod.DELETE, "/api/v1/keys/demo-key/budget", null).status(),
                "removing no budget changes nothing");
    }

    @Test
    void aKeysNewBudgetCountsWhatItSpentThisPeriodAndRefusesWhileItsTeamStillHasMoney() throws Exception {
        spend.keyNanos.put("demo-key", 900_000_000L); // $0.90 spent today, before the key had a budget of its own

        Answer set = admin(HttpMethod.PUT, "/api/v1/keys/demo-key/budget", "{\"limit_usd\":1,\"period\":\"daily\"}");

        assertEquals(200, set.status(), set.text());
        assertTrue(spend.asked.contains("key demo-key from " + (NOW_MILLIS - 12 * 3_600_000L)), spend.asked.toString());
        assertEquals(100_000_000L, budgets.key("demo-key").snapshot(NOW_MILLIS).remainingNanos());
        BudgetBook.Admission refused = budgets.reserve("r1", "demo", "demo-key", 200_000_000L,
                TimeUnit.MINUTES.toNanos(1));
        assertEquals(BudgetBook.Outcome.KEY_EXCEEDED, refused.outcome(), "the team has $5 left, the key $0.10");
        BudgetBook.Admission fits = budgets.reserve("r2", "demo", "demo-key", 50_000_000L, TimeUnit.MINUTES.toNanos(1));
        assertTrue(fits.admitted());
        budgets.settle(fits.reservation(), 50_000_000L);

        Answer raised = admin(HttpMethod.PUT, "/api/v1/keys/demo-key/budget", "{\"limit_usd\":2,\"period\":\"daily\"}");
        assertEquals(200, raised.status(), raised.text());
        assertEquals(950_000_000L, budgets.key("demo-key").snapshot(NOW_MILLIS).spentNanos(),
                "a replaced budget keeps the period's books");
        assertEquals(1_050_000_000L, budgets.key("demo-key").snapshot(NOW_MILLIS).remainingNanos());
    }

    @Test
    void refusesKeyBudgetsOfUnknownOrRevokedKeysAndBadBodiesChangingNothing() throws Exception {
        admin(HttpMethod.POST, "/api/v1/teams/demo/keys", "{\"name\":\"gone\",\"budget\":{\"limit_usd\":1,\"period\":\"daily\"}}");
        admin(HttpMethod.DELETE, "/api/v1/keys/gone", null);
        String body = "{\"limit_usd\":3,\"period\":\"daily\"}";

        Answer unknown = admin(HttpMethod.PUT, "/api/v1/keys/nope/budget", body);
        assertEquals(404, unknown.status(), unknown.text());
        assertEquals("no key nope", unknown.errorMessage());
        assertEquals(404, admin(HttpMethod.DELETE, "/api/v1/keys/nope/budget", null).status());
        Answer revoked = admin(HttpMethod.PUT, "/api/v1/keys/gone/budget", body);
        assertEquals(409, revoked.status(), revoked.text());
        assertTrue(revoked.errorMessage().startsWith("key gone is revoked"), revoked.errorMessage());
        assertEquals(409, admin(HttpMethod.DELETE, "/api/v1/keys/gone/budget", null).status());
        assertEquals(1_000_000_000L, store.key("gone").budget().limitNanos(), "a revoked key's row is left alone");

        String path = "/api/v1/keys/demo-key/budget";
        Map<String, String> bad = new java.util.LinkedHashMap<>();
        bad.put("", "request body: missing");
        bad.put("{", "not valid JSON");
        bad.put("{\"limit_usd\":5}", "period: missing");
        bad.put("{\"period\":\"daily\"}", "limit_usd: missing");
        bad.put("{\"limit_usd\":-1,\"period\":\"daily\"}", "limit_usd: -1 (expected: >= 0)");
        bad.put("{\"limit_usd\":\"5\",\"period\":\"daily\"}", "limit_usd: expected a number, got a string");
        bad.put("{\"limit_usd\":5,\"period\":\"hourly\"}", "period: 'hourly'");
        bad.put("{\"limit_usd\":0.0000000001,\"period\":\"daily\"}", "at most 9 decimals");
        bad.put("{\"limit_usd\":5,\"period\":\"daily\",\"budget\":1}", "budget: unknown field");
        for (Map.Entry<String, String> c : bad.entrySet()) {
            Answer a = admin(HttpMethod.PUT, path, c.getKey());
            assertEquals(400, a.status(), c + " -> " + a.text());
            assertEquals("invalid_request", a.json().path("error").path("code").asText());
            assertTrue(a.errorMessage().contains(c.getValue()), c + " -> " + a.errorMessage());
        }
        Answer deleteWithBody = admin(HttpMethod.DELETE, path, body);
        assertEquals(400, deleteWithBody.status(), deleteWithBody.text());
        assertTrue(deleteWithBody.errorMessage().startsWith("request body: DELETE " + path + " takes none"),
                deleteWithBody.errorMessage());
        assertNull(budgets.key("demo-key"), "no bad request changed anything");
        assertNull(store.key("demo-key").budget());
    }

    @Test
    void matchesOnlyItsOwnPathsAndMethods() {
        assertTrue(routes.matches(HttpMethod.GET, "/api/v1/teams"));
        assertTrue(routes.matches(HttpMethod.POST, "/api/v1/teams"));
        assertTrue(routes.matches(HttpMethod.GET, "/api/v1/teams/demo"));
        assertTrue(routes.matches(HttpMethod.PUT, "/api/v1/teams/demo/budget"));
        assertTrue(routes.matches(HttpMethod.POST, "/api/v1/teams/demo/keys"));
        assertTrue(routes.matches(HttpMethod.GET, "/api/v1/keys"));
        assertTrue(routes.matches(HttpMethod.DELETE, "/api/v1/keys/demo-key"));
        assertTrue(routes.matches(HttpMethod.PUT, "/api/v1/keys/demo-key/budget"));
        assertTrue(routes.matches(HttpMethod.DELETE, "/api/v1/keys/demo-key/budget"));
        assertFalse(routes.matches(HttpMethod.GET, "/api/v1/keys/demo-key/budget"));
        assertTrue(routes.matchesPath("/api/v1/keys/demo-key/budget"), "so a wrong method gets 405");
        assertFalse(routes.matchesPath("/api/v1/keys//budget"));

        assertFalse(routes.matches(HttpMethod.DELETE, "/api/v1/teams"));
        assertFalse(routes.matches(HttpMethod.POST, "/api/v1/teams/demo/budget"));
        assertTrue(routes.matchesPath("/api/v1/teams/demo/budget"), "so a wrong method gets 405");
        assertFalse(routes.matchesPath("/api/v1/teams/"));
        assertFalse(routes.matchesPath("/api/v1/teams//keys"));
        assertFalse(routes.matchesPath("/api/v1/teams/demo/other"));
        assertFalse(routes.matchesPath("/api/v1/keys/a/b"));
        assertFalse(routes.matchesPath("/api/v1/usage"));
        assertFalse(routes.matchesPath("/api/v1/teamsx"));
    }

    @Test
    void touchesTheStoreOnlyOnTheExecutor() throws Exception {
        store.callerThreads.clear();

        admin(HttpMethod.POST, "/api/v1/teams", "{\"name\":\"research\"}");
        admin(HttpMethod.PUT, "/api/v1/teams/research/budget", "{\"limit_usd\":1,\"period\":\"daily\"}");
        admin(HttpMethod.POST, "/api/v1/teams/research/keys", "{}");
        admin(HttpMethod.PUT, "/api/v1/keys/demo-key/budget", "{\"limit_usd\":1,\"period\":\"daily\"}");
        admin(HttpMethod.DELETE, "/api/v1/keys/demo-key/budget", null);
        admin(HttpMethod.DELETE, "/api/v1/keys/demo-key", null);

        assertEquals(java.util.Set.of(WORKER), store.callerThreads);
    }
}
