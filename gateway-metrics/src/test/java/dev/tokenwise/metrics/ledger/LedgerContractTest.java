package dev.tokenwise.metrics.ledger;

import static dev.tokenwise.metrics.ledger.TaskFixture.T0;
import static dev.tokenwise.metrics.ledger.TaskFixture.call;
import static dev.tokenwise.metrics.ledger.TestRecords.record;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenwise.core.config.BudgetConfig;
import dev.tokenwise.core.config.BudgetPeriod;
import dev.tokenwise.core.config.RateLimits;
import dev.tokenwise.core.model.CacheStatus;
import dev.tokenwise.core.model.CallStatus;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.RecordFlag;
import dev.tokenwise.core.model.TokenUsage;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.spi.TeamStore.StoredKey;
import dev.tokenwise.core.spi.TeamStore.StoredRateLimits;
import dev.tokenwise.core.spi.TeamStore.StoredTeam;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The behaviour every ledger store has, whichever it is: one suite run against {@link SqliteLedger}
 * ({@link SqliteLedgerContractTest}) and {@link PostgresLedger} ({@link PostgresLedgerContractTest}), each on a fresh,
 * empty store per test.
 */
abstract class LedgerContractTest {
    static final Duration WAIT = Duration.ofSeconds(10);
    static final long DAY = 86_400_000L;
    static final long NOW = T0 + 7 * DAY;

    /** A new ledger on an empty store. */
    abstract Ledger openLedger();

    @Test
    void readsBackEveryColumnOfARecordWithItsFlagsCacheFieldsAndInstance() {
        int flags = RecordFlag.USAGE_REJECTED.bit() | RecordFlag.RESERVATION_EXCEEDED.bit();
        UsageRecord full = TestRecords.fullRecord("req_full", T0).withFlags(flags);
        UsageRecord hit = UsageRecord.builder().id("req_hit").team("a").keyId("k").model("m").provider("sim")
                .endpoint(Endpoint.CHAT_COMPLETIONS).stream(true).status(CallStatus.OK).httpStatus(200)
                .usage(new TokenUsage(100, 20, 7, 50, 10, 3)).usageFromProvider(true).localInputTokens(100)
                .localOutputTokens(50).finishReason("stop").createdAtMillis(T0 + 1).latencyMicros(40).ttftMicros(40)
                .promptHash(-7).requestedModel("m-asked").cache(CacheStatus.HIT).savedNanos(2_550)
                .promptCacheSavedNanos(76_800).priceVersion("2026-11-01").attempts(2).route("auto-sim")
                .routeReason("explore").instance("gw-b").build();
        UsageRecord bare = UsageRecord.builder().id("req_bare").usage(TokenUsage.of(0, 0)).createdAtMillis(T0 + 2).build();
        try (Ledger ledger = openLedger()) {
            ledger.accept(full);
            ledger.accept(hit);
            ledger.accept(bare);
            assertTrue(ledger.flush(WAIT));
            assertEquals(Optional.of(full), ledger.find("req_full"));
            assertEquals(Optional.of(hit), ledger.find("req_hit"));
            assertEquals(Optional.of(bare), ledger.find("req_bare"));
            assertEquals(List.of(RecordFlag.USAGE_REJECTED, RecordFlag.RESERVATION_EXCEEDED),
                    RecordFlag.of(ledger.find("req_full").orElseThrow().flags()));
            assertEquals(Optional.empty(), ledger.find("req_nope"));
            assertEquals(3, ledger.committedRecords());
            assertEquals(0, ledger.pendingRecords());
            assertTrue(ledger.healthy());
        }
    }

    @Test
    void keepsTheStoredRowWhenARecordIdComesTwice() {
        try (Ledger ledger = openLedger()) {
            ledger.accept(record("dup", "a", "k", "m", T0, 10));
            ledger.accept(record("dup", "a", "k", "m", T0, 99));
            assertTrue(ledger.flush(WAIT));
            assertEquals(10, ledger.find("dup").orElseThrow().costNanos());
            assertEquals(10, ledger.totalCostNanos());
        }
    }

