package dev.tokenwise.metrics.routing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenwise.core.config.RouteConfig;
import dev.tokenwise.core.model.CallStatus;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.TokenUsage;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.spi.ModelRouter;
import dev.tokenwise.metrics.ledger.RouteEvidence;
import dev.tokenwise.metrics.ledger.TaskOutcome;
import dev.tokenwise.metrics.ledger.TaskSummary;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class RouterTest {
    private static final RouteConfig ROUTE = new RouteConfig("auto", List.of("cheap", "mid", "premium"), 0.85, 0.05,
            null);
    private static final Map<String, Double> PRICES = Map.of("cheap", 1.0, "mid", 10.0, "premium", 100.0);

    private final AtomicLong clock = new AtomicLong(1_700_000_000_000L);
    private final SplittableRandom random = new SplittableRandom(7);

    private Router router(RouteConfig... routes) {
        Map<String, RouteConfig> byName = new java.util.LinkedHashMap<>();
        for (RouteConfig r : routes) {
            byName.put(r.name(), r);
        }
        return new Router(byName, PRICES, RoutePolicy.Settings.DEFAULT_WINDOW,
                RoutePolicy.Settings.DEFAULT_FADE_WINDOW, RoutePolicy.Settings.DEFAULT_HALF_LIFE_MILLIS, clock::get, () -> random);
    }

    private static TaskSummary task(String taskId, String model, long costNanos) {
        return new TaskSummary("t", taskId, 1, 0, 0, 10, 10, costNanos, List.of(model), List.of("k"), model, 0, 0,
                null);
    }

    /** Teaches {@code n} task outcomes per model with the given success rates (deterministically spread). */
    private void teach(Router router, int n, double cheap, double mid, double premium) {
        double[] rate = {cheap, mid, premium};
        String[] models = {"cheap", "mid", "premium"};
        long[] cost = {100_000, 1_000_000, 10_000_000};
        for (int i = 0; i < n; i++) {
            for (int m = 0; m < 3; m++) {
                boolean success = (i * 7919 % 100) < rate[m] * 100;
                clock.incrementAndGet();
                router.outcome(new TaskOutcome("t", "x" + m + "-" + i, null, success, null, null, clock.get()),
                        task("x" + m + "-" + i, models[m], cost[m]));
            }
        }
    }

    @Test
    void answersNullForANameThatIsNoRoute() {
        assertNull(router(ROUTE).route("mid", "t", null, m -> true));
    }

    @Test
    void keepsATasksCandidateForEveryCallOfTheTask() {
        Router router = router(ROUTE);
        Set<String> seen = new HashSet<>();
        for (int task = 0; task < 50; task++) {
            String first = router.route("auto", "t", "task-" + task, m -> true).model();
            seen.add(first);
            for (int call = 0; call < 5; call++) {
                assertEquals(first, router.route("auto", "t", "task-" + task, m -> true).model());
            }
        }
        assertTrue(seen.size() > 1, "new tasks are not all sent to one candidate before anything is known: " + seen);
        // The same id in another team is another task.
        Set<String> otherTeam = new HashSet<>();
        for (int i = 0; i < 20; i++) {
            otherTeam.add(router.route("auto", "u" + i, "task-0", m -> true).model());
        }
        assertTrue(otherTeam.size() > 1, otherTeam.toString());
    }

    @Test
    void givesNewTasksOnlyToCandidatesThatCanTakeThemButKeepsARunningTasksCandidate() {
        Router router = router(ROUTE);
        teach(router, 100, 0.55, 0.93, 0.98);
        String running = router.route("auto", "t", "running", m -> true).model();
        for (int i = 0; i < 100; i++) {
            ModelRouter.Routed r = router.route("auto", "t", "new-" + i, m -> !m.equals("mid"));
            assertNotEquals("mid", r.model());
            assertEquals(2, r.others().size());
            assertTrue(!r.others().contains(r.model()));
        }
        assertEquals(running, router.route("auto", "t", "running", m -> false).model());
    }

    @Test
    void marksTheRecordWithTheRouteAndTheReason() {
        Router router = router(ROUTE);
        ModelRouter.Routed r = router.route("auto", "t", null, m -> true);
        UsageRecord record = r.lease().amend(record(r.model(), null, CallStatus.OK, 200, "stop"));
        assertEquals("auto", record.route());
        assertEquals("auto", record.requestedModel());
        assertEquals(r.model(), record.model());
        assertEquals(r.reason(), record.routeReason());
        assertTrue(List.of("exploit", "explore").contains(record.routeReason()));
    }

    @Test
    void learnsFromOutcomesOfTasksOfItsCandidatesAndConvergesOnTheCheapestGoodEnough() {
        Router router = router(ROUTE);
        teach(router, 100, 0.55, 0.93, 0.98);
        assertEquals("mid", router.policy("auto").current(m -> true));
        int mid = 0;
        for (int i = 0; i < 200; i++) {
            mid += router.route("auto", "t", "n" + i, m -> true).model().equals("mid") ? 1 : 0;
        }
        assertTrue(mid >= 170, "mid got " + mid + " of 200");
    }

    @Test
    void judgesACallWithoutATaskByHowItEnded() {
        assertEquals(Boolean.TRUE, Router.implicitSuccess(record("mid", null, CallStatus.OK, 200, "stop")));
        assertEquals(Boolean.FALSE, Router.implicitSuccess(record("mid", null, CallStatus.OK, 200, "length")));
        assertEquals(Boolean.FALSE, Router.implicitSuccess(record("mid", null, CallStatus.OK, 200, "content_filter")));
        assertEquals(Boolean.FALSE, Router.implicitSuccess(record("mid", null, CallStatus.UPSTREAM_TIMEOUT, 504, null)));
        assertEquals(Boolean.FALSE, Router.implicitSuccess(record("mid", null, CallStatus.UPSTREAM_ERROR, 500, null)));
        assertEquals(Boolean.FALSE, Router.implicitSuccess(record("mid", null, CallStatus.UPSTREAM_ERROR, 429, null)));
        assertNull(Router.implicitSuccess(record("mid", null, CallStatus.UPSTREAM_ERROR, 400, null)));
        assertNull(Router.implicitSuccess(record("mid", null, CallStatus.CLIENT_CANCELLED, 200, null)));

        Router router = router(ROUTE);
        for (int i = 0; i < 50; i++) {
            router.accept(record("mid", null, CallStatus.UPSTREAM_TIMEOUT, 504, null).toBuilder().route("auto").build());
            router.accept(record("mid", "some-task", CallStatus.OK, 200, "stop").toBuilder().route("auto").build());
        }
        RoutePolicy.Evidence mid = router.policy("auto").evidence().get(1);
        assertTrue(mid.failures() > 30 && mid.successes() == 0, mid.toString());
        assertEquals(50, router.recent("auto").size());
    }

    @Test
    void judgesByTheScoreWhenTheRoutesMetricIsAScore() {
        RouteConfig scored = new RouteConfig("graded", List.of("cheap", "mid"), 0.8, 0.05, 0.7);
        Router router = router(scored);
        router.outcome(new TaskOutcome("t", "a", null, true, 0.5, null, clock.get()), task("a", "cheap", 10));
        router.outcome(new TaskOutcome("t", "b", null, false, 0.9, null, clock.get()), task("b", "cheap", 10));
        RoutePolicy.Evidence cheap = router.policy("graded").evidence().get(0);
        // The first (a failure: score 0.5 < 0.7) is discounted once by the second (a success: score 0.9).
        assertEquals(1, cheap.successes(), 1e-9);
        assertEquals(0.99, cheap.failures(), 1e-9);
    }

    @Test
    void rebuiltFromTheSameEvidenceItChoosesTheSameWay() {
        Router live = router(ROUTE);
        List<RouteEvidence> evidence = new ArrayList<>();
        long[] cost = {100_000, 1_000_000, 10_000_000};
        double[] rate = {0.55, 0.93, 0.98};
        String[] models = {"cheap", "mid", "premium"};
        for (int i = 0; i < 300; i++) {
            int m = i % 3;
            boolean success = (i * 7919 % 100) < rate[m] * 100;
            clock.incrementAndGet();
            live.outcome(new TaskOutcome("t", "e" + i, null, success, null, null, clock.get()),
                    task("e" + i, models[m], cost[m]));
            evidence.add(new RouteEvidence(models[m], clock.get(), cost[m], success, null, null, true));
        }
        Router rebuilt = router(ROUTE);
        rebuilt.rebuild(evidence);
        assertEquals(live.policy("auto").current(m -> true), rebuilt.policy("auto").current(m -> true));
        for (int i = 0; i < 3; i++) {
            assertEquals(live.policy("auto").evidence().get(i).meanSuccess(),
                    rebuilt.policy("auto").evidence().get(i).meanSuccess(), 1e-6);
        }
    }

    @Test
    void refreshedFromASharedLedgerItForgetsItsOwnPictureForTheLedgersAndKeepsItsStickyTasks() {
        Router other = router(ROUTE);
        Router self = router(ROUTE);
        String sticky = self.route("auto", "t", "kept", m -> true).model();
        // This instance saw only the cheap model fail; the shared ledger holds every instance's tasks.
        for (int i = 0; i < 50; i++) {
            clock.incrementAndGet();
            self.outcome(new TaskOutcome("t", "own" + i, null, false, null, null, clock.get()),
                    task("own" + i, "cheap", 100_000));
        }
        List<RouteEvidence> shared = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            clock.incrementAndGet();
            String model = i % 2 == 0 ? "cheap" : "mid";
            boolean success = model.equals("cheap") ? i % 4 != 0 : i % 10 != 1;
            other.outcome(new TaskOutcome("t", "s" + i, null, success, null, null, clock.get()),
                    task("s" + i, model, model.equals("cheap") ? 100_000 : 1_000_000));
            shared.add(new RouteEvidence(model, clock.get(), model.equals("cheap") ? 100_000 : 1_000_000, success,
                    null, null, true));
        }
        self.refresh(shared);
        for (int i = 0; i < 3; i++) {
            assertEquals(other.policy("auto").evidence().get(i).meanSuccess(),
                    self.policy("auto").evidence().get(i).meanSuccess(), 1e-6);
            assertEquals(other.policy("auto").evidence().get(i).successes()
                    + other.policy("auto").evidence().get(i).failures(),
                    self.policy("auto").evidence().get(i).successes() + self.policy("auto").evidence().get(i).failures(),
                    1e-3, "no trace of what only this instance saw (its 50 failures)");
        }
        assertEquals(sticky, self.route("auto", "t", "kept", m -> true).model());
    }

    private static UsageRecord record(String model, String taskId, CallStatus status, int http, String finish) {
        return UsageRecord.builder().id("r").team("t").keyId("k").model(model).provider("p")
                .endpoint(Endpoint.CHAT_COMPLETIONS).status(status).httpStatus(http).usage(TokenUsage.of(10, 10))
                .costNanos(1_000).taskId(taskId).finishReason(finish).createdAtMillis(1_700_000_000_000L).build();
    }
}
