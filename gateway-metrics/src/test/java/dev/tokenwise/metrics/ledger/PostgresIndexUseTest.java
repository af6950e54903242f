package dev.tokenwise.metrics.ledger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenwise.core.testing.PostgresServer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

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
    static final Pattern PLAN_OF_RECORDS = Pattern.compile("usage_records");
    static final Pattern SEQ_SCAN = Pattern.compile("Seq Scan on usage_records\\b[^\\n]*");

    static PostgresServer server;
    static String url;

    @BeforeAll
    static void fill() throws Exception {
        server = PostgresServer.start();
        url = server.createDatabase();
        PostgresLedger.open(url, SqliteLedger.Sync.NORMAL).close(); // the schema
        String database = url.substring(url.lastIndexOf('/') + 1, url.indexOf('?'));
        try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement()) {
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO usage_records (id, created_at, team, key_id, "
                    + "model, provider, endpoint, stream, status, http_status, input_tokens, cached_input_tokens, "
                    + "cache_write_tokens, output_tokens, reasoning_tokens, usage_from_provider, local_input_tokens, "
                    + "local_output_tokens, local_estimated, cost_nanos, task_id, finish_reason, latency_micros, "
                    + "upstream_latency_micros, ttft_micros, prompt_hash, attempts, flags, cache) "
                    + "SELECT 'fill-' || g, ? - (g::bigint * 30 * " + DAY + " / " + ROWS + "), 'team-' || (g % 50), "
                    + "'key-' || (g % 200), 'model-' || (g % 5), 'sim', '/v1/chat/completions', 0, "
                    + "CASE WHEN g % 20 = 0 THEN 'upstream_error' ELSE 'ok' END, 200, 100, 0, 0, 50, 0, 1, 100, 50, 0, "
                    + "1000 + g % 100, CASE WHEN g % 10 = 0 THEN 'task-' || (g / 30) END, 'stop', 1000, 900, 100, g % 7, "
                    + "1, 0, CASE WHEN g % 3 = 0 THEN 'hit' END FROM generate_series(1, " + ROWS + ") g")) {
                ps.setLong(1, NOW);
                assertEquals(ROWS, ps.executeUpdate());
            }
            s.execute("INSERT INTO task_outcomes (team, task_id, success, at) SELECT DISTINCT team, task_id, 1, " + NOW
                    + " FROM usage_records WHERE task_id IS NOT NULL AND created_at > " + (NOW - DAY));
            s.execute("ANALYZE");
            // Every statement of a new session in this database has its plan logged.
            s.execute("ALTER DATABASE " + database + " SET session_preload_libraries = 'auto_explain'");
            s.execute("ALTER DATABASE " + database + " SET auto_explain.log_min_duration = 0");
            s.execute("ALTER DATABASE " + database + " SET auto_explain.log_nested_statements = on");
        }
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    @Test
    void findsTheRowsOfEveryQueryThroughAnIndex() throws Exception {
        int logFrom = server.log().length();
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
            // the billing audit's token inflation check
            ledger.audit().teamInput("model-1", dayAgo, NOW);
            // tokenwise reprice
            ledger.adjustmentsByRecord(dayAgo, NOW);
            ledger.forEachRecord(NOW - 3_600_000, NOW, r -> { });
            // storage.retention_days
            ledger.deleteBefore(NOW - 29 * DAY, 1_000);
        }
        String log = server.log().substring(logFrom);
        List<String> plans = new ArrayList<>();
        for (String entry : log.split("\\n(?=\\S)")) {
            if (entry.contains("LOG:  duration:") && PLAN_OF_RECORDS.matcher(entry).find()) {
                plans.add(entry);
            }
        }
        assertTrue(plans.size() >= 25, "auto_explain logged the ledger's statements: " + plans.size() + "\n" + log);
        List<String> seqScans = new ArrayList<>();
        for (String plan : plans) {
            Matcher m = SEQ_SCAN.matcher(plan);
            if (m.find()) {
                seqScans.add(plan);
            }
        }
        assertTrue(seqScans.isEmpty(), seqScans.size() + " statements read the whole of usage_records:\n"
                + String.join("\n----\n", seqScans));
    }
}
