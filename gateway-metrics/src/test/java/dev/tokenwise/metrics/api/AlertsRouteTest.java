package dev.tokenwise.metrics.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenwise.core.auth.Principal;
import dev.tokenwise.core.budget.Budget;
import dev.tokenwise.core.config.BudgetPeriod;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.spi.ApiRoute.Request;
import dev.tokenwise.core.spi.ApiRoute.Response;
import dev.tokenwise.metrics.efficiency.Alert;
import dev.tokenwise.metrics.efficiency.AlertBook;
import dev.tokenwise.metrics.efficiency.AlertType;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class AlertsRouteTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final AtomicLong clock = new AtomicLong(1_795_860_000_000L); // 2026-11-28T10:00:00Z
    private final AlertBook alerts = new AlertBook(clock::get, null);
    private final AlertsRoute route = new AlertsRoute(alerts);

    private void openSome() {
        alerts.open(AlertType.QUALITY_DRIFT, Alert.Scope.MODEL, "sim-large", "success_rate",
                "sim-large: success rate 90.0% → 70.0%", 0.7, 0.85);
        clock.addAndGet(1_000);
        alerts.budgetThreshold("research", null, new Budget.Snapshot("research", 10_000_000_000L, BudgetPeriod.DAILY, 0,
                clock.get() + 3_600_000, 8_000_000_000L, 0, 2_000_000_000L), 80);
        clock.addAndGet(1_000);
        alerts.budgetThreshold("ops", null, new Budget.Snapshot("ops", 1_000_000_000L, BudgetPeriod.DAILY, 0,
                clock.get() + 3_600_000, 900_000_000L, 0, 100_000_000L), 80);
    }

    @Test
    void listsTheOpenAlertsOldestFirstForTheAdmin() throws Exception {
        openSome();
        JsonNode list = body(Principal.ADMIN);
        assertTrue(list.isArray());
        assertEquals(3, list.size());
        JsonNode drift = list.get(0);
        assertEquals("quality_drift", drift.get("type").asText());
        assertEquals("sim-large", drift.get("model").asText());
        assertEquals("success_rate", drift.get("metric").asText());
        assertEquals("sim-large: success rate 90.0% → 70.0%", drift.get("message").asText());
        assertEquals(0.7, drift.get("value").asDouble());
        assertEquals(0.85, drift.get("threshold").asDouble());
        assertEquals("2026-11-28T10:00:00Z", drift.get("since").asText());
        JsonNode budget = list.get(1);
        assertEquals("budget_threshold", budget.get("type").asText());
        assertEquals("research", budget.get("team").asText());
        assertFalse(budget.has("metric"));
        assertFalse(budget.has("model"));
        assertEquals(80.0, budget.get("value").asDouble());
        assertEquals(80.0, budget.get("threshold").asDouble());
    }

    @Test
    void showsATeamKeyTheModelAlertsAndItsOwnTeamsOnly() throws Exception {
        openSome();
        JsonNode list = body(Principal.key("research", "r1"));
        assertEquals(2, list.size());
        assertEquals(Map.of("quality_drift", "sim-large", "budget_threshold", "research"), Map.of(
                list.get(0).get("type").asText(), list.get(0).get("model").asText(),
                list.get(1).get("type").asText(), list.get(1).get("team").asText()));
    }

    @Test
    void showsATeamsTokenInflationCostToThatTeamOnly() throws Exception {
        alerts.open(AlertType.TOKEN_INFLATION, Alert.Scope.MODEL, "m", "input_tokens_per_kb", "m bills 35.0% more", 337.7,
                262.5);
        alerts.open(AlertType.TOKEN_INFLATION, Alert.Scope.TEAM, "research", "input_tokens_per_kb:m",
                "For team research, … costs about $10.50 a month more.", 10.5, 0);
        JsonNode research = body(Principal.key("research", "r1"));
        assertEquals(2, research.size());
        assertEquals("token_inflation", research.get(1).get("type").asText());
        assertEquals("research", research.get(1).get("team").asText());
        assertEquals("input_tokens_per_kb:m", research.get(1).get("metric").asText());
        JsonNode ops = body(Principal.key("ops", "o1"));
        assertEquals(1, ops.size(), "another team sees the model's alert, not research's cost");
        assertEquals("m", ops.get(0).get("model").asText());
    }

    @Test
    void showsAKeysBudgetAlertToTheKeysTeamOnlyNeverToATeamNamedLikeTheKey() throws Exception {
        // Team x has a key named y; another team is named y.
        alerts.budgetThreshold("x", "y", new Budget.Snapshot("y", 1_000_000_000L, BudgetPeriod.DAILY, 0,
                clock.get() + 3_600_000, 900_000_000L, 0, 100_000_000L), 80);
        JsonNode admin = body(Principal.ADMIN);
        assertEquals(1, admin.size());
        assertEquals("y", admin.get(0).get("key").asText());
        assertEquals("x", admin.get(0).get("team").asText());
        assertEquals(admin, body(Principal.key("x", "y")), "the key itself");
        assertEquals(admin, body(Principal.key("x", "x2")), "another key of its team");
        assertEquals("[]", body(Principal.key("y", "y-key")).toString(), "the team named like the key");
        assertEquals("[]", body(Principal.key("z", "y")).toString(), "a key of another team");
    }

    @Test
    void dropsABudgetAlertWhenItsPeriodEnds() throws Exception {
        openSome();
        clock.addAndGet(3_600_000);
        assertEquals(1, body(Principal.ADMIN).size());
    }

    @Test
    void answersAnEmptyListAndRefusesACallWithoutAKey() throws Exception {
        assertEquals("[]", body(Principal.ADMIN).toString());
        GatewayException e = assertThrows(GatewayException.class, () -> route.handle(request(null)));
        assertEquals(ErrorType.INVALID_API_KEY, e.type());
        assertTrue(route.matches(HttpMethod.GET, "/api/v1/alerts"));
        assertFalse(route.matches(HttpMethod.POST, "/api/v1/alerts"));
    }

    private JsonNode body(Principal principal) throws Exception {
        Response response = route.handle(request(principal)).get(5, TimeUnit.SECONDS);
        assertEquals(200, response.status());
        return JSON.readTree(new String(response.body(), StandardCharsets.UTF_8));
    }

    private static Request request(Principal principal) {
        return new Request(HttpMethod.GET, "/api/v1/alerts", Map.of(), new DefaultHttpHeaders(), new byte[0], principal);
    }
}
