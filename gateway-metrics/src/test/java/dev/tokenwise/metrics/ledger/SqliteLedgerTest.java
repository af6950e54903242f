package dev.tokenwise.metrics.ledger;

import static dev.tokenwise.metrics.ledger.TestRecords.fullRecord;
import static dev.tokenwise.metrics.ledger.TestRecords.record;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenwise.core.auth.KeyHashes;
import dev.tokenwise.core.budget.Periods;
import dev.tokenwise.core.config.BudgetConfig;
import dev.tokenwise.core.config.BudgetPeriod;
import dev.tokenwise.core.model.CacheStatus;
import dev.tokenwise.core.model.RecordFlag;
import dev.tokenwise.core.model.CallStatus;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.TokenUsage;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.spi.TeamStore.StoredKey;
import dev.tokenwise.core.spi.TeamStore.StoredTeam;
import dev.tokenwise.metrics.ledger.SqliteLedger.Sync;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SqliteLedgerTest {
    /** Short lock waits and backoff, so failure tests take milliseconds. */
    private static final LedgerSettings FAST = new LedgerSettings(100_000, 500, 100, 10, 100, 5_000);
    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    @Test
    void writesEveryRecordInBatchedTransactions() throws Exception {
        Path file = dir.resolve("ledger.db");
        int records = 5_000;
        long totalNanos = 0;
        try (SqliteLedger ledger = SqliteLedger.open(file, Sync.NORMAL)) {
            for (int i = 0; i < records; i++) {
                ledger.accept(record("req_" + i, i % 2 == 0 ? "a" : "b", "k", "m", 1_000 + i, i));
                totalNanos += i;
            }
            assertTrue(ledger.flush(WAIT));
            assertEquals(0, ledger.pendingRecords());
            assertEquals(records, ledger.committedRecords());
            assertEquals(totalNanos, ledger.totalCostNanos());
            long batches = ledger.writer().batchesCommitted();
            int largest = ledger.writer().largestBatch();
            assertTrue(batches < records, "expected batched transactions, got " + batches + " for " + records + " records");
            assertTrue(largest > 1 && largest <= 500, "largest batch " + largest);
        }
        assertEquals(records, count(file, "usage_records"));
    }

    @Test
    void writesABacklogWithoutWaitingForTheGroupCommitInterval() throws Exception {
        Path file = dir.resolve("ledger.db");
        int records = 20_000;
        long intervalMillis = 500;
        try (SqliteLedger ledger = SqliteLedger.open(file, Sync.NORMAL,
                LedgerSettings.DEFAULTS.withGroupCommitMillis(intervalMillis))) {
            ledger.accept(record("req_first", "a", "k", "m", 1, 1));
            assertTrue(ledger.flush(WAIT));
            long start = System.nanoTime();
            for (int i = 0; i < records; i++) {
                ledger.accept(record("req_" + i, "a", "k", "m", 1_000 + i, 1));
            }
            assertTrue(ledger.flush(WAIT));
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            // Waiting the interval before each batch of 500 would take 40 intervals (20 s); writing takes well under 1 s.
            assertTrue(millis < 8 * intervalMillis, records + " queued records took " + millis + " ms to commit");
        }
        assertEquals(records + 1, count(file, "usage_records"));
    }

    @Test
    void theWriteAheadLogStartsOverWhileRecordsKeepComing() throws Exception {
        Path file = dir.resolve("ledger.db");
        Path wal = dir.resolve("ledger.db-wal");
        try (SqliteLedger ledger = SqliteLedger.open(file, Sync.NORMAL)) {
            java.util.concurrent.atomic.AtomicBoolean running = new java.util.concurrent.atomic.AtomicBoolean(true);
            java.util.concurrent.atomic.AtomicInteger written = new java.util.concurrent.atomic.AtomicInteger();
            // The writer never runs dry, so every checkpoint finds frames committed after it began.
            Thread calls = new Thread(() -> {
                while (running.get()) {
                    int i = written.getAndIncrement();
                    ledger.accept(record("req_" + i, "a", "k", "m", 1_000 + i, 1));
                    if (i % 64 == 0) {
                        LockSupport.parkNanos(100_000);
                    }
                }
            });
            calls.start();
            int firstSequence = -1;
            int lastSequence = -1;
            try {
                for (int tick = 0; tick < 10; tick++) {
                    Thread.sleep(200);
                    ledger.connections().checkpoint();
                    int sequence = walCheckpointSequence(wal);
                    firstSequence = firstSequence < 0 ? sequence : firstSequence;
                    lastSequence = sequence;
                }
            } finally {
                running.set(false);
                calls.join();
            }
            assertTrue(ledger.flush(WAIT));
            // The header's checkpoint sequence number counts the times the log started over from its first frame.
            // Each tick takes the writer's turn for its restart, so only a reader could make one give up: there is none.
            assertTrue(lastSequence - firstSequence >= 7, "the log started over " + (lastSequence - firstSequence)
                    + " times in 9 checkpoints under continuous writes; it is " + Files.size(wal) + " bytes");
            assertEquals(written.get(), ledger.committedRecords());
            assertEquals(written.get(), count(file, "usage_records"));
        }
    }

    /** Bytes 12..15 of a WAL file's header, big-endian: incremented each time the log restarts. */
    private static int walCheckpointSequence(Path wal) throws java.io.IOException {
        try (var channel = java.nio.channels.FileChannel.open(wal)) {
            java.nio.ByteBuffer header = java.nio.ByteBuffer.allocate(16);
            channel.read(header, 0);
            return header.getInt(12);
        }
    }

    @Test
    void storesEveryFieldOfARecord() {
        UsageRecord full = fullRecord("req_full", 1_764_000_000_123L);
        UsageRecord plain = record("req_plain", "demo", "demo-key", "sim-small", 1_764_000_000_456L, 1_500,
                TokenUsage.of(12, 34));
        try (SqliteLedger ledger = SqliteLedger.open(dir.resolve("ledger.db"), Sync.NORMAL)) {
            ledger.accept(full);
            ledger.accept(plain);
            assertTrue(ledger.flush(WAIT));
            assertEquals(Optional.of(full), ledger.find("req_full"));
            assertEquals(Optional.of(plain), ledger.find("req_plain"));
            assertEquals(Optional.empty(), ledger.find("req_unknown"));
        }
    }

    @Test
    void writesTheClientPathTheLowerCaseStatusAndNullForAnAbsentAttempt() throws Exception {
        Path file = dir.resolve("ledger.db");
        try (SqliteLedger ledger = SqliteLedger.open(file, Sync.NORMAL)) {
            ledger.accept(fullRecord("req_full", 1_000));
            ledger.accept(record("req_plain", "demo", "demo-key", "sim-small", 2_000, 7));
        }
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT id, endpoint, status, task_attempt, created_at, cost_nanos, stream "
                     + "FROM usage_records ORDER BY created_at")) {
            assertTrue(rs.next());
            assertEquals("/v1/messages", rs.getString("endpoint"));
            assertEquals("client_cancelled", rs.getString("status"));
            assertEquals(3, rs.getInt("task_attempt"));
            assertEquals(1_000, rs.getLong("created_at"));
            assertEquals(123_456_789L, rs.getLong("cost_nanos"));
            assertEquals(1, rs.getInt("stream"));
            assertTrue(rs.next());
            assertEquals("/v1/chat/completions", rs.getString("endpoint"));
            assertEquals("ok", rs.getString("status"));
            rs.getInt("task_attempt");
            assertTrue(rs.wasNull());
        }
    }

    @Test
    void restoresTeamSpendOfThePeriod() {
        Path file = dir.resolve("ledger.db");
        long now = Instant.parse("2026-11-28T15:00:00Z").toEpochMilli();
        long dayStart = Periods.startMillis(BudgetPeriod.DAILY, now, ZoneOffset.UTC);
        try (SqliteLedger ledger = SqliteLedger.open(file, Sync.NORMAL)) {
            ledger.accept(record("req_1", "a", "a1", "m", dayStart - 1, 1_000)); // yesterday
            ledger.accept(record("req_2", "a", "a1", "m", dayStart, 200));
            ledger.accept(record("req_3", "a", "a1", "m", now, 30));
            ledger.accept(record("req_4", "a", "a2", "m", now, 4));
            ledger.accept(record("req_5", "b", "b1", "m", now, 50_000));
        }
        try (SqliteLedger ledger = SqliteLedger.open(file, Sync.NORMAL)) {
            assertEquals(234, ledger.teamSpentNanos("a", dayStart));
            assertEquals(1_234, ledger.teamSpentNanos("a", 0));
            assertEquals(230, ledger.keySpentNanos("a1", dayStart));
            assertEquals(4, ledger.keySpentNanos("a2", dayStart));
            assertEquals(50_000, ledger.teamSpentNanos("b", dayStart));
            assertEquals(0, ledger.teamSpentNanos("nobody", 0));
            assertEquals(0, ledger.keySpentNanos("no-key", 0));
        }
    }

    @Test
    void keepsRecordsInMemoryAndRetriesWhileTheFileIsLocked() throws Exception {
        Path file = dir.resolve("ledger.db");
        try (SqliteLedger ledger = SqliteLedger.open(file, Sync.NORMAL, FAST)) {
            ledger.accept(record("req_before", "a", "a1", "m", 1, 1));
            assertTrue(ledger.flush(WAIT));
            try (Connection lock = DriverManager.getConnection("jdbc:sqlite:" + file);
                 Statement s = lock.createStatement()) {
                s.execute("BEGIN EXCLUSIVE");
                for (int i = 0; i < 100; i++) {
                    ledger.accept(record("req_" + i, "a", "a1", "m", 2 + i, 10));
                }
                await(() -> !ledger.healthy());
                String error = ledger.lastError().orElseThrow();
                assertTrue(error.contains("SQLITE_BUSY") || error.contains("locked"), error);
                assertFalse(ledger.flush(Duration.ofMillis(300)));
                assertEquals(100, ledger.pendingRecords());
                assertFalse(ledger.healthy());
                s.execute("COMMIT");
            }
            assertTrue(ledger.flush(WAIT));
            assertTrue(ledger.healthy());
            assertEquals(Optional.empty(), ledger.lastError());
            assertEquals(0, ledger.pendingRecords());
            assertEquals(1 + 100 * 10, ledger.totalCostNanos());
        }
        assertEquals(101, count(file, "usage_records"));
    }

    @Test
    void closeCommitsEverythingAcceptedBeforeIt() throws Exception {
        Path file = dir.resolve("ledger.db");
        SqliteLedger ledger = SqliteLedger.open(file, Sync.STRICT);
        for (int i = 0; i < 2_000; i++) {
            ledger.accept(record("req_" + i, "a", "a1", "m", i, 1));
        }
        ledger.close();
        ledger.close(); // idempotent
        assertEquals(2_000, count(file, "usage_records"));
        assertThrows(IllegalStateException.class, () -> ledger.accept(record("req_late", "a", "a1", "m", 1, 1)));
    }

    @Test
    void closeGivesUpWithinItsTimeoutWhenTheFileStaysLocked() throws Exception {
        Path file = dir.resolve("ledger.db");
        LedgerSettings shortClose = new LedgerSettings(1_000, 500, 50, 10, 50, 300);
        SqliteLedger ledger = SqliteLedger.open(file, Sync.NORMAL, shortClose);
        try (Connection lock = DriverManager.getConnection("jdbc:sqlite:" + file);
             Statement s = lock.createStatement()) {
            s.execute("BEGIN EXCLUSIVE");
            ledger.accept(record("req_stuck", "a", "a1", "m", 1, 1));
            long start = System.nanoTime();
            ledger.close();
            long tookMillis = (System.nanoTime() - start) / 1_000_000;
            assertTrue(tookMillis < 5_000, "close took " + tookMillis + " ms");
            assertEquals(1, ledger.pendingRecords());
            assertFalse(ledger.healthy());
            s.execute("ROLLBACK");
        }
    }

    @Test
    void reopensAnExistingFileWithoutLosingRows() throws Exception {
        Path file = dir.resolve("ledger.db");
        try (SqliteLedger ledger = SqliteLedger.open(file, Sync.NORMAL)) {
            for (int i = 0; i < 10; i++) {
                ledger.accept(record("req_a" + i, "a", "a1", "m", i, 100));
            }
            ledger.saveTeam(new StoredTeam("a", new BudgetConfig(5_000_000_000L, BudgetPeriod.DAILY), 1));
        }
        try (SqliteLedger ledger = SqliteLedger.open(file, Sync.NORMAL)) {
            assertEquals(1_000, ledger.totalCostNanos());
            for (int i = 0; i < 5; i++) {
                ledger.accept(record("req_b" + i, "a", "a1", "m", 100 + i, 1));
            }
        }
        try (SqliteLedger ledger = SqliteLedger.open(file, Sync.NORMAL)) {
            assertEquals(1_005, ledger.totalCostNanos());
            assertEquals(List.of(new StoredTeam("a", new BudgetConfig(5_000_000_000L, BudgetPeriod.DAILY), 1)),
                    ledger.teams());
        }
        assertEquals(15, count(file, "usage_records"));
    }

    @Test
    void rejectsAFileWithANewerSchema() throws Exception {
        Path file = dir.resolve("ledger.db");
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement()) {
            s.execute("PRAGMA user_version = " + (LedgerSchema.VERSION + 1));
        }
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> SqliteLedger.open(file, Sync.NORMAL));
        assertTrue(e.getMessage().contains("schema version " + (LedgerSchema.VERSION + 1)), e.getMessage());
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
    }

    @Test
    void rejectsAFileThatIsNotALedger() throws Exception {
        Path file = dir.resolve("other.db");
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE notes (text TEXT)");
        }
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> SqliteLedger.open(file, Sync.NORMAL));
        assertTrue(e.getMessage().contains("not a Tokenwise ledger"), e.getMessage());
    }

    @Test
    void createsTheSchemaInWalModeWithItsParentDirectories() throws Exception {
        Path file = dir.resolve("data/nested/tokenwise.db");
        try (SqliteLedger ledger = SqliteLedger.open(file, Sync.NORMAL)) {
            assertTrue(Files.exists(file));
            assertEquals(file.toAbsolutePath(), ledger.file());
        }
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement()) {
            assertEquals("wal", single(s, "PRAGMA journal_mode"));
            assertEquals(String.valueOf(LedgerSchema.VERSION), single(s, "PRAGMA user_version"));
            List<String> objects = new ArrayList<>();
            try (ResultSet rs = s.executeQuery("SELECT type, name FROM sqlite_master WHERE type IN ('table', 'index', 'view') "
                    + "AND name NOT LIKE 'sqlite_%' ORDER BY name")) {
                while (rs.next()) {
                    objects.add(rs.getString(1) + " " + rs.getString(2));
                }
            }
            assertEquals(List.of("table adjustments", "index adjustments_created_at", "index adjustments_record_id",
                    "table api_keys", "index api_keys_team", "table audit_differences",
                    "table audit_inflation", "table drift_references", "table names", "table rate_limits", "table task_outcomes",
                    "table teams", "view usage_records", "table usage_rows", "index usage_rows_created_at",
                    "index usage_rows_key_created_at", "index usage_rows_route", "index usage_rows_task_prompt",
                    "index usage_rows_team_created_at"),
                    objects);
        }
    }

    @Test
    void storesEachRepeatedTextOnceAndReadsTheRowsBackThroughTheView() throws Exception {
        Path file = dir.resolve("ledger.db");
        try (SqliteLedger ledger = SqliteLedger.open(file, Sync.NORMAL)) {
            for (int i = 0; i < 50; i++) {
                ledger.accept(record("req_" + i, i % 2 == 0 ? "a" : "b", "k" + (i % 2), "m", 1_000 + i, 10));
            }
            assertTrue(ledger.flush(WAIT));
            assertEquals(250, ledger.teamSpentNanos("a", 0));
        }
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement()) {
            // a, b, k0, k1, m, and the provider, endpoint, status and finish reason that every test record shares
            assertEquals(String.valueOf(5 + 4), single(s, "SELECT count(*) FROM names"));
            assertEquals("25", single(s, "SELECT count(*) FROM usage_records WHERE team = 'b' AND key_id = 'k1'"));
            assertEquals("1", single(s, "SELECT count(DISTINCT team_ref) FROM usage_rows WHERE team_ref = "
                    + "(SELECT id FROM names WHERE value = 'a')"));
        }
    }

    @Test
    void insertsANewTextAgainWhenTheTransactionThatFirstInsertedItFailed() throws Exception {
        Path file = dir.resolve("ledger.db");
        try (SqliteLedger ledger = SqliteLedger.open(file, Sync.NORMAL)) {
            ledger.accept(record("req_0", "a", "k", "m", 1_000, 1));
            assertTrue(ledger.flush(WAIT));
            try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement()) {
                // Fails the row after the writer inserted the new team's name in the same transaction.
                s.execute("CREATE TRIGGER refuse_bad BEFORE INSERT ON usage_rows WHEN NEW.id = 'req_bad' "
                        + "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END");
                ledger.accept(record("req_bad", "fresh-team", "k", "m", 2_000, 5));
                await(() -> !ledger.healthy());
                assertEquals("0", single(s, "SELECT count(*) FROM names WHERE value = 'fresh-team'"), "rolled back");
                s.execute("DROP TRIGGER refuse_bad");
            }
            assertTrue(ledger.flush(WAIT));
            assertTrue(ledger.healthy());
            assertEquals("fresh-team", ledger.find("req_bad").orElseThrow().team());
            assertEquals(5, ledger.teamSpentNanos("fresh-team", 0));
        }
    }

    @Test
    void keepsARecordsFlagsAndReadsThemBack() throws Exception {
        Path file = dir.resolve("ledger.db");
        int flags = RecordFlag.USAGE_REJECTED.bit() | RecordFlag.RESERVATION_EXCEEDED.bit();
        try (SqliteLedger ledger = SqliteLedger.open(file, Sync.NORMAL)) {
            ledger.accept(record("req_f", "a", "k", "m", 1_000, 10).withFlags(flags));
            ledger.accept(record("req_plain", "a", "k", "m", 1_000, 10));
            assertTrue(ledger.flush(WAIT));
            assertEquals(flags, ledger.find("req_f").orElseThrow().flags());
            assertEquals(List.of(RecordFlag.USAGE_REJECTED, RecordFlag.RESERVATION_EXCEEDED),
                    RecordFlag.of(ledger.find("req_f").orElseThrow().flags()));
            assertEquals(0, ledger.find("req_plain").orElseThrow().flags());
        }
    }

    @Test
    void keepsWhatTheCachesDidAndSavedAndSumsItPerGroup() throws Exception {
        Path file = dir.resolve("ledger.db");
        UsageRecord miss = record("req_miss", "a", "k", "m", 1_000, 2_550).withCache(CacheStatus.MISS);
        UsageRecord hit = UsageRecord.builder().id("req_hit").team("a").keyId("k").model("m").provider("sim")
                .endpoint(Endpoint.CHAT_COMPLETIONS).stream(true).status(CallStatus.OK).httpStatus(200)
                .usage(new TokenUsage(100, 20, 0, 50, 10)).usageFromProvider(true).localInputTokens(100)
                .localOutputTokens(50).finishReason("stop").createdAtMillis(2_000).latencyMicros(40).ttftMicros(40)
                .promptHash(7).requestedModel("m").cache(CacheStatus.HIT).savedNanos(2_550).promptPrefixHash(99)
                .build();
        UsageRecord prompt = UsageRecord.builder().id("req_prompt").team("b").keyId("k2").model("m").provider("sim")
                .endpoint(Endpoint.CHAT_COMPLETIONS).status(CallStatus.OK).httpStatus(200)
                .usage(new TokenUsage(2_000, 1_024, 0, 10, 0)).usageFromProvider(true).localInputTokens(2_000)
                .localOutputTokens(10).costNanos(500).finishReason("stop").createdAtMillis(3_000).latencyMicros(40)
                .upstreamLatencyMicros(30).requestedModel("m").promptCacheSavedNanos(76_800).build();
        try (SqliteLedger ledger = SqliteLedger.open(file, Sync.NORMAL)) {
            ledger.accept(miss);
            ledger.accept(hit);
            ledger.accept(prompt);
            assertTrue(ledger.flush(WAIT));
            assertEquals(Optional.of(miss), ledger.find("req_miss"));
            UsageRecord read = ledger.find("req_hit").orElseThrow();
            assertEquals(CacheStatus.HIT, read.cache());
            assertEquals(2_550, read.savedNanos());
            assertEquals(0, read.promptPrefixHash(), "the prefix hash is for analytics while a record is delivered, not stored");
            assertEquals(76_800, ledger.find("req_prompt").orElseThrow().promptCacheSavedNanos());
            assertEquals(null, ledger.find("req_prompt").orElseThrow().cache());
            assertEquals(List.of(new UsageRow("a", null, null, null, 2, 200, 100, 40, 20, 2_550, 1, 2_550, 0),
                            new UsageRow("b", null, null, null, 1, 2_000, 10, 1_024, 0, 500, 0, 0, 76_800)),
                    ledger.usage(GroupBy.TEAM, 0, Long.MAX_VALUE, null));
        }
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement()) {
            assertEquals("[[hit, 2550]]", rows(s, "SELECT cache, saved_nanos FROM usage_records WHERE id = 'req_hit'").toString());
        }
    }

    @Test
    void readsSpendForABudgetFromTheTeamAndKeyIndexes() throws Exception {
        Path file = dir.resolve("ledger.db");
        try (SqliteLedger ledger = SqliteLedger.open(file, Sync.NORMAL)) {
            ledger.accept(record("req_1", "a", "k", "m", 1_000, 10));
            assertTrue(ledger.flush(WAIT));
        }
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement()) {
            assertTrue(plan(s, "SELECT COALESCE(SUM(cost_nanos), 0) FROM usage_records WHERE team = 'a' AND created_at >= 5")
                    .contains("usage_rows_team_created_at (team_ref=? AND created_at>?)"));
            assertTrue(plan(s, "SELECT COALESCE(SUM(cost_nanos), 0) FROM usage_records WHERE key_id = 'k' AND created_at >= 5")
                    .contains("usage_rows_key_created_at (key_ref=? AND created_at>?)"));
        }
    }

    @Test
    void keepsThePriceVersionAndTheOneHourCacheWritesOfACall() throws Exception {
        try (SqliteLedger ledger = SqliteLedger.open(dir.resolve("versions.db"), Sync.NORMAL)) {
            UsageRecord r = record("req_v", "a", "k", "m", 1_000, 10);
            UsageRecord versioned = UsageRecord.builder().id(r.id()).team(r.team()).keyId(r.keyId()).model(r.model())
                    .provider(r.provider()).endpoint(r.endpoint()).stream(r.stream()).status(r.status())
                    .httpStatus(r.httpStatus()).usage(new TokenUsage(1_000, 0, 600, 10, 0, 400))
                    .usageFromProvider(r.usageFromProvider()).localInputTokens(r.localInputTokens())
                    .localOutputTokens(r.localOutputTokens()).localEstimated(r.localEstimated())
                    .costNanos(r.costNanos()).taskId(r.taskId()).taskAttempt(r.taskAttempt())
                    .finishReason(r.finishReason()).createdAtMillis(r.createdAtMillis())
                    .latencyMicros(r.latencyMicros()).upstreamLatencyMicros(r.upstreamLatencyMicros())
                    .ttftMicros(r.ttftMicros()).promptHash(r.promptHash()).requestedModel(r.requestedModel())
                    .attempts(r.attempts()).priceVersion("3fa2c1d0.flex").build();
            ledger.accept(versioned);
            ledger.accept(record("req_plain", "a", "k", "m", 1_000, 10));
            assertTrue(ledger.flush(WAIT));

            UsageRecord read = ledger.find("req_v").orElseThrow();
            assertEquals("3fa2c1d0.flex", read.priceVersion());
            assertEquals(400, read.usage().cacheWrite1hTokens());
            assertNull(ledger.find("req_plain").orElseThrow().priceVersion());
        }
    }

    @Test
    void countsAppliedAdjustmentsInTotalsAndSpendWithoutEditingTheCalls() throws Exception {
        try (SqliteLedger ledger = SqliteLedger.open(dir.resolve("adjusted.db"), Sync.NORMAL)) {
            UsageRecord first = record("req_a1", "a", "k", "m", 5_000, 1_000);
            ledger.accept(first);
            ledger.accept(record("req_b1", "b", "kb", "m", 6_000, 500));
            assertTrue(ledger.flush(WAIT));
            long at = first.createdAtMillis();
            assertEquals(1_000, ledger.teamSpentNanos("a", 0));

            ledger.applyAdjustments("rp_1", List.of(new SqliteLedger.Adjustment("req_a1", at, "a", "k", "m", -400,
                    "v2")), 99);

            assertEquals(600, ledger.teamSpentNanos("a", 0));
            assertEquals(600, ledger.keySpentNanos("k", 0));
            assertEquals(1_100, ledger.totalCostNanos());
            assertEquals(1_000, ledger.find("req_a1").orElseThrow().costNanos(), "the call's own row is unchanged");
            List<UsageRow> byTeam = ledger.usage(GroupBy.TEAM, 0, Long.MAX_VALUE, null);
            assertEquals(2, byTeam.size());
            assertEquals(600, byTeam.get(0).costNanos());
            assertEquals(1, byTeam.get(0).requests(), "an adjustment is not a request");
            assertEquals(500, byTeam.get(1).costNanos());
            assertEquals(600, ledger.usage(GroupBy.MODEL, 0, Long.MAX_VALUE, "a").get(0).costNanos());
            assertEquals(java.util.Map.of("req_a1", -400L), ledger.adjustmentsByRecord(0, Long.MAX_VALUE));
            List<String> seen = new ArrayList<>();
            ledger.forEachRecord(0, Long.MAX_VALUE, rec -> seen.add(rec.id()));
            assertEquals(List.of("req_a1", "req_b1"), seen);
        }
    }

    @Test
    void migratesAVersion3FileWithEveryValueOfItsRowsKept() throws Exception {
        Path file = dir.resolve("v3.db");
        List<List<Object>> before;
        List<List<Object>> writtenOrder;
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement()) {
            for (List<String> step : List.of(LedgerSchema.V1, LedgerSchema.V2, LedgerSchema.V3)) {
                for (String ddl : step) {
                    s.execute(ddl);
                }
            }
            s.execute("PRAGMA user_version = 3");
            // Texts left NULL, the same text as team and as model, every column set, a task with an attempt; written
            // out of id order, which the view's rowid must keep.
            s.execute("INSERT INTO usage_records VALUES ('req_2', 20, NULL, NULL, NULL, NULL, NULL, 0, "
                    + "'client_cancelled', 499, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, NULL, NULL, NULL, 5, 0, 0, 0, 0, NULL, 1)");
            s.execute("INSERT INTO usage_records VALUES ('req_3', 30, 'team-z', 'k1', 'm', 'anthropic', '/v1/messages', 0, "
                    + "'upstream_error', 529, 7, 0, 0, 0, 0, 0, 7, 0, 1, 0, NULL, NULL, NULL, 70, 60, 0, 9, 0, 'm', 1)");
            s.execute("INSERT INTO usage_records VALUES ('req_1', 10, 'm', 'k1', 'm', 'openai', '/v1/chat/completions', 1, "
                    + "'ok', 200, 11, 2, 3, 40, 5, 1, 12, 39, 0, 1234, 'task-1', 2, 'stop', 900, 800, 100, -77, 1, 'gpt-x', 2)");
            before = rows(s, "SELECT * FROM usage_records ORDER BY id");
            writtenOrder = rows(s, "SELECT id FROM usage_records ORDER BY rowid");
        }
        try (SqliteLedger ledger = SqliteLedger.open(file, Sync.NORMAL)) {
            assertEquals(1234, ledger.totalCostNanos());
            assertEquals(1234, ledger.teamSpentNanos("m", 0));
            ledger.accept(record("req_4", "m", "k1", "m", 40, 6));
            assertTrue(ledger.flush(WAIT));
            assertEquals(1240, ledger.teamSpentNanos("m", 0));
        }
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement()) {
            assertEquals(String.valueOf(LedgerSchema.VERSION), single(s, "PRAGMA user_version"));
            List<List<Object>> after = rows(s, "SELECT * FROM usage_records WHERE id <> 'req_4' ORDER BY id");
            for (List<Object> row : after) {
                row.remove(row.size() - 1); // the view's trailing rowid
                assertNull(row.remove(row.size() - 1), "version 12's instance is NULL for older rows");
                assertNull(row.remove(row.size() - 1), "version 11's route reason is NULL for older rows");
                assertNull(row.remove(row.size() - 1), "version 11's route is NULL for older rows");
                assertEquals(0, ((Number) row.remove(row.size() - 1)).longValue(), "version 9's prompt cache savings start at 0");
                assertEquals(0, ((Number) row.remove(row.size() - 1)).longValue(), "version 9's cache savings start at 0");
                assertNull(row.remove(row.size() - 1), "version 9's cache status starts unknown");
                assertNull(row.remove(row.size() - 1), "version 7's price version is unknown for older rows");
                assertEquals(0, ((Number) row.remove(row.size() - 1)).intValue(), "version 7's 1-hour writes start at 0");
                assertEquals(0, ((Number) row.remove(row.size() - 1)).intValue(), "version 5's flags start at 0");
            }
            assertEquals(before, after);
            assertEquals(List.of(List.of("req_2"), List.of("req_3"), List.of("req_1")), writtenOrder);
            assertEquals(writtenOrder, rows(s, "SELECT id FROM usage_records WHERE id <> 'req_4' ORDER BY rowid"));
            // m, k1, openai, /v1/chat/completions, ok, stop, gpt-x, client_cancelled, team-z, anthropic, /v1/messages,
            // upstream_error; then what req_4 brought (its provider, sim)
            assertEquals(List.of(List.of("/v1/chat/completions"), List.of("/v1/messages"), List.of("anthropic"),
                    List.of("client_cancelled"), List.of("gpt-x"), List.of("k1"), List.of("m"), List.of("ok"), List.of("openai"),
                    List.of("stop"), List.of("team-z"), List.of("upstream_error")),
                    rows(s, "SELECT value FROM names WHERE id <= 12 ORDER BY value"));
        }
    }

    @Test
    void migratesAVersion6FileAndKeepsTheAuditsMemoryInItsNewTables() throws Exception {
        Path file = dir.resolve("v6.db");
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement()) {
            for (List<String> step : List.of(LedgerSchema.V1, LedgerSchema.V2, LedgerSchema.V3, LedgerSchema.V4,
                    LedgerSchema.V5, LedgerSchema.V6)) {
                for (String ddl : step) {
                    s.execute(ddl);
                }
            }
            s.execute("PRAGMA user_version = 6");
        }
        try (SqliteLedger ledger = SqliteLedger.open(file, Sync.NORMAL)) {
            ledger.accept(record("req_1", "m", "k1", "m", 40, 6));
            assertTrue(ledger.flush(WAIT));
            assertTrue(ledger.audit().differences().isEmpty());
            ledger.audit().save(List.of(new AuditStore.DifferenceRow("m", "CHAT_COMPLETIONS", "input", 1, true, 0, 0, new int[] {0, 2, -1},
                    new int[] {0, 20_000, -10_000})), List.of(new AuditStore.InflationRow("m", 3_600_000, 2, 500, 2000,
                    130_000, 2_100_000, 520_000)), 0, 99);
            AuditStore.DifferenceRow row = ledger.audit().differences().get(0);
            assertEquals(List.of(0, 2, -1), java.util.Arrays.stream(row.diffs()).boxed().toList());
            assertEquals(List.of(0, 20_000, -10_000), java.util.Arrays.stream(row.relativePpm()).boxed().toList());
            assertEquals(1, row.features());
            assertEquals(List.of(new AuditStore.InflationRow("m", 3_600_000, 2, 500, 2000, 130_000, 2_100_000, 520_000)),
                    ledger.audit().inflation(0));
            assertEquals(List.of(new AuditStore.TeamInput("m", 1, 100, 20, 0, 40)),
                    ledger.audit().teamInput("m", 0, Long.MAX_VALUE));
            assertEquals(List.of(), ledger.audit().teamInput("m", 41, Long.MAX_VALUE));
        }
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement()) {
            assertEquals(String.valueOf(LedgerSchema.VERSION), single(s, "PRAGMA user_version"));
        }
    }

    private static List<List<Object>> rows(Statement s, String sql) throws SQLException {
        List<List<Object>> rows = new ArrayList<>();
        try (ResultSet rs = s.executeQuery(sql)) {
            int columns = rs.getMetaData().getColumnCount();
            while (rs.next()) {
                List<Object> row = new ArrayList<>();
                for (int i = 1; i <= columns; i++) {
                    row.add(rs.getObject(i));
                }
                rows.add(row);
            }
        }
        return rows;
    }

    private static String plan(Statement s, String query) throws SQLException {
        StringBuilder plan = new StringBuilder();
        for (List<Object> step : rows(s, "EXPLAIN QUERY PLAN " + query)) {
            plan.append(step.get(3)).append('\n'); // id, parent, notused, detail
        }
        return plan.toString();
    }

    @Test
    void appliesTheSyncModeToItsConnections() {
        try (SqliteLedger normal = SqliteLedger.open(dir.resolve("normal.db"), Sync.NORMAL);
             SqliteLedger strict = SqliteLedger.open(dir.resolve("strict.db"), Sync.STRICT)) {
            assertEquals(1, synchronous(normal)); // NORMAL
            assertEquals(2, synchronous(strict)); // FULL
        }
    }

    @Test
    void groupsUsageByTeamModelKeyAndDay() {
        try (SqliteLedger ledger = SqliteLedger.open(dir.resolve("ledger.db"), Sync.NORMAL)) {
            acceptGroupingRecords(ledger);
            assertTrue(ledger.flush(WAIT));

            assertEquals(List.of(new UsageRow("a", null, null, null, 3, 300, 150, 60, 30, 700),
                            new UsageRow("b", null, null, null, 1, 100, 50, 20, 10, 300)),
                    ledger.usage(GroupBy.TEAM, 0, Long.MAX_VALUE, null));
            assertEquals(List.of(new UsageRow(null, null, "m1", null, 3, 300, 150, 60, 30, 800),
                            new UsageRow(null, null, "m2", null, 1, 100, 50, 20, 10, 200)),
                    ledger.usage(GroupBy.MODEL, 0, Long.MAX_VALUE, null));
            assertEquals(List.of(new UsageRow("a", "a1", null, null, 2, 200, 100, 40, 20, 500),
                            new UsageRow("a", "a2", null, null, 1, 100, 50, 20, 10, 200),
                            new UsageRow("b", "b1", null, null, 1, 100, 50, 20, 10, 300)),
                    ledger.usage(GroupBy.KEY, 0, Long.MAX_VALUE, null));
            assertEquals(List.of(new UsageRow(null, null, null, "2026-11-27", 1, 100, 50, 20, 10, 100),
                            new UsageRow(null, null, null, "2026-11-28", 2, 200, 100, 40, 20, 500),
                            new UsageRow(null, null, null, "2026-11-29", 1, 100, 50, 20, 10, 400)),
                    ledger.usage(GroupBy.DAY, 0, Long.MAX_VALUE, null));
        }
    }

    @Test
    void limitsUsageToTheRangeAndTheTeam() {
        try (SqliteLedger ledger = SqliteLedger.open(dir.resolve("ledger.db"), Sync.NORMAL)) {
            acceptGroupingRecords(ledger);
            assertTrue(ledger.flush(WAIT));
            long day28 = millis("2026-11-28T00:00:00Z");
            long day29 = millis("2026-11-29T00:00:00Z");
            assertEquals(List.of(new UsageRow("a", null, null, null, 1, 100, 50, 20, 10, 200),
                            new UsageRow("b", null, null, null, 1, 100, 50, 20, 10, 300)),
                    ledger.usage(GroupBy.TEAM, day28, day29, null));
            assertEquals(List.of(new UsageRow(null, null, "m1", null, 1, 100, 50, 20, 10, 300)),
                    ledger.usage(GroupBy.MODEL, 0, Long.MAX_VALUE, "b"));
            assertEquals(List.of(), ledger.usage(GroupBy.TEAM, 0, Long.MAX_VALUE, "nobody"));
        }
    }

    @Test
    void storesTeamsAndKeysChangedThroughTheAdminApi() throws Exception {
        Path file = dir.resolve("ledger.db");
        String hash1 = KeyHashes.sha256Hex("secret-1");
        String hash2 = KeyHashes.sha256Hex("secret-2");
        try (SqliteLedger ledger = SqliteLedger.open(file, Sync.NORMAL)) {
            ledger.saveTeam(new StoredTeam("demo", new BudgetConfig(5_000_000_000L, BudgetPeriod.DAILY), 1_000));
            ledger.saveTeam(new StoredTeam("free", null, 1_001));
            ledger.saveTeam(new StoredTeam("demo", new BudgetConfig(7_000_000_000L, BudgetPeriod.MONTHLY), 2_000));
            ledger.saveKey(new StoredKey("key-1", "demo", hash1, List.of("sim-small", "gpt-4o"), null, 3_000, 0));
            ledger.saveKey(new StoredKey("key-2", "demo", hash2, List.of(),
                    new BudgetConfig(1_000_000_000L, BudgetPeriod.WEEKLY), 3_001, 0));
            assertTrue(ledger.revokeKey("key-2", 4_000));
            assertFalse(ledger.revokeKey("key-2", 5_000));
            assertFalse(ledger.revokeKey("key-unknown", 5_000));
            assertThrows(IllegalArgumentException.class,
                    () -> ledger.saveKey(new StoredKey("key-3", "free", hash1, List.of(), null, 3_002, 0)));
        }
        try (SqliteLedger ledger = SqliteLedger.open(file, Sync.NORMAL)) {
            assertEquals(List.of(new StoredTeam("demo", new BudgetConfig(7_000_000_000L, BudgetPeriod.MONTHLY), 2_000),
                    new StoredTeam("free", null, 1_001)), ledger.teams());
            List<StoredKey> keys = ledger.keys();
            assertEquals(List.of(new StoredKey("key-1", "demo", hash1, List.of("sim-small", "gpt-4o"), null, 3_000, 0),
                    new StoredKey("key-2", "demo", hash2, List.of(), new BudgetConfig(1_000_000_000L, BudgetPeriod.WEEKLY),
                            3_001, 4_000)), keys);
            assertFalse(keys.get(0).revoked());
            assertTrue(keys.get(1).revoked());
        }
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement()) {
            assertEquals("[\"sim-small\",\"gpt-4o\"]", single(s, "SELECT models FROM api_keys WHERE id = 'key-1'"));
            assertEquals("0", single(s, "SELECT count(*) FROM api_keys WHERE hash_hex LIKE '%secret%'"));
            assertEquals("monthly", single(s, "SELECT period FROM teams WHERE name = 'demo'"));
        }
    }

    @Test
    void storesEveryFieldOfCallsWithAndWithoutTasksWrittenSeveralToAStatement() {
        List<UsageRecord> written = new java.util.ArrayList<>();
        for (int i = 0; i < 53; i++) { // three full statements of calls without a task, the rest one by one
            boolean task = i % 5 == 0;
            written.add(UsageRecord.builder().id("req_" + i).team(i % 2 == 0 ? "a" : "b").keyId("key-" + (i % 3))
                    .model("sim-large").provider("sim")
                    .endpoint(i % 2 == 0 ? Endpoint.CHAT_COMPLETIONS : Endpoint.MESSAGES).stream(i % 3 == 0)
                    .status(CallStatus.OK).httpStatus(200).usage(new TokenUsage(1_000 + i, 300, 200, 400 + i, 150))
                    .usageFromProvider(i % 4 != 0).localInputTokens(990 + i).localOutputTokens(401)
                    .localEstimated(i % 7 == 0).costNanos(123_456_789L + i).taskId(task ? "task-" + (i % 2) : null)
                    .taskAttempt(i % 11 == 0 ? 2 : 0).finishReason(i % 2 == 0 ? "stop" : null)
                    .createdAtMillis(1_764_000_000_000L + i).latencyMicros(1_500_000).upstreamLatencyMicros(1_400_000)
                    .ttftMicros(250_000).promptHash(77L + i).requestedModel("sim-small").attempts(i % 13 == 0 ? 2 : 1)
                    .build());
        }
        try (SqliteLedger ledger = SqliteLedger.open(dir.resolve("ledger.db"), Sync.NORMAL)) {
            written.forEach(ledger::accept);
            assertTrue(ledger.flush(WAIT));
            for (UsageRecord r : written) {
                assertEquals(Optional.of(r), ledger.find(r.id()));
                boolean retry = r.taskAttempt() > 1 || r.attempts() > 1;
                assertEquals(Optional.of(retry), ledger.tasks().retry(r.id()), r.id());
            }
            assertEquals(written.stream().mapToLong(UsageRecord::costNanos).sum(), ledger.totalCostNanos());
        }
    }

    @Test
    void keepsTheStoredRowWhenAnIdComesTwiceInOneStatement() {
        try (SqliteLedger ledger = SqliteLedger.open(dir.resolve("ledger.db"), Sync.NORMAL)) {
            ledger.accept(record("req_same", "a", "a1", "m", 1, 1));
            for (int i = 0; i < 40; i++) {
                ledger.accept(record(i == 7 ? "req_same" : "req_" + i, "a", "a1", "m", 2 + i, 10));
            }
            assertTrue(ledger.flush(WAIT));
            assertTrue(ledger.healthy());
            assertEquals(1 + 39 * 10, ledger.totalCostNanos());
            assertEquals(1, ledger.find("req_same").orElseThrow().costNanos());
        }
    }

    @Test
    void keepsTheStoredRowWhenAnIdComesTwiceAndKeepsWriting() {
        try (SqliteLedger ledger = SqliteLedger.open(dir.resolve("ledger.db"), Sync.NORMAL)) {
            ledger.accept(record("req_same", "a", "a1", "m", 1, 1));
            ledger.accept(record("req_same", "a", "a1", "m", 2, 2));
            ledger.accept(record("req_other", "a", "a1", "m", 3, 4));
            assertTrue(ledger.flush(WAIT));
            assertTrue(ledger.healthy());
            assertEquals(5, ledger.totalCostNanos());
            assertEquals(1, ledger.find("req_same").orElseThrow().costNanos());
        }
    }

    @Test
    void readsBesideTheWriter() throws Exception {
        try (SqliteLedger ledger = SqliteLedger.open(dir.resolve("ledger.db"), Sync.NORMAL)) {
            Thread producer = new Thread(() -> {
                for (int i = 0; i < 20_000; i++) {
                    ledger.accept(record("req_" + i, "a", "a1", "m", i, 1));
                }
            });
            producer.start();
            long last = 0;
            while (producer.isAlive() || ledger.pendingRecords() > 0) {
                long spent = ledger.teamSpentNanos("a", 0);
                assertTrue(spent >= last, "spend went backwards: " + last + " -> " + spent);
                last = spent;
            }
            producer.join();
            assertTrue(ledger.flush(WAIT));
            assertEquals(20_000, ledger.teamSpentNanos("a", 0));
        }
    }

    @Test
    void completesACommitWaiterOnceItsRecordIsCommitted() throws Exception {
        Path file = dir.resolve("ledger.db");
        SqliteLedger ledger = SqliteLedger.open(file, Sync.STRICT, FAST);
        try (Connection lock = DriverManager.getConnection("jdbc:sqlite:" + file);
             Statement s = lock.createStatement()) {
            CompletableFuture<Void> committed = ledger.whenCommitted("req_strict");
            CompletableFuture<Void> cancelled = ledger.whenCommitted("req_gone");
            s.execute("BEGIN EXCLUSIVE");
            ledger.accept(record("req_strict", "a", "a1", "m", 1, 1));
            Thread.sleep(200);
            assertFalse(committed.isDone(), "completed while the file was locked");
            s.execute("COMMIT");
            committed.get(30, TimeUnit.SECONDS);
            assertEquals(1, count(file, "usage_records"));
            cancelled.cancel(false);
            CompletableFuture<Void> never = ledger.whenCommitted("req_never");
            ledger.close();
            ExecutionException e = assertThrows(ExecutionException.class, () -> never.get(5, TimeUnit.SECONDS));
            assertTrue(e.getCause() instanceof IllegalStateException, e.getCause().toString());
        } finally {
            ledger.close();
        }
    }

    // ---------------------------------------------------------------- a record that cannot be written

    @Test
    void writesEveryOtherRecordWhenWritingOneOfThemThrowsWhateverItThrows() throws Exception {
        Path file = dir.resolve("ledger.db");
        Consumer<UsageRecord> poison = r -> {
            switch (r.id()) {
                case "req_broken" -> throw new IllegalStateException("a record the table cannot take");
                case "req_huge" -> throw new OutOfMemoryError("Java heap space");
                case "req_deep" -> throw new StackOverflowError();
                default -> {
                }
            }
        };
        try (SqliteLedger ledger = SqliteLedger.open(file, Sync.NORMAL, FAST, poison)) {
            CompletableFuture<Void> huge = ledger.whenCommitted("req_huge");
            for (int i = 0; i < 300; i++) {
                String id = i == 50 ? "req_broken" : i == 120 ? "req_huge" : i == 250 ? "req_deep" : "req_" + i;
                ledger.accept(record(id, "a", "a1", "m", i, 1));
            }
            assertTrue(ledger.flush(WAIT), "the records around them are written; nothing waits for them");
            assertEquals(3, ledger.rejectedRecords());
            assertEquals(297, ledger.committedRecords());
            assertEquals(0, ledger.pendingRecords());
            assertEquals(null, ledger.stoppedReason(), "the writer goes on");
            assertThrows(ExecutionException.class, () -> huge.get(5, TimeUnit.SECONDS), "it will never be committed");

            ledger.accept(record("req_after", "a", "a1", "m", 301, 1));
            assertTrue(ledger.flush(WAIT));
            assertTrue(ledger.find("req_after").isPresent());
            assertTrue(ledger.healthy());
        }
        assertEquals(298, count(file, "usage_records"));
    }

    @Test
    void writesARecordWhoseWriteFailedOnceOnItsRetry() throws Exception {
        Path file = dir.resolve("ledger.db");
        AtomicInteger failures = new AtomicInteger();
        Consumer<UsageRecord> once = r -> {
            if (r.id().equals("req_7") && failures.getAndIncrement() == 0) {
                throw new OutOfMemoryError("Java heap space"); // another thread's garbage, gone by the retry
            }
        };
        try (SqliteLedger ledger = SqliteLedger.open(file, Sync.NORMAL, FAST, once)) {
            for (int i = 0; i < 20; i++) {
                ledger.accept(record("req_" + i, "a", "a1", "m", i, 1));
            }
            assertTrue(ledger.flush(WAIT));
            assertEquals(0, ledger.rejectedRecords());
            assertEquals(20, ledger.committedRecords());
        }
        assertEquals(20, count(file, "usage_records"));
    }

    @Test
    void saysAtOnceThatItStoppedWhenItsWriterThreadDies() throws Exception {
        Path file = dir.resolve("ledger.db");
        Consumer<UsageRecord> fatal = r -> {
            if (r.id().equals("req_fatal")) {
                throw new InternalError("the JVM is in trouble");
            }
        };
        try (SqliteLedger ledger = SqliteLedger.open(file, Sync.NORMAL, FAST, fatal)) {
            ledger.accept(record("req_0", "a", "a1", "m", 0, 1));
            assertTrue(ledger.flush(WAIT));
            assertEquals(null, ledger.stoppedReason());

            ledger.accept(record("req_fatal", "a", "a1", "m", 1, 1));
            await(() -> ledger.stoppedReason() != null);
            assertTrue(ledger.stoppedReason().contains("the JVM is in trouble"), ledger.stoppedReason());
            assertFalse(ledger.healthy());
            assertEquals(1, ledger.pendingRecords(), "the record it died on is not written");
        }
    }

    @Test
    void saysItStoppedWhenItsWriterMakesNoProgressForLongAndGoesOnWhenItDoes() throws Exception {
        Path file = dir.resolve("ledger.db");
        CountDownLatch release = new CountDownLatch(1);
        Consumer<UsageRecord> hang = r -> {
            if (r.id().equals("req_hang")) {
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        };
        LedgerSettings stallSoon = FAST.withStallMillis(300);
        try (SqliteLedger ledger = SqliteLedger.open(file, Sync.NORMAL, stallSoon, hang)) {
            ledger.accept(record("req_hang", "a", "a1", "m", 0, 1));
            Thread.sleep(100);
            assertEquals(null, ledger.stoppedReason(), "a write may take a moment");
            await(() -> ledger.stoppedReason() != null);
            assertTrue(ledger.stoppedReason().contains("no progress"), ledger.stoppedReason());
            release.countDown();
            assertTrue(ledger.flush(WAIT));
            assertEquals(null, ledger.stoppedReason());
        }
    }

    @Test
    void aFailingDiskIsNotAStoppedWriter() throws Exception {
        Path file = dir.resolve("ledger.db");
        try (SqliteLedger ledger = SqliteLedger.open(file, Sync.NORMAL, FAST.withStallMillis(300));
             Connection lock = DriverManager.getConnection("jdbc:sqlite:" + file);
             Statement s = lock.createStatement()) {
            s.execute("BEGIN EXCLUSIVE");
            ledger.accept(record("req_0", "a", "a1", "m", 0, 1));
            await(() -> !ledger.healthy());
            Thread.sleep(600);
            assertEquals(null, ledger.stoppedReason(), "it retries, and keeps the record: degraded, not stopped");
            s.execute("COMMIT");
            assertTrue(ledger.flush(WAIT));
        }
    }

    private static void acceptGroupingRecords(SqliteLedger ledger) {
        ledger.accept(record("req_1", "a", "a1", "m1", millis("2026-11-27T23:59:59.999Z"), 100));
        ledger.accept(record("req_2", "a", "a2", "m2", millis("2026-11-28T00:00:00Z"), 200));
        ledger.accept(record("req_3", "b", "b1", "m1", millis("2026-11-28T12:00:00Z"), 300));
        ledger.accept(record("req_4", "a", "a1", "m1", millis("2026-11-29T01:00:00Z"), 400));
    }

    private static long millis(String instant) {
        return Instant.parse(instant).toEpochMilli();
    }

    private static int synchronous(SqliteLedger ledger) {
        return ledger.connections().read("test", c -> {
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("PRAGMA synchronous")) {
                rs.next();
                return rs.getInt(1);
            }
        });
    }

    private static long count(Path file, String table) throws SQLException {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement()) {
            return Long.parseLong(single(s, "SELECT count(*) FROM " + table));
        }
    }

    private static String single(Statement s, String sql) throws SQLException {
        try (ResultSet rs = s.executeQuery(sql)) {
            assertTrue(rs.next(), sql);
            return rs.getString(1);
        }
    }

    private static void await(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "condition not met within " + WAIT);
            Thread.sleep(5);
        }
    }
}
