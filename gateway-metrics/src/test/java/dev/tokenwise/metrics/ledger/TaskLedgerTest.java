package dev.tokenwise.metrics.ledger;

import static dev.tokenwise.metrics.ledger.TaskFixture.IDLE_MILLIS;
import static dev.tokenwise.metrics.ledger.TaskFixture.T0;
import static dev.tokenwise.metrics.ledger.TaskFixture.call;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.metrics.ledger.SqliteLedger.Sync;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TaskLedgerTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final long NOW = T0 + 2 * IDLE_MILLIS;

    @TempDir
    Path dir;

    private SqliteLedger exampleLedger() {
        SqliteLedger ledger = SqliteLedger.open(dir.resolve("ledger.db"), Sync.NORMAL);
        TaskFixture.calls().forEach(ledger::accept);
        assertTrue(ledger.flush(WAIT));
        TaskFixture.outcomes().forEach(ledger.tasks()::saveOutcome);
        return ledger;
    }

    @Test
    void flagsACallAsRetryWhenItsTaskHadTheSameModelAndPromptOrItsAttemptIsAboveOne() {
        try (SqliteLedger ledger = exampleLedger()) {
            TaskLedger tasks = ledger.tasks();
            assertEquals(Optional.of(false), tasks.retry("c1"));
            assertEquals(Optional.of(true), tasks.retry("c2"), "same task, model and prompt as c1");
            assertEquals(Optional.of(true), tasks.retry("c3"), "X-Task-Attempt: 2");
            assertEquals(Optional.of(false), tasks.retry("c4"));
            assertEquals(Optional.of(false), tasks.retry("c5"));
            assertEquals(Optional.of(false), tasks.retry("c6"));
            assertEquals(Optional.of(true), tasks.retry("c7"));
            assertEquals(Optional.of(false), tasks.retry("c8"), "no task, never a retry");
            assertEquals(Optional.empty(), tasks.retry("nope"));
        }
    }

    @Test
    void doesNotFlagTheSamePromptInAnotherTeamAnotherModelOrWithoutAHash() {
        try (SqliteLedger ledger = SqliteLedger.open(dir.resolve("ledger.db"), Sync.NORMAL)) {
            ledger.accept(call("x1", "a", "a1", "m1", "t", 0, 7, 1, 1, 0, "stop", T0));
            ledger.accept(call("x2", "b", "b1", "m1", "t", 0, 7, 1, 1, 0, "stop", T0 + 1)); // other team, same id
            ledger.accept(call("x3", "a", "a1", "m2", "t", 0, 7, 1, 1, 0, "stop", T0 + 2)); // other model
            ledger.accept(call("x4", "a", "a1", "m1", "u", 0, 7, 1, 1, 0, "stop", T0 + 3)); // other task
            ledger.accept(call("x5", "a", "a1", "m1", "t", 0, 0, 1, 1, 0, "stop", T0 + 4)); // hash unknown
            ledger.accept(call("x6", "a", "a1", "m1", "t", 0, 0, 1, 1, 0, "stop", T0 + 5)); // hash unknown
            ledger.accept(call("x7", "a", "a1", "m1", "t", 1, 7, 1, 1, 0, "stop", T0 + 6)); // same again: retry
            // the gateway retried upstream: a retry, with or without a task
            ledger.accept(TaskFixture.withAttempts(call("x8", "a", "a1", "m1", "t", 0, 8, 1, 1, 0, "stop", T0 + 7), 2));
            ledger.accept(TaskFixture.withAttempts(call("x9", "a", "a1", "m1", null, 0, 8, 1, 1, 0, "stop", T0 + 8), 3));
            assertTrue(ledger.flush(WAIT));
            List<Boolean> flags = new ArrayList<>();
            for (String id : List.of("x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9")) {
                flags.add(ledger.tasks().retry(id).orElseThrow());
            }
            assertEquals(List.of(false, false, false, false, false, false, true, true, true), flags);
        }
    }

    @Test
    void flagsARepeatAsRetryWhenAFallbackAnsweredTheFirstCall() {
        try (SqliteLedger ledger = SqliteLedger.open(dir.resolve("ledger.db"), Sync.NORMAL)) {
            UsageRecord first = call("f1", "a", "a1", "m-fallback", "t", 0, 9, 1, 1, 0, "stop", T0);
            // m1 was asked for; its provider failed and m-fallback answered (two attempts)
            ledger.accept(UsageRecord.builder().id(first.id()).team(first.team()).keyId(first.keyId()).model(first.model())
                    .provider(first.provider()).endpoint(first.endpoint()).stream(first.stream())
                    .status(first.status()).httpStatus(first.httpStatus()).usage(first.usage())
                    .usageFromProvider(first.usageFromProvider()).localInputTokens(first.localInputTokens())
                    .localOutputTokens(first.localOutputTokens()).localEstimated(first.localEstimated())
                    .costNanos(first.costNanos()).taskId(first.taskId()).taskAttempt(first.taskAttempt())
                    .finishReason(first.finishReason()).createdAtMillis(first.createdAtMillis())
                    .latencyMicros(first.latencyMicros()).upstreamLatencyMicros(first.upstreamLatencyMicros())
                    .ttftMicros(first.ttftMicros()).promptHash(first.promptHash()).requestedModel("m1").attempts(2)
                    .build());
            ledger.accept(call("f2", "a", "a1", "m1", "t", 0, 9, 1, 1, 0, "stop", T0 + 1)); // the same, m1 answered
            assertTrue(ledger.flush(WAIT));
            assertEquals(Optional.of(true), ledger.tasks().retry("f2"), "the same task asked m1 the same prompt before");
        }
    }

    @Test
    void storesAndReadsBackThePromptHash() {
        try (SqliteLedger ledger = SqliteLedger.open(dir.resolve("ledger.db"), Sync.NORMAL)) {
            UsageRecord r = call("h1", "a", "a1", "m1", "t", 3, -1234567890123L, 5, 6, 0.5, "length", T0);
            ledger.accept(r);
            assertTrue(ledger.flush(WAIT));
            assertEquals(Optional.of(r), ledger.find("h1"));
        }
    }

    @Test
    void summarisesATaskSpanningTwoModelsWithItsLastOutcome() {
        try (SqliteLedger ledger = exampleLedger()) {
            TaskSummary t = ledger.tasks().task("a", "write-tests").orElseThrow();
            assertEquals(2, t.calls());
            assertEquals(0, t.retries());
            assertEquals(170, t.inputTokens());
            assertEquals(70, t.outputTokens());
            assertEquals(3_800_000, t.costNanos());
            assertEquals(List.of("sim-small", "sim-large"), t.models());
            assertEquals("sim-large", t.lastModel());
            assertEquals(List.of("a2"), t.keyIds());
            assertEquals(T0 + 30_000, t.firstAtMillis());
            assertEquals(T0 + 40_000, t.lastAtMillis());
            assertEquals(TaskFixture.outcomes().get(2), t.outcome(), "the second report replaced the first");

            TaskSummary login = ledger.tasks().task("a", "fix-login").orElseThrow();
            assertEquals(3, login.calls());
            assertEquals(2, login.retries());
            assertEquals(1, login.truncated());
            assertEquals(0.9, login.outcome().score());

            TaskSummary open = ledger.tasks().task("b", "summarise").orElseThrow();
            assertEquals(null, open.outcome());
            assertEquals(Optional.empty(), ledger.tasks().task("b", "fix-login"), "tasks belong to a team");
            assertEquals(Optional.empty(), ledger.tasks().task("a", "nope"));
            assertEquals(List.of("a"), ledger.tasks().teamsOf("fix-login"));
            assertEquals(List.of(), ledger.tasks().teamsOf("nope"));
        }
    }

    @Test
    void answersTheWorkedExampleByModel() {
        try (SqliteLedger ledger = exampleLedger()) {
            Map<String, EfficiencyTotals> rows = byGroup(ledger.tasks().efficiency(GroupBy.MODEL, 0, NOW, null,
                    NOW - IDLE_MILLIS));
            // sim-small: fix-login (succeeded) and summarise (no outcome, idle); c8 has no task.
            assertEquals(new EfficiencyTotals("sim-small", 2, 1, 0, 1, 0, 5, 3, 2, 450, 830, 660, 4_500_000, 0,
                    10_200_000), rows.get("sim-small"));
            // sim-large: write-tests (failed), with its sim-small call.
            assertEquals(new EfficiencyTotals("sim-large", 1, 0, 1, 0, 0, 2, 0, 0, 170, 70, 240, 3_800_000, 3_800_000,
                    3_800_000), rows.get("sim-large"));
            assertEquals(2, rows.size());
        }
    }

    @Test
    void answersTheWorkedExampleByTeamAndForOneTeam() {
        try (SqliteLedger ledger = exampleLedger()) {
            Map<String, EfficiencyTotals> rows = byGroup(ledger.tasks().efficiency(GroupBy.TEAM, 0, NOW, null,
                    NOW - IDLE_MILLIS));
            assertEquals(new EfficiencyTotals("a", 2, 1, 1, 0, 0, 5, 2, 1, 520, 380, 900, 8_300_000, 3_800_000,
                    8_300_000), rows.get("a"));
            assertEquals(new EfficiencyTotals("b", 1, 0, 0, 1, 0, 2, 1, 1, 100, 520, 0, 0, 0, 5_700_000), rows.get("b"));
            List<EfficiencyTotals> onlyB = ledger.tasks().efficiency(GroupBy.MODEL, 0, NOW, "b", NOW - IDLE_MILLIS);
            assertEquals(1, onlyB.size());
            assertEquals(1, onlyB.get(0).tasks());
            assertEquals("sim-small", onlyB.get(0).group());
        }
    }

    @Test
    void countsATaskWithoutOutcomeAsPendingUntilItIsIdle() {
        try (SqliteLedger ledger = exampleLedger()) {
            long soon = T0 + 30 * 60_000;
            EfficiencyTotals b = ledger.tasks().efficiency(GroupBy.TEAM, 0, soon, "b", soon - IDLE_MILLIS).get(0);
            assertEquals(0, b.unknown());
            assertEquals(1, b.pending());
        }
    }

    @Test
    void placesATaskInTheRangeOfItsLastCallWithAllItsCalls() {
        try (SqliteLedger ledger = exampleLedger()) {
            // Only summarise ends at or after T0 + 45 s; write-tests (last call at +40 s) is out, with its calls.
            List<EfficiencyTotals> late = ledger.tasks().efficiency(GroupBy.TEAM, T0 + 45_000, NOW, null, NOW - IDLE_MILLIS);
            assertEquals(List.of("b"), late.stream().map(EfficiencyTotals::group).toList());
            // Up to T0 + 45 s: fix-login and write-tests; summarise ends later and is not counted at all.
            List<EfficiencyTotals> early = ledger.tasks().efficiency(GroupBy.MODEL, 0, T0 + 45_000, null, NOW - IDLE_MILLIS);
            assertEquals(Map.of("sim-small", 1L, "sim-large", 1L),
                    early.stream().collect(Collectors.toMap(EfficiencyTotals::group, EfficiencyTotals::tasks)));
            // From +35 s: write-tests ends in range and brings its call at +30 s along.
            EfficiencyTotals large = ledger.tasks().efficiency(GroupBy.MODEL, T0 + 35_000, T0 + 45_000, null,
                    NOW - IDLE_MILLIS).get(0);
            assertEquals(2, large.calls());
        }
    }

    @Test
    void agreesWithTheReferenceOnRandomHistories() {
        Random random = new Random(42);
        List<UsageRecord> calls = new ArrayList<>();
        List<TaskOutcome> outcomes = new ArrayList<>();
        String[] models = {"m1", "m2", "m3"};
        String[] teams = {"a", "b"};
        int id = 0;
        for (int task = 0; task < 200; task++) {
            String team = teams[random.nextInt(teams.length)];
            String taskId = "t" + random.nextInt(150); // some ids collide across teams
            long start = T0 + random.nextInt(10 * 86_400) * 1000L;
            int n = 1 + random.nextInt(5);
            for (int i = 0; i < n; i++) {
                UsageRecord r = call("r" + id++, team, team + "-k", models[random.nextInt(models.length)], taskId,
                        random.nextInt(4) == 0 ? 2 : 0, random.nextInt(3), random.nextInt(500), random.nextInt(800),
                        random.nextInt(1000) / 100.0, random.nextInt(5) == 0 ? "length" : "stop",
                        start + random.nextInt(7_200) * 1000L);
                calls.add(random.nextInt(10) == 0 ? TaskFixture.withAttempts(r, 2) : r);
            }
            if (random.nextInt(3) > 0) {
                outcomes.add(new TaskOutcome(team, taskId, null, random.nextBoolean(), null, null, T0));
            }
            if (random.nextInt(10) == 0) {
                calls.add(call("r" + id++, team, team + "-k", "m1", null, 0, 1, 10, 10, 0.1, "stop", start));
            }
        }
        try (SqliteLedger ledger = SqliteLedger.open(dir.resolve("random.db"), Sync.NORMAL)) {
            calls.forEach(ledger::accept);
            assertTrue(ledger.flush(WAIT));
            outcomes.forEach(ledger.tasks()::saveOutcome);
            long now = T0 + 11L * 86_400_000;
            long[][] ranges = {{0, now}, {T0 + 86_400_000L, T0 + 5 * 86_400_000L}, {T0 + 3 * 86_400_000L, now}};
            for (long[] range : ranges) {
                for (String team : new String[] {null, "a"}) {
                    for (GroupBy groupBy : List.of(GroupBy.MODEL, GroupBy.TEAM)) {
                        long idleBefore = T0 + 6 * 86_400_000L;
                        Map<String, EfficiencyTotals> expected = TaskFixture.reference(calls, outcomes, groupBy.label(),
                                range[0], range[1], team, idleBefore);
                        Map<String, EfficiencyTotals> actual = byGroup(ledger.tasks().efficiency(groupBy, range[0],
                                range[1], team, idleBefore));
                        assertEquals(expected, actual, groupBy + " " + team + " " + range[0] + ".." + range[1]);
                    }
                }
            }
        }
    }

    @Test
    void bucketsTasksPerModelAndDayWithTheSumsOfTheTests() {
        try (SqliteLedger ledger = exampleLedger()) {
            List<DriftBucket> buckets = ledger.tasks().driftBuckets(0, NOW);
            assertEquals(2, buckets.size());
            DriftBucket large = buckets.get(0);
            assertEquals("sim-large", large.model());
            assertEquals(T0 / TaskLedger.DAY_MILLIS, large.epochDay());
            assertEquals(1, large.judged());
            assertEquals(0, large.succeeded());
            assertEquals(240, large.judgedTokens());
            assertEquals(240.0 * 240, large.judgedTokensSquared());
            assertEquals(40 * 40 + 30 * 30, large.outputTokensSquared());
            DriftBucket small = buckets.get(1);
            assertEquals(2, small.tasks());
            assertEquals(1, small.judged());
            assertEquals(1, small.succeeded());
            assertEquals(660, small.succeededTokens());
            assertEquals(4_500_000, small.judgedCostNanos());
            assertEquals(4_500_000.0 * 4_500_000, small.judgedCostSquared());
            assertEquals(5, small.calls());
            assertEquals(3, small.retries());
            assertEquals(2, small.truncated());

            List<PriceBucket> prices = ledger.tasks().priceBuckets(0, NOW);
            PriceBucket smallPrices = prices.stream().filter(p -> p.model().equals("sim-small")).findFirst().orElseThrow();
            assertEquals(7, smallPrices.calls()); // c1-c4, c6-c8: by the call's own model, tasks or not
            assertEquals(100 + 100 + 150 + 80 + 50 + 50 + 10, smallPrices.uncachedInputTokens());
        }
    }

    @Test
    void rejectsAScoreOutsideZeroToOne() {
        assertThrows(IllegalArgumentException.class, () -> new TaskOutcome("a", "t", null, true, 1.5, null, 0));
        assertThrows(IllegalArgumentException.class, () -> new TaskOutcome("a", "t", null, true, Double.NaN, null, 0));
    }

    @Test
    void answersTaskLookupsFromThePartialTaskIndexAfterDroppingTheFullOne() throws Exception {
        Path file = dir.resolve("plans.db");
        try (SqliteLedger ledger = SqliteLedger.open(file, Sync.NORMAL)) {
            ledger.accept(call("r1", "a", "a1", "m", "task-x", 0, 5, 1, 1, 0, "stop", 1));
            assertTrue(ledger.flush(WAIT));
        }
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery("SELECT name FROM sqlite_master WHERE type = 'index' "
                    + "AND tbl_name = 'usage_records' AND name = 'usage_records_task_id'")) {
                assertFalse(rs.next(), "the full task index is gone");
            }
            for (String query : List.of(
                    "SELECT * FROM usage_records WHERE task_id = 'task-x' AND team = 'a'",
                    "SELECT DISTINCT team FROM usage_records WHERE task_id = 'task-x'",
                    "SELECT 1 FROM usage_records p WHERE p.task_id = 'task-x' AND p.team IS 'a' AND p.model IS 'm' "
                            + "AND p.prompt_hash = 5",
                    // the retry flag's own lookup, by the texts' ids
                    "SELECT 1 FROM usage_rows p WHERE p.task_id = 'task-x' AND p.team_ref IS 1 "
                            + "AND COALESCE(p.requested_model_ref, p.model_ref) IS 2 AND p.prompt_hash = 5")) {
                StringBuilder plan = new StringBuilder();
                try (ResultSet rs = s.executeQuery("EXPLAIN QUERY PLAN " + query)) {
                    while (rs.next()) {
                        plan.append(rs.getString("detail")).append('\n');
                    }
                }
                assertTrue(plan.toString().contains("usage_rows_task_prompt"), query + "\n" + plan);
            }
        }
    }

    @Test
    void migratesAVersion1FileInPlace() throws Exception {
        Path file = dir.resolve("v1.db");
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement()) {
            for (String ddl : LedgerSchema.V1) {
                s.execute(ddl);
            }
            s.execute("PRAGMA user_version = 1");
            s.execute(v1Row("old1", "task-x", "NULL"));
            s.execute(v1Row("old2", "task-x", "2"));
            s.execute("INSERT INTO teams (name, limit_nanos, period, updated_at) VALUES ('a', 5, 'daily', 1)");
        }
        try (SqliteLedger ledger = SqliteLedger.open(file, Sync.NORMAL)) {
            assertEquals(Optional.of(false), ledger.tasks().retry("old1"));
            assertEquals(Optional.of(true), ledger.tasks().retry("old2"), "X-Task-Attempt 2 before the migration");
            assertEquals(1, ledger.teams().size());
            assertEquals(0, ledger.find("old1").orElseThrow().promptHash());
            // Writes after the migration detect retries against the old rows by attempt only (no hash then).
            ledger.accept(call("new1", "a", "a1", "m", "task-x", 0, 5, 1, 1, 0, "stop", 3));
            ledger.accept(call("new2", "a", "a1", "m", "task-x", 0, 5, 1, 1, 0, "stop", 4));
            assertTrue(ledger.flush(WAIT));
            assertEquals(Optional.of(false), ledger.tasks().retry("new1"));
            assertEquals(Optional.of(true), ledger.tasks().retry("new2"));
            ledger.tasks().saveOutcome(new TaskOutcome("a", "task-x", "a1", true, null, null, 5));
            TaskSummary t = ledger.tasks().task("a", "task-x").orElseThrow();
            assertEquals(4, t.calls());
            assertEquals(2, t.retries());
            assertTrue(t.outcome().success());
        }
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("PRAGMA user_version")) {
            assertTrue(rs.next());
            assertEquals(LedgerSchema.VERSION, rs.getInt(1));
        }
        // Opening again does not migrate twice.
        try (SqliteLedger ledger = SqliteLedger.open(file, Sync.NORMAL)) {
            assertEquals(4, ledger.tasks().task("a", "task-x").orElseThrow().calls());
        }
    }

    @Test
    void readsBackWhatRoutesLearnFromTasksWithOutcomesAndRoutedCallsWithoutATaskInOrder() {
        try (SqliteLedger ledger = SqliteLedger.open(dir.resolve("ledger.db"), Sync.NORMAL)) {
            // A routed task of two calls whose last call was answered by mid; a task calling premium directly.
            ledger.accept(call("r1", "a", "a1", "cheap", "t-routed", 0, 1, 10, 10, 0.1, "stop", 1_000).toBuilder()
                    .route("auto").routeReason("explore").requestedModel("auto").build());
            ledger.accept(call("r2", "a", "a1", "mid", "t-routed", 0, 2, 10, 10, 1.0, "stop", 2_000).toBuilder()
                    .route("auto").routeReason("exploit").requestedModel("auto").build());
            ledger.accept(call("d1", "b", "b1", "premium", "t-direct", 0, 3, 10, 10, 10.0, "stop", 3_000));
            // Calls to the route without a task: one ok, one cut by the output limit, one refused with a 400.
            ledger.accept(call("n1", "a", "a1", "mid", null, 0, 4, 10, 10, 1.0, "stop", 4_000).toBuilder()
                    .route("auto").routeReason("exploit").build());
            ledger.accept(call("n2", "a", "a1", "mid", null, 0, 5, 10, 10, 1.0, "length", 5_000).toBuilder()
                    .route("auto").routeReason("exploit").build());
            ledger.accept(call("n3", "a", "a1", "mid", null, 0, 6, 10, 0, 0, null, 6_000).toBuilder()
                    .route("auto").routeReason("exploit").status(dev.tokenwise.core.model.CallStatus.UPSTREAM_ERROR)
                    .httpStatus(400).build());
            // A call to a model without a task: nothing to learn.
            ledger.accept(call("m1", "a", "a1", "mid", null, 0, 7, 10, 10, 1.0, "stop", 7_000));
            assertTrue(ledger.flush(WAIT));
            ledger.tasks().saveOutcome(new TaskOutcome("b", "t-direct", null, true, 0.9, null, 8_000));
            ledger.tasks().saveOutcome(new TaskOutcome("a", "t-routed", null, false, null, null, 9_000));

            assertEquals("auto", ledger.find("r2").orElseThrow().route());
            assertEquals("exploit", ledger.find("r2").orElseThrow().routeReason());
            assertEquals("auto", ledger.find("r2").orElseThrow().requestedModel());
            assertEquals(null, ledger.find("d1").orElseThrow().route());

            List<RouteEvidence> evidence = ledger.tasks().routeEvidence(0, 100);
            assertEquals(List.of(
                    new RouteEvidence("mid", 4_000, 1_000_000, true, null, "auto", false),
                    new RouteEvidence("mid", 5_000, 1_000_000, false, null, "auto", false),
                    new RouteEvidence("premium", 8_000, 10_000_000, true, 0.9, null, true),
                    new RouteEvidence("mid", 9_000, 1_100_000, false, null, "auto", true)), evidence);
            assertEquals(3, ledger.tasks().routeEvidence(4_500, 100).size(), "only what was judged since then");
            assertEquals(2, ledger.tasks().routeEvidence(0, 1).size(), "the most recent of each kind");
        }
    }

    @Test
    void refusesOutcomesAfterClose() {
        SqliteLedger ledger = SqliteLedger.open(dir.resolve("ledger.db"), Sync.NORMAL);
        ledger.close();
        assertThrows(IllegalStateException.class,
                () -> ledger.tasks().saveOutcome(new TaskOutcome("a", "t", null, true, null, null, 0)));
    }

    private static String v1Row(String id, String task, String attempt) {
        return "INSERT INTO usage_records (id, created_at, team, key_id, model, provider, endpoint, stream, status, "
                + "http_status, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, "
                + "usage_from_provider, local_input_tokens, local_output_tokens, local_estimated, cost_nanos, task_id, "
                + "task_attempt, finish_reason, latency_micros, upstream_latency_micros, ttft_micros) VALUES ('" + id
                + "', 1, 'a', 'a1', 'm', 'sim', '/v1/chat/completions', 0, 'ok', 200, 10, 0, 0, 5, 0, 1, 10, 5, 0, 100, '"
                + task + "', " + attempt + ", 'stop', 1, 1, 0)";
    }

    private static Map<String, EfficiencyTotals> byGroup(List<EfficiencyTotals> rows) {
        return rows.stream().collect(Collectors.toMap(EfficiencyTotals::group, Function.identity(), (x, y) -> x,
                TreeMap::new));
    }
}