    @Test
    void sumsSpendPerTeamAndKeySinceAMomentWithAdjustments() {
        try (Ledger ledger = openLedger()) {
            ledger.accept(record("r1", "a", "k1", "m", T0, 100));
            ledger.accept(record("r2", "a", "k2", "m", T0 + 10, 200));
            ledger.accept(record("r3", "b", "k3", "m", T0 + 20, 400));
            ledger.accept(record("old", "a", "k1", "m", T0 - 1, 1_000));
            assertTrue(ledger.flush(WAIT));
            assertEquals(300, ledger.teamSpentNanos("a", T0));
            assertEquals(100, ledger.keySpentNanos("k1", T0));
            assertEquals(0, ledger.teamSpentNanos("nobody", T0));
            assertEquals(1, ledger.applyAdjustments("rp1", List.of(new Ledger.Adjustment("r1", T0, "a", "k1", "m", -40,
                    "v2")), NOW));
            assertEquals(260, ledger.teamSpentNanos("a", T0));
            assertEquals(60, ledger.keySpentNanos("k1", T0));
            assertEquals(1_660, ledger.totalCostNanos());
            assertEquals(Map.of("r1", -40L), ledger.adjustmentsByRecord(T0, T0 + 1));
        }
    }

    @Test
    void groupsUsageByTeamModelKeyAndUtcDayWithAdjustments() {
        long day1 = Instant.parse("2026-11-28T23:59:59Z").toEpochMilli();
        long day2 = Instant.parse("2026-11-29T00:00:00Z").toEpochMilli();
        try (Ledger ledger = openLedger()) {
            ledger.accept(record("r1", "a", "k1", "small", day1, 100));
            ledger.accept(record("r2", "a", "k2", "large", day2, 200).withCache(CacheStatus.HIT));
            ledger.accept(record("r3", "b", "k3", "small", day2, 400));
            ledger.accept(record("r4", null, null, "small", day2, 5));
            assertTrue(ledger.flush(WAIT));
            ledger.applyAdjustments("rp", List.of(new Ledger.Adjustment("r3", day2, "b", "k3", "small", 50, "v2")), NOW);

            List<UsageRow> byTeam = ledger.usage(GroupBy.TEAM, 0, NOW, null);
            assertEquals(java.util.Arrays.asList(null, "a", "b"), byTeam.stream().map(UsageRow::team).toList());
            assertEquals(List.of(1L, 2L, 1L), byTeam.stream().map(UsageRow::requests).toList());
            assertEquals(List.of(5L, 300L, 450L), byTeam.stream().map(UsageRow::costNanos).toList());
            assertEquals(List.of(0L, 1L, 0L), byTeam.stream().map(UsageRow::cacheHits).toList());

            List<UsageRow> byModel = ledger.usage(GroupBy.MODEL, 0, NOW, null);
            assertEquals(List.of("large", "small"), byModel.stream().map(UsageRow::model).toList());
            assertEquals(List.of(200L, 555L), byModel.stream().map(UsageRow::costNanos).toList());

            List<UsageRow> byKey = ledger.usage(GroupBy.KEY, 0, NOW, "a");
            assertEquals(List.of("k1", "k2"), byKey.stream().map(UsageRow::keyId).toList());

            List<UsageRow> byDay = ledger.usage(GroupBy.DAY, 0, NOW, null);
            assertEquals(List.of("2026-11-28", "2026-11-29"), byDay.stream().map(UsageRow::day).toList());
            assertEquals(List.of(100L, 655L), byDay.stream().map(UsageRow::costNanos).toList());
            assertEquals(List.of(100L, 300L), byDay.stream().map(UsageRow::inputTokens).toList());

            assertEquals(List.of(), ledger.usage(GroupBy.TEAM, day2 + 1, NOW, null));
        }
    }

    @Test
    void handsOutTimingsOfCompletedCallsAndEveryRecordInWriteOrder() {
        try (Ledger ledger = openLedger()) {
            ledger.accept(record("z", "a", "k", "m", T0 + 5, 1));
            ledger.accept(record("y", "a", "k", "m", T0, 1));
            ledger.accept(UsageRecord.builder().id("x").team("a").status(CallStatus.UPSTREAM_ERROR).usage(TokenUsage.of(0, 0))
                    .createdAtMillis(T0 + 1).build());
            assertTrue(ledger.flush(WAIT));
            List<CallTiming> timings = new ArrayList<>();
            ledger.timings("a", T0, NOW, timings::add);
            assertEquals(2, timings.size());
            assertEquals(12_345, timings.get(0).latencyMicros());
            List<String> ids = new ArrayList<>();
            ledger.forEachRecord(0, NOW, r -> ids.add(r.id()));
            assertEquals(List.of("z", "y", "x"), ids);
        }
    }

