package dev.tokenwise.metrics.efficiency;

import static dev.tokenwise.metrics.ledger.TaskFixture.IDLE_MILLIS;
import static dev.tokenwise.metrics.ledger.TaskFixture.T0;
import static dev.tokenwise.metrics.ledger.TaskFixture.call;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.metrics.ledger.EfficiencyTotals;
import dev.tokenwise.metrics.ledger.GroupBy;
import dev.tokenwise.metrics.ledger.TaskFixture;
import dev.tokenwise.metrics.ledger.TaskOutcome;
import dev.tokenwise.metrics.ledger.TaskSummary;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class EfficiencyTrackerTest {
    private final AtomicLong clock = new AtomicLong(T0 + 2 * IDLE_MILLIS);
    private final EfficiencySettings settings = EfficiencySettings.DEFAULTS.withTaskIdle(Duration.ofMillis(IDLE_MILLIS));
    private final EfficiencyTracker tracker = new EfficiencyTracker(new AlertBook(clock::get, null), m -> true,
            settings, clock::get);

    private void feedExample() {
        TaskFixture.calls().forEach(tracker::accept);
        TaskFixture.outcomes().forEach(tracker::outcome);
    }

    @Test
    void keepsTheWorkedExampleByModelLive() {
        feedExample();
        Map<String, EfficiencyTotals> rows = byGroup(tracker.live(GroupBy.MODEL));
        assertEquals(new EfficiencyTotals("sim-small", 2, 1, 0, 1, 0, 5, 3, 2, 450, 830, 660, 4_500_000, 0, 10_200_000),
                rows.get("sim-small"));
        assertEquals(new EfficiencyTotals("sim-large", 1, 0, 1, 0, 0, 2, 0, 0, 170, 70, 240, 3_800_000, 3_800_000,
                3_800_000), rows.get("sim-large"));
        assertEquals(2, rows.size());
    }

    @Test
    void keepsTheWorkedExampleByTeamLive() {
        feedExample();
        Map<String, EfficiencyTotals> rows = byGroup(tracker.live(GroupBy.TEAM));
        assertEquals(new EfficiencyTotals("a", 2, 1, 1, 0, 0, 5, 2, 1, 520, 380, 900, 8_300_000, 3_800_000, 8_300_000),
                rows.get("a"));
        assertEquals(new EfficiencyTotals("b", 1, 0, 0, 1, 0, 2, 1, 1, 100, 520, 0, 0, 0, 5_700_000), rows.get("b"));
    }

    @Test
    void derivesTheFiguresOfTheWorkedExample() {
        feedExample();
        Map<String, EfficiencyTotals> rows = byGroup(tracker.live(GroupBy.MODEL));
        EfficiencyFigures small = new EfficiencyFigures(rows.get("sim-small"));
        assertEquals(1.0, small.successRate());
        assertEquals(2.5, small.callsPerTask());
        assertEquals(0.6, small.retryRate());
        assertEquals(660.0, small.tokensPerSuccess());
        assertEquals(new BigDecimal("0.0045"), small.costPerSuccessUsd());
        assertEquals(BigDecimal.ZERO, small.wastedCostUsd());
        assertEquals(0.4, small.truncationRate());
        assertEquals(166.0, small.meanOutputTokens());
        EfficiencyFigures large = new EfficiencyFigures(rows.get("sim-large"));
        assertEquals(0.0, large.successRate());
        assertTrue(Double.isNaN(large.tokensPerSuccess()), "no success: no tokens per success");
        assertEquals(null, large.costPerSuccessUsd());
        assertEquals(new BigDecimal("0.0038"), large.wastedCostUsd());
        EfficiencyFigures teamB = new EfficiencyFigures(byGroup(tracker.live(GroupBy.TEAM)).get("b"));
        assertTrue(Double.isNaN(teamB.successRate()), "an unknown task is left out of the success rate");
    }

    @Test
    void flagsRetriesAndTruncatedCallsAsTheyArrive() {
        feedExample();
        assertEquals(8, tracker.calls());
        assertEquals(7, tracker.taskCalls());
        assertEquals(3, tracker.retries()); // c2 (same prompt), c3 (attempt 2), c7 (same prompt)
        assertEquals(2, tracker.truncated()); // c2, c6
        TaskSummary login = tracker.task("a", "fix-login").orElseThrow();
        assertEquals(2, login.retries());
        assertEquals(1, login.truncated());
        assertTrue(EfficiencyTracker.isTruncated("max_tokens"));
        tracker.accept(TaskFixture.withAttempts(call("gw", "a", "a1", "sim-small", "new", 0, 99, 1, 1, 0, "stop", T0), 2));
        assertEquals(4, tracker.retries(), "a call the gateway retried upstream is a retry");
    }

    @Test
    void flagsAsARetryTheSamePromptAskedOfTheSameModelAfterAFallbackAnsweredIt() {
        UsageRecord fallenBack = call("f1", "a", "a1", "m-fallback", "t", 0, 9, 1, 1, 0, "stop", T0).toBuilder()
                .requestedModel("m1").build(); // m1's breaker was open: its fallback answered at the first attempt
        UsageRecord again = call("f2", "a", "a1", "m1", "t", 0, 9, 1, 1, 0, "stop", T0 + 1);
        tracker.accept(fallenBack);
        tracker.accept(again);
        assertEquals(1, tracker.retries(), "the same task asked m1 for the same prompt again, as the ledger decides");
    }

    @Test
    void movesATaskToTheModelOfItsLastCall() {
        List<UsageRecord> calls = TaskFixture.calls();
        tracker.accept(calls.get(3)); // write-tests on sim-small
        assertEquals(List.of("sim-small"), groups(tracker.live(GroupBy.MODEL)));
        tracker.accept(calls.get(4)); // ... then on sim-large
        Map<String, EfficiencyTotals> rows = byGroup(tracker.live(GroupBy.MODEL));
        assertEquals(List.of("sim-large"), List.copyOf(rows.keySet()), "an emptied group is left out");
        assertEquals(2, rows.get("sim-large").calls());
    }

    @Test
    void countsARepeatedOutcomeOnce() {
        feedExample();
        tracker.outcome(new TaskOutcome("a", "write-tests", "a2", true, null, null, T0));
        tracker.outcome(new TaskOutcome("a", "write-tests", "a2", true, null, null, T0));
        EfficiencyTotals large = byGroup(tracker.live(GroupBy.MODEL)).get("sim-large");
        assertEquals(1, large.tasks());
        assertEquals(1, large.succeeded());
        assertEquals(0, large.failed());
        assertEquals(0, large.wastedCostNanos());
    }

    @Test
    void countsATaskWithoutOutcomeAsPendingUntilItIsIdle() {
        clock.set(T0 + 30 * 60_000);
        feedExample();
        EfficiencyTotals b = byGroup(tracker.live(GroupBy.TEAM)).get("b");
        assertEquals(1, b.pending());
        assertEquals(0, b.unknown());
        clock.set(T0 + 60_000 + IDLE_MILLIS + 1);
        b = byGroup(tracker.live(GroupBy.TEAM)).get("b");
        assertEquals(0, b.pending());
        assertEquals(1, b.unknown());
    }

    @Test
    void forgetsTasksAfterTheRetentionAndKeepsAtMostMaxTasks() {
        EfficiencySettings small = new EfficiencySettings(Duration.ofMinutes(1), Duration.ofMinutes(10), 3, 100, 10,
                0.02, 0.05);
        EfficiencyTracker bounded = new EfficiencyTracker(new AlertBook(clock::get, null), m -> true, small, clock::get);
        for (int i = 0; i < 5; i++) {
            bounded.accept(call("r" + i, "a", "a1", "m", "t" + i, 0, 1, 1, 1, 0, "stop", clock.get()));
        }
        assertEquals(3, bounded.tasksInMemory());
        assertTrue(bounded.task("a", "t0").isEmpty());
        assertTrue(bounded.task("a", "t4").isPresent());
        clock.addAndGet(Duration.ofMinutes(11).toMillis());
        bounded.accept(call("late", "a", "a1", "m", "t9", 0, 1, 1, 1, 0, "stop", clock.get()));
        assertEquals(1, bounded.tasksInMemory());
        // forgotten tasks still count in the live totals: they were seen
        assertEquals(6, byGroup(bounded.live(GroupBy.TEAM)).get("a").tasks());
        assertEquals(List.of("a"), bounded.teamsOf("t9"));
    }

    @Test
    void agreesWithTheReferenceOnRandomHistories() {
        Random random = new Random(7);
        List<UsageRecord> calls = new ArrayList<>();
        List<TaskOutcome> outcomes = new ArrayList<>();
        String[] models = {"m1", "m2"};
        int id = 0;
        for (int task = 0; task < 300; task++) {
            String team = random.nextBoolean() ? "a" : "b";
            String taskId = "t" + random.nextInt(200);
            int n = 1 + random.nextInt(4);
            long start = T0 + random.nextInt(3_000) * 1000L;
            for (int i = 0; i < n; i++) {
                UsageRecord r = call("r" + id++, team, "k", models[random.nextInt(2)], taskId,
                        random.nextInt(5) == 0 ? 2 : 0, random.nextInt(3), random.nextInt(100), random.nextInt(100),
                        random.nextInt(100) / 10.0, random.nextInt(4) == 0 ? "length" : "stop", start + i * 1000L);
                if (random.nextInt(10) == 0) {
                    r = TaskFixture.withAttempts(r, 2);
                }
                calls.add(r);
                tracker.accept(r);
            }
            if (random.nextBoolean()) {
                TaskOutcome o = new TaskOutcome(team, taskId, "k", random.nextBoolean(), null, null, T0);
                outcomes.add(o);
                tracker.outcome(o);
            }
        }
        long idleBefore = clock.get() - IDLE_MILLIS;
        for (GroupBy groupBy : List.of(GroupBy.MODEL, GroupBy.TEAM)) {
            assertEquals(TaskFixture.reference(calls, outcomes, groupBy.label(), 0, Long.MAX_VALUE, null, idleBefore),
                    byGroup(tracker.live(groupBy)), groupBy.label());
        }
    }

    @Test
    void refusesGroupingsOtherThanModelAndTeam() {
        assertThrows(IllegalArgumentException.class, () -> tracker.live(GroupBy.DAY));
    }

    private static Map<String, EfficiencyTotals> byGroup(List<EfficiencyTotals> rows) {
        Map<String, EfficiencyTotals> map = new TreeMap<>();
        rows.forEach(r -> map.put(r.group(), r));
        return map;
    }

    private static List<String> groups(List<EfficiencyTotals> rows) {
        return rows.stream().map(EfficiencyTotals::group).toList();
    }
}
