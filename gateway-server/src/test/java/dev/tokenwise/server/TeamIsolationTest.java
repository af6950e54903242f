package dev.tokenwise.server;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.tomakehurst.wiremock.WireMockServer;
import dev.tokenwise.core.testing.LeakDetectingExtension;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * No team sees another team's figures through the metrics APIs, and nothing answers differently for another
 * team's task or call than for one that does not exist.
 *
 * <p>The teams are built for a name collision: team {@code x} has a key named {@code y}, and another team is
 * named {@code y}. Key {@code y} has a budget that one call takes past the soft threshold.
 */
@ExtendWith(LeakDetectingExtension.class)
class TeamIsolationTest {
    static final String X_KEY = "tw-x-key";      // team x, key id "y"
    static final String X2_KEY = "tw-x2-key";    // team x, key id "x2"
    static final String Y_KEY = "tw-y-key";      // team y, key id "y-key"
    /** 15 prompt tokens and at most 10 completion tokens: $0.00000825 on gpt-4o-mini, 82.5 % of key y's budget. */
    static final String CHAT = BudgetEnforcementTest.CHAT;

    static WireMockServer upstream;
    static TestGateway gateway;
    static final List<String> xCalls = new ArrayList<>();
    static String yCall;

    @BeforeAll
    static void start() throws Exception {
        upstream = new WireMockServer(options().dynamicPort());
        upstream.start();
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody(BudgetEnforcementTest.COMPLETION)));
        gateway = TestGateway.start("""
                providers:
                  openai: {type: openai, base_url: "http://127.0.0.1:%d/v1", api_key: sk-upstream}
                models:
                  # Without the catalog's service tiers, so that a call reserves the standard price (see BudgetBypassTest).
                  - {name: gpt-4o-mini, provider: openai, price: {input_per_mtok: 0.15, output_per_mtok: 0.60, cached_input_per_mtok: 0.075, max_output_tokens: 16384}}
                """.formatted(upstream.port()), """
                teams:
                  - name: x
                    keys:
                      - {key: %s, name: y, budget: {limit_usd: 0.00001, period: daily}}
                      - {key: %s, name: x2}
                  - name: y
                    keys: [{key: %s, name: y-key}]
                """.formatted(X_KEY, X2_KEY, Y_KEY));
        HttpResponse<String> x = gateway.post("/v1/chat/completions", X_KEY, CHAT, "X-Task-Id", "x-task");
        assertEquals(200, x.statusCode(), x.body());
        xCalls.add(x.headers().firstValue("x-request-id").orElseThrow());
        HttpResponse<String> y = gateway.post("/v1/chat/completions", Y_KEY, CHAT, "X-Task-Id", "y-task");
        assertEquals(200, y.statusCode(), y.body());
        yCall = y.headers().firstValue("x-request-id").orElseThrow();
        gateway.flushLedger();
    }

    @AfterAll
    static void stop() {
        gateway.close();
        upstream.stop();
    }

    private static JsonNode getJson(String path, String key) throws Exception {
        HttpResponse<String> r = gateway.get(path, key);
        assertEquals(200, r.statusCode(), path + ": " + r.body());
        return TestGateway.json(r.body());
    }

    private static List<JsonNode> budgetAlerts(String key) throws Exception {
        List<JsonNode> found = new ArrayList<>();
        getJson("/api/v1/alerts", key).forEach(a -> {
            if ("budget_threshold".equals(a.get("type").asText())) {
                found.add(a);
            }
        });
        return found;
    }

    @Test
    void keepsAKeysBudgetAlertFromAnotherTeamNamedLikeTheKey() throws Exception {
        assertEquals(List.of(), budgetAlerts(Y_KEY), "team y must not see the alert of team x's key y");
        List<JsonNode> admin = budgetAlerts(TestGateway.ADMIN_KEY);
        assertEquals(1, admin.size(), admin.toString());
        JsonNode alert = admin.get(0);
        assertEquals("y", alert.get("key").asText(), alert.toString());
        assertEquals("x", alert.get("team").asText(), alert.toString());
        assertEquals(admin, budgetAlerts(X_KEY), "the key itself sees it");
        assertEquals(admin, budgetAlerts(X2_KEY), "so does every key of its team");
    }

    @Test
    void showsATeamKeyTheLatencyOfItsOwnTeamsCallsOnly() throws Exception {
        for (String window : new String[] {"5m", "all"}) {
            JsonNode team = getJson("/api/v1/latency?window=" + window, Y_KEY);
            assertEquals(1, team.at("/overall/upstream/count").asInt(), team.toString());
            assertEquals(1, team.at("/models/0/overhead/count").asInt(), team.toString());
            JsonNode admin = getJson("/api/v1/latency?window=" + window, TestGateway.ADMIN_KEY);
            assertEquals(2, admin.at("/overall/upstream/count").asInt(), admin.toString());
        }
    }

    @Test
    void answersAnotherTeamsTaskExactlyLikeAnUnknownOne() throws Exception {
        assertEquals(200, gateway.get("/api/v1/tasks/x-task", X2_KEY).statusCode(), "any key of team x reads it");
        for (String task : new String[] {"x-task", "no-such-task"}) {
            HttpResponse<String> read = gateway.get("/api/v1/tasks/" + task, Y_KEY);
            assertNotFound(read, "no task " + task);
            HttpResponse<String> outcome = gateway.send("POST", "/api/v1/tasks/" + task + "/outcome", Y_KEY,
                    "{\"success\": true}");
            assertNotFound(outcome, "no task " + task);
        }
        JsonNode task = getJson("/api/v1/tasks/x-task", TestGateway.ADMIN_KEY);
        assertTrue(task.get("success").isNull(), "team y's attempt stored no outcome: " + task);
    }

    @Test
    void answersAnotherTeamsCallExactlyLikeAnUnknownOne() throws Exception {
        String x = xCalls.get(0);
        assertEquals(200, gateway.get("/api/v1/requests/" + x, X_KEY).statusCode(), "the key that made it reads it");
        assertNotFound(gateway.get("/api/v1/requests/" + x, Y_KEY), "no request " + x);
        String unknown = "req_000000000000000000000000";
        assertNotFound(gateway.get("/api/v1/requests/" + unknown, Y_KEY), "no request " + unknown);
    }

    @Test
    void keepsUsageEfficiencyAndRecentCallsToTheCallersTeam() throws Exception {
        for (String groupBy : new String[] {"team", "key", "model", "day"}) {
            JsonNode usage = getJson("/api/v1/usage?group_by=" + groupBy, Y_KEY);
            assertEquals(1, usage.get("data").size(), usage.toString());
            assertEquals(1, usage.at("/data/0/requests").asInt(), usage.toString());
            if (usage.at("/data/0").has("team")) {
                assertEquals("y", usage.at("/data/0/team").asText());
            }
        }
        for (String groupBy : new String[] {"team", "model"}) {
            JsonNode efficiency = getJson("/api/v1/efficiency?group_by=" + groupBy, Y_KEY);
            assertEquals(1, efficiency.get("data").size(), efficiency.toString());
            assertEquals(1, efficiency.at("/data/0/tasks").asInt(), efficiency.toString());
        }
        JsonNode recent = getJson("/api/v1/requests", Y_KEY);
        assertEquals(1, recent.get("data").size(), recent.toString());
        assertEquals(yCall, recent.at("/data/0/id").asText());
        assertEquals(0, getJson("/api/v1/requests?team=x", Y_KEY).get("data").size());
        assertEquals(403, gateway.get("/metrics", Y_KEY).statusCode());
    }

    /** Every API the dashboard calls, as it calls them. */
    static final List<String> DASHBOARD_ROUTES = List.of("/api/v1/dashboard/summary?range=24h",
            "/api/v1/dashboard/summary?range=7d", "/api/v1/dashboard/summary?range=30d",
            "/api/v1/efficiency?group_by=model", "/api/v1/efficiency?group_by=model&from=2020-01-01T00:00:00Z",
            "/api/v1/latency?window=15m", "/api/v1/latency?window=all", "/api/v1/alerts", "/api/v1/requests?limit=50",
            "/api/v1/probes");

    @Test
    void answersATeamKeyOnEveryRouteTheDashboardCallsWithItsOwnTeamOnly() throws Exception {
        for (String route : DASHBOARD_ROUTES) {
            String body = getJson(route, Y_KEY).toString();
            for (String foreign : new String[] {"\"x\"", "\"x2\"", "x-task", xCalls.get(0)}) {
                assertFalse(body.contains(foreign), route + " shows team y " + foreign + ": " + body);
            }
            assertTrue(getJson(route, TestGateway.ADMIN_KEY).toString().contains(route.contains("requests")
                    || route.contains("summary") ? "\"x\"" : ""), "the admin sees team x on " + route);
        }
        JsonNode summary = getJson("/api/v1/dashboard/summary", Y_KEY);
        assertEquals("y", summary.get("team").asText());
        assertEquals(1, summary.at("/totals/requests").asInt(), summary.toString());
        assertEquals(1, summary.at("/teams/count").asInt(), summary.toString());
        assertEquals("y", summary.at("/teams/shown/0/team").asText(), summary.toString());
        assertEquals(1, summary.at("/spend_over_time/series").size(), summary.toString());
        JsonNode admin = getJson("/api/v1/dashboard/summary", TestGateway.ADMIN_KEY);
        assertEquals(2, admin.at("/totals/requests").asInt(), admin.toString());
        assertTrue(admin.get("team").isNull());
    }

    private static void assertNotFound(HttpResponse<String> r, String message) throws Exception {
        assertEquals(404, r.statusCode(), r.body());
        JsonNode error = TestGateway.json(r.body()).get("error");
        assertEquals(message, error.get("message").asText(), r.body());
        assertEquals("not_found", error.get("code").asText(), r.body());
        assertFalse(r.body().contains("another"), r.body());
    }
}