    @Test
    void flagsRetriesAsTheDefinitionSays() {
        try (Ledger ledger = openLedger()) {
            ledger.accept(call("x1", "a", "a1", "m1", "t", 0, 7, 1, 1, 0, "stop", T0));
            ledger.accept(call("x2", "b", "b1", "m1", "t", 0, 7, 1, 1, 0, "stop", T0 + 1));
            ledger.accept(call("x3", "a", "a1", "m2", "t", 0, 7, 1, 1, 0, "stop", T0 + 2));
            ledger.accept(call("x4", "a", "a1", "m1", "u", 0, 7, 1, 1, 0, "stop", T0 + 3));
            ledger.accept(call("x5", "a", "a1", "m1", "t", 0, 0, 1, 1, 0, "stop", T0 + 4));
            ledger.accept(call("x6", "a", "a1", "m1", "t", 0, 0, 1, 1, 0, "stop", T0 + 5));
            ledger.accept(call("x7", "a", "a1", "m1", "t", 1, 7, 1, 1, 0, "stop", T0 + 6));
            ledger.accept(TaskFixture.withAttempts(call("x8", "a", "a1", "m1", "t", 0, 8, 1, 1, 0, "stop", T0 + 7), 2));
            ledger.accept(TaskFixture.withAttempts(call("x9", "a", "a1", "m1", null, 0, 8, 1, 1, 0, "stop", T0 + 8), 3));
            assertTrue(ledger.flush(WAIT));
            ledger.accept(call("x10", "a", "a1", "m1", "t", 0, 7, 1, 1, 0, "stop", T0 + 9)); // in a later batch
            assertTrue(ledger.flush(WAIT));
            List<Boolean> flags = new ArrayList<>();
            for (String id : List.of("x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10")) {
                flags.add(ledger.tasks().retry(id).orElseThrow());
            }
            assertEquals(List.of(false, false, false, false, false, false, true, true, true, true), flags);
        }
    }

    @Test
    void addsUpTasksOutcomesAndEfficiencyAsTheReferenceDoes() {
        try (Ledger ledger = openLedger()) {
            TaskFixture.calls().forEach(ledger::accept);
            assertTrue(ledger.flush(WAIT));
            TaskFixture.outcomes().forEach(ledger.tasks()::saveOutcome);

            TaskSummary login = ledger.tasks().task("a", "fix-login").orElseThrow();
            assertEquals(3, login.calls());
            assertEquals(2, login.retries());
            assertEquals(1, login.truncated());
            assertEquals(Optional.empty(), ledger.tasks().task("a", "nope"));
            assertEquals(TaskFixture.outcomes().get(2), ledger.tasks().outcome("a", "write-tests").orElseThrow());

            for (GroupBy groupBy : List.of(GroupBy.MODEL, GroupBy.TEAM)) {
                for (String team : new String[] {null, "a"}) {
                    Map<String, EfficiencyTotals> expected = TaskFixture.reference(TaskFixture.calls(),
                            TaskFixture.outcomes(), groupBy.label(), 0, NOW, team, NOW - TaskFixture.IDLE_MILLIS);
                    Map<String, EfficiencyTotals> actual = new LinkedHashMap<>();
                    ledger.tasks().efficiency(groupBy, 0, NOW, team, NOW - TaskFixture.IDLE_MILLIS)
                            .forEach(row -> actual.put(row.group(), row));
                    assertEquals(expected, actual, groupBy + " " + team);
                }
            }
            List<TaskRow> rows = ledger.tasks().taskRows(0, NOW, null);
            assertEquals(List.of("fix-login", "write-tests", "summarise"), rows.stream().map(TaskRow::taskId).toList());
            List<DriftBucket> buckets = ledger.tasks().driftBuckets(0, NOW);
            assertEquals(List.of("sim-large", "sim-small"), buckets.stream().map(DriftBucket::model).toList());
            assertEquals(3, buckets.stream().mapToLong(DriftBucket::tasks).sum());
            List<PriceBucket> prices = ledger.tasks().priceBuckets(0, NOW);
            assertEquals(8, prices.stream().mapToLong(PriceBucket::calls).sum());

            DriftReference ref = new DriftReference("traffic", "sim-small", T0, 0, T0, "first");
            ledger.tasks().saveDriftReference(ref);
            ledger.tasks().saveDriftReference(new DriftReference("traffic", "sim-small", T0, T0 + DAY, T0 + DAY, "moved"));
            assertEquals(List.of(new DriftReference("traffic", "sim-small", T0, T0 + DAY, T0 + DAY, "moved")),
                    ledger.tasks().driftReferences());
        }
    }

