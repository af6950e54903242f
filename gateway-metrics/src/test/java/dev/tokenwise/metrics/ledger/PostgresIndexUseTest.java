package dev.tokenwise.metrics.ledger;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenwise.core.testing.PostgresServer;
import java.time.Duration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Every query the ledger's APIs make finds its rows of {@code usage_records} through an index on PostgreSQL, never by
 * reading the whole table (a spend table without the right index falls over at a few million rows). The table is
 * filled with {@value #ROWS} rows over 30 days and analysed; PostgreSQL's {@code auto_explain} then logs the plan of
 * every statement the ledger runs, and no plan may hold a sequential scan of {@code usage_records}.
 */
class PostgresIndexUseTest {
    static final int ROWS = 300_000;
    static final long DAY = 86_400_000L;
    static final long NOW = TaskFixture.T0 + 30 * DAY;

    @RegisterExtension
    static final PostgresServer.PerClass postgres = new PostgresServer.PerClass();
    static String url;

    @BeforeAll
    static void fill() throws Exception {
        url = PostgresPlans.filledDatabase(postgres.server(), ROWS, NOW);
    }

    @Test
    void findsTheRowsOfEveryQueryThroughAnIndex() throws Exception {
        int logFrom = postgres.server().log().length();
        long dayAgo = NOW - DAY;
        long monthStart = NOW - 20 * DAY;
        try (Ledger ledger = PostgresLedger.open(url, SqliteLedger.Sync.NORMAL)) {
            // the writer's inserts, with and without a task (the task's retry flag looks for earlier rows)
            ledger.accept(TestRecords.record("new-1", "team-1", "key-1", "model-1", NOW, 10));
            ledger.accept(TaskFixture.call("new-2", "team-1", "key-1", "model-1", "task-new", 0, 5, 1, 1, 1, "stop", NOW));
            assertTrue(ledger.flush(Duration.ofSeconds(10)));
            // budgets restored at start-up
            ledger.teamSpentNanos("team-3", monthStart);
            ledger.keySpentNanos("key-3", monthStart);
            // cluster mode: a dead instance's spend in a team's and a key's window, reconciled with Redis
            ledger.instanceSpentNanos("gw-1", "team-3", null, monthStart, NOW);
            ledger.instanceSpentNanos("gw-1", "team-3", "key-3", monthStart, NOW);
            // GET /api/v1/requests/{id}
            ledger.find("fill-123");
            ledger.tasks().retry("fill-123");
            // GET /api/v1/usage, each grouping, all teams and one
            for (GroupBy groupBy : GroupBy.values()) {
                ledger.usage(groupBy, dayAgo, NOW, null);
                ledger.usage(groupBy, dayAgo, NOW, "team-3");
            }
            // GET /api/v1/latency
            ledger.timings("team-3", dayAgo, NOW, timing -> { });
            // GET /api/v1/tasks/{id}, /tasks, /efficiency; the drift detector; the price drift buckets
            ledger.tasks().task("team-0", "task-" + (ROWS - 100) / 30);
            ledger.tasks().teamsOf("task-" + (ROWS - 100) / 30);
            ledger.tasks().taskRows(dayAgo, NOW, null);
            ledger.tasks().taskRows(dayAgo, NOW, "team-0");
            ledger.tasks().efficiency(GroupBy.MODEL, dayAgo, NOW, null, NOW - 3_600_000);
            ledger.tasks().efficiency(GroupBy.TEAM, dayAgo, NOW, "team-0", NOW - 3_600_000);
            ledger.tasks().driftBuckets(dayAgo, NOW);
            ledger.tasks().priceBuckets(dayAgo, NOW);
            // the efficiency routes rebuilding their state at start-up
            ledger.tasks().routeEvidence(dayAgo, 10_000);
            // the billing audit's token inflation check
            ledger.audit().teamInput("model-1", dayAgo, NOW);
            // tokenwise reprice
            ledger.adjustmentsByRecord(dayAgo, NOW);
            ledger.forEachRecord(NOW - 3_600_000, NOW, r -> { });
            // storage.retention_days
            ledger.deleteBefore(NOW - 29 * DAY, 1_000);
        }
        PostgresPlans.assertNoSequentialScanOfRecords(postgres.server().log().substring(logFrom), 25);
    }
}
