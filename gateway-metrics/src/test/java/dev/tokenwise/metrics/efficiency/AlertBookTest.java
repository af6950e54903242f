package dev.tokenwise.metrics.efficiency;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenwise.core.budget.Budget;
import dev.tokenwise.core.config.BudgetPeriod;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class AlertBookTest {
    private final AtomicLong clock = new AtomicLong(1_000_000);
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final AlertBook alerts = new AlertBook(clock::get, registry);

    @Test
    void opensOnceAndUpdatesTheOpenAlertKeepingWhenItOpened() {
        assertTrue(alerts.open(AlertType.QUALITY_DRIFT, Alert.Scope.MODEL, "m", "success_rate", "first", 0.7, 0.85));
        clock.addAndGet(5_000);
        assertFalse(alerts.open(AlertType.QUALITY_DRIFT, Alert.Scope.MODEL, "m", "success_rate", "second", 0.6, 0.85));
        List<Alert> list = alerts.list();
        assertEquals(1, list.size());
        Alert a = list.get(0);
        assertEquals("second", a.message());
        assertEquals(0.6, a.value());
        assertEquals(1_000_000, a.sinceMillis());
        assertEquals(1, alerts.openedCount(AlertType.QUALITY_DRIFT));
        assertEquals(1.0, registry.counter("tokenwise.alerts.opened", "type", "quality_drift").count());
    }

    @Test
    void closesAndOpensAgain() {
        alerts.open(AlertType.BILLING_DISCREPANCY, Alert.Scope.MODEL, "m", "input_tokens", "x", 1.03, 1.02);
        assertTrue(alerts.close(AlertType.BILLING_DISCREPANCY, Alert.Scope.MODEL, "m", "input_tokens"));
        assertFalse(alerts.close(AlertType.BILLING_DISCREPANCY, Alert.Scope.MODEL, "m", "input_tokens"));
        assertTrue(alerts.list().isEmpty());
        clock.addAndGet(1_000);
        assertTrue(alerts.open(AlertType.BILLING_DISCREPANCY, Alert.Scope.MODEL, "m", "input_tokens", "x", 1.03, 1.02));
        assertEquals(1_001_000, alerts.list().get(0).sinceMillis());
        assertEquals(2, alerts.openedCount(AlertType.BILLING_DISCREPANCY));
    }

    @Test
    void keepsAlertsOfDifferentMetricsApartAndClosesThoseNotKept() {
        alerts.open(AlertType.QUALITY_DRIFT, Alert.Scope.MODEL, "m", "success_rate", "x", 0, 0);
        alerts.open(AlertType.QUALITY_DRIFT, Alert.Scope.MODEL, "m", "retry_rate", "x", 0, 0);
        alerts.open(AlertType.BILLING_DISCREPANCY, Alert.Scope.MODEL, "m", "input_tokens", "x", 0, 0);
        assertEquals(1, alerts.closeUnless(AlertType.QUALITY_DRIFT, k -> k.metric().equals("retry_rate")));
        assertNull(alerts.find(AlertType.QUALITY_DRIFT, Alert.Scope.MODEL, "m", "success_rate"));
        assertEquals(2, alerts.list().size());
    }

    @Test
    void opensABudgetAlertThatClosesWhenItsPeriodEnds() {
        Budget.Snapshot s = new Budget.Snapshot("research", 10_000_000_000L, BudgetPeriod.DAILY, 0, 2_000_000,
                8_500_000_000L, 0, 1_500_000_000L);
        alerts.budgetThreshold("research", null, s, 80);
        Alert a = alerts.list().get(0);
        assertEquals(AlertType.BUDGET_THRESHOLD, a.type());
        assertEquals(Alert.Scope.TEAM, a.scope());
        assertEquals("research", a.subject());
        assertEquals("research", a.team());
        assertEquals(85.0, a.value());
        assertEquals(80.0, a.threshold());
        assertTrue(a.message().contains("$8.50 of its $10.00 budget this day"), a.message());
        clock.set(2_000_000);
        assertTrue(alerts.list().isEmpty());
    }

    @Test
    void keepsAKeysBudgetAlertApartFromTheAlertOfATeamOfTheSameName() {
        // Team x has a key named y; another team is named y. Both budgets cross their thresholds.
        alerts.budgetThreshold("x", "y", new Budget.Snapshot("y", 1_000, BudgetPeriod.DAILY, 0, 2_000_000, 900, 0,
                100), 80);
        alerts.budgetThreshold("y", null, new Budget.Snapshot("y", 1_000, BudgetPeriod.DAILY, 0, 2_000_000, 850, 0,
                150), 80);
        assertEquals(2, alerts.list().size(), "two alerts, not one overwriting the other");
        Alert key = alerts.find(AlertType.BUDGET_THRESHOLD, Alert.Scope.KEY, "y", null);
        assertEquals("x", key.team());
        assertEquals(90.0, key.value());
        assertTrue(key.message().startsWith("key y of team x has spent"), key.message());
        Alert team = alerts.find(AlertType.BUDGET_THRESHOLD, Alert.Scope.TEAM, "y", null);
        assertEquals("y", team.team());
        assertEquals(85.0, team.value());
    }

    @Test
    void keepsAnUnpricedModelsAlertOpenUntilTheModelHasAPrice() {
        alerts.unpricedModels(java.util.List.of("mystery", "other"), 1_000_000_000L);
        clock.addAndGet(365L * 24 * 3600 * 1000);
        Alert open = alerts.find(AlertType.UNPRICED_MODEL, Alert.Scope.MODEL, "mystery", null);
        assertEquals("model mystery has no price: pricing.allow_unpriced lets its calls through, booked at cost 0"
                + " (each reserves $1.00 of budget); give it a price in the catalog or a price: block", open.message());
        assertEquals(2, alerts.list().size(), "no period ends it");

        alerts.unpricedModels(java.util.List.of("other"), 1_000_000_000L); // mystery got a price
        assertEquals(null, alerts.find(AlertType.UNPRICED_MODEL, Alert.Scope.MODEL, "mystery", null));
        assertEquals(1, alerts.list().size());
        assertEquals(2, alerts.openedCount(AlertType.UNPRICED_MODEL));
    }

    @Test
    void refusesAKeyAlertWithoutItsTeam() {
        assertThrows(IllegalArgumentException.class,
                () -> alerts.open(AlertType.BUDGET_THRESHOLD, Alert.Scope.KEY, "y", null, "x", 90, 80));
        assertThrows(NullPointerException.class,
                () -> new Alert(AlertType.BUDGET_THRESHOLD, Alert.Scope.KEY, "y", null, null, "x", 90, 80, 0, 0));
        assertThrows(IllegalArgumentException.class,
                () -> new Alert(AlertType.BUDGET_THRESHOLD, Alert.Scope.TEAM, "y", "x", null, "x", 90, 80, 0, 0));
    }

    @Test
    void countsOneOpeningWhenThreadsRaceToOpenTheSameAlert() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<Boolean>> results = new java.util.ArrayList<>();
            for (int i = 0; i < 8; i++) {
                double value = i;
                results.add(pool.submit(() -> {
                    start.await();
                    return alerts.open(AlertType.QUALITY_DRIFT, Alert.Scope.MODEL, "m", "retry_rate", "x", value, 0);
                }));
            }
            start.countDown();
            int opened = 0;
            for (Future<Boolean> f : results) {
                opened += f.get(10, TimeUnit.SECONDS) ? 1 : 0;
            }
            assertEquals(1, opened);
            assertEquals(1, alerts.openedCount(AlertType.QUALITY_DRIFT));
            assertEquals(1, alerts.list().size());
        } finally {
            pool.shutdownNow();
        }
    }
}