    @Test
    void storesTeamsKeysAndRateLimitsAndRefusesASecondKeyWithTheSameSecret() {
        try (Ledger ledger = openLedger()) {
            BudgetConfig daily = new BudgetConfig(5_000_000_000L, BudgetPeriod.DAILY);
            ledger.saveTeam(new StoredTeam("research", daily, T0));
            ledger.saveTeam(new StoredTeam("ops", null, T0));
            ledger.saveTeam(new StoredTeam("research", new BudgetConfig(7, BudgetPeriod.MONTHLY), T0 + 1));
            assertEquals(List.of(new StoredTeam("ops", null, T0),
                    new StoredTeam("research", new BudgetConfig(7, BudgetPeriod.MONTHLY), T0 + 1)), ledger.teams());

            StoredKey key = new StoredKey("key-1", "research", "ab12", List.of("sim-small", "sim-large"), daily, T0, 0);
            ledger.saveKey(key);
            ledger.saveKey(new StoredKey("key-2", "ops", "cd34", List.of(), null, T0 + 1, 0));
            assertThrows(IllegalArgumentException.class,
                    () -> ledger.saveKey(new StoredKey("key-3", "ops", "ab12", List.of(), null, T0 + 2, 0)));
            assertTrue(ledger.revokeKey("key-2", T0 + 5));
            assertFalse(ledger.revokeKey("key-2", T0 + 6), "already revoked");
            assertEquals(List.of(key, new StoredKey("key-2", "ops", "cd34", List.of(), null, T0 + 1, T0 + 5)),
                    ledger.keys());

            StoredRateLimits limits = new StoredRateLimits(StoredRateLimits.TEAM, "research", new RateLimits(10, 1_000, 2),
                    T0);
            ledger.saveRateLimits(limits);
            ledger.saveRateLimits(new StoredRateLimits(StoredRateLimits.KEY, "key-1", new RateLimits(5, 0, 0), T0));
            StoredRateLimits changed = new StoredRateLimits(StoredRateLimits.TEAM, "research", new RateLimits(20, 0, 1),
                    T0 + 1);
            ledger.saveRateLimits(changed);
            assertEquals(List.of(new StoredRateLimits(StoredRateLimits.KEY, "key-1", new RateLimits(5, 0, 0), T0), changed),
                    ledger.rateLimits());
        }
    }

    @Test
    void setsAndRemovesTheBudgetOfAValidKeyOnlyLeavingTheRestOfItsRow() {
        try (Ledger ledger = openLedger()) {
            BudgetConfig weekly = new BudgetConfig(3_000_000_000L, BudgetPeriod.WEEKLY);
            ledger.saveKey(new StoredKey("key-1", "research", "ab12", List.of("sim-small"), null, T0, 0));
            ledger.saveKey(new StoredKey("key-2", "research", "cd34", List.of(), weekly, T0 + 1, 0));
            assertTrue(ledger.revokeKey("key-2", T0 + 5));

            assertTrue(ledger.saveKeyBudget("key-1", weekly));
            assertEquals(List.of(new StoredKey("key-1", "research", "ab12", List.of("sim-small"), weekly, T0, 0)),
                    ledger.keys().subList(0, 1));
            assertTrue(ledger.saveKeyBudget("key-1", null));
            assertEquals(new StoredKey("key-1", "research", "ab12", List.of("sim-small"), null, T0, 0),
                    ledger.keys().get(0));
            assertFalse(ledger.saveKeyBudget("key-2", null), "a revoked key");
            assertFalse(ledger.saveKeyBudget("key-9", weekly), "an unknown key");
            assertEquals(new StoredKey("key-2", "research", "cd34", List.of(), weekly, T0 + 1, T0 + 5),
                    ledger.keys().get(1), "a revoked key's row is left alone");
        }
    }

    @Test
    void keepsTheBillingAuditsWindowsAndBucketsAndTeamInput() {
        try (Ledger ledger = openLedger()) {
            ledger.accept(record("r1", "a", "k", "m", T0, 10));
            ledger.accept(record("r2", "b", "k", "m", T0 + 1, 10, new TokenUsage(500, 0, 0, 1, 0)));
            assertTrue(ledger.flush(WAIT));
            AuditStore audit = ledger.audit();
            audit.save(List.of(new AuditStore.DifferenceRow("m", "CHAT_COMPLETIONS", "input", 1, true, Double.NaN, 0.5,
                    new int[] {0, 2, -1}, new int[] {0, 20_000, -10_000})), List.of(
                    new AuditStore.InflationRow("m", T0, 3, 300, 1_200, 30_000, 480_000, 120_000),
                    new AuditStore.InflationRow("m", T0 - DAY, 1, 1, 1, 1, 1, 1)), T0 - 1, NOW);
            audit.save(List.of(), List.of(new AuditStore.InflationRow("m", T0, 4, 400, 1_600, 1, 2, 3)), T0 - 1, NOW);
            AuditStore.DifferenceRow row = audit.differences().get(0);
            assertTrue(Double.isNaN(row.baselineShare()));
            assertEquals(0.5, row.baselineMedian());
            assertEquals(List.of(0, 2, -1), java.util.Arrays.stream(row.diffs()).boxed().toList());
            List<AuditStore.InflationRow> buckets = audit.inflation(0);
            assertEquals(List.of(new AuditStore.InflationRow("m", T0, 4, 400, 1_600, 1, 2, 3)), buckets);
            assertEquals(List.of("b", "a"), audit.teamInput("m", 0, NOW).stream().map(AuditStore.TeamInput::team).toList());
        }
    }

    @Test
    void deletesOnlyRecordsAndAdjustmentsOlderThanTheCutoffInBatches() {
        try (Ledger ledger = openLedger()) {
            for (int i = 0; i < 25; i++) {
                ledger.accept(record("old-" + i, "a", "k", "m", T0 + i, 10));
            }
            ledger.accept(record("new", "a", "k", "m", T0 + DAY, 7));
            assertTrue(ledger.flush(WAIT));
            ledger.applyAdjustments("rp", List.of(new Ledger.Adjustment("old-1", T0 + 1, "a", "k", "m", 3, "v"),
                    new Ledger.Adjustment("new", T0 + DAY, "a", "k", "m", 1, "v")), NOW);
            assertEquals(25, ledger.deleteBefore(T0 + DAY, 4));
            assertEquals(25, ledger.expiredRecords());
            assertEquals(8, ledger.totalCostNanos(), "the new record and its adjustment");
            assertEquals(Optional.empty(), ledger.find("old-3"));
            assertTrue(ledger.find("new").isPresent());
            assertEquals(0, ledger.deleteBefore(T0 + DAY, 4));
        }
    }

    @Test
    void deletesOldRecordsOnItsOwnThreadOnceRetentionStarts() throws Exception {
        long now = System.currentTimeMillis();
        try (Ledger ledger = openLedger()) {
            ledger.accept(record("ancient", "a", "k", "m", now - 40 * DAY, 10));
            ledger.accept(record("recent", "a", "k", "m", now - DAY, 10));
            assertTrue(ledger.flush(WAIT));
            ledger.startRetention(30, Duration.ofHours(1));
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (ledger.find("ancient").isPresent() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertEquals(Optional.empty(), ledger.find("ancient"));
            assertTrue(ledger.find("recent").isPresent());
            assertEquals(null, ledger.stoppedReason());
        }
    }

    @Test
    void commitsARecordBeforeItsCommitWaiterCompletes() throws Exception {
        try (Ledger ledger = openLedger()) {
            var committed = ledger.whenCommitted("w1");
            ledger.accept(record("w1", "a", "k", "m", T0, 10));
            committed.get(10, java.util.concurrent.TimeUnit.SECONDS);
            assertTrue(ledger.find("w1").isPresent());
        }
    }

    @Test
    void servesTheDashboardsQueriesOnAReadConnection() throws Exception {
        try (Ledger ledger = openLedger()) {
            ledger.accept(record("d1", "a", "k", "m", T0, 10).withCache(CacheStatus.HIT));
            assertTrue(ledger.flush(WAIT));
            try (Connection c = ledger.openReadConnection();
                 PreparedStatement ps = c.prepareStatement("SELECT team, SUM(CASE WHEN cache = 'hit' THEN 1 ELSE 0 END), "
                         + "SUM(cost_nanos) FROM usage_records WHERE created_at >= ? GROUP BY team");
            ) {
                ps.setLong(1, 0);
                try (ResultSet rs = ps.executeQuery()) {
                    assertTrue(rs.next());
                    assertEquals("a", rs.getString(1));
                    assertEquals(1, rs.getLong(2));
                    assertEquals(10, rs.getLong(3));
                }
            }
        }
    }
}
