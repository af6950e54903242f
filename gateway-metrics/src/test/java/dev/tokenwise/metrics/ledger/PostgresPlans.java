package dev.tokenwise.metrics.ledger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenwise.core.testing.PostgresServer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/** A PostgreSQL ledger full of rows with every statement's plan logged, and the check of those plans. */
public final class PostgresPlans {
    static final long DAY = 86_400_000L;
    private static final Pattern SEQ_SCAN = Pattern.compile("Seq Scan on usage_records\\b");

    private PostgresPlans() {
    }

    /**
     * A new database with the ledger's schema and {@code rows} records over the 30 days before {@code nowMillis} (50
     * teams, 200 keys, 5 models, one call in ten part of a three-call task, outcomes for the last day's tasks),
     * analysed, in which {@code auto_explain} logs the plan of every statement of every later session.
     *
     * @return its JDBC URL
     */
    public static String filledDatabase(PostgresServer server, int rows, long nowMillis) throws Exception {
        String url = server.createDatabase();
        PostgresLedger.open(url, SqliteLedger.Sync.NORMAL).close(); // the schema
        String database = url.substring(url.lastIndexOf('/') + 1, url.indexOf('?'));
        try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement()) {
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO usage_records (id, created_at, team, key_id, "
                    + "model, provider, endpoint, stream, status, http_status, input_tokens, cached_input_tokens, "
                    + "cache_write_tokens, output_tokens, reasoning_tokens, usage_from_provider, local_input_tokens, "
                    + "local_output_tokens, local_estimated, cost_nanos, task_id, finish_reason, latency_micros, "
                    + "upstream_latency_micros, ttft_micros, prompt_hash, attempts, flags, cache) "
                    + "SELECT 'fill-' || g, ? - (g::bigint * 30 * " + DAY + " / " + rows + "), 'team-' || (g % 50), "
                    + "'key-' || (g % 200), 'model-' || (g % 5), 'sim', '/v1/chat/completions', 0, "
                    + "CASE WHEN g % 20 = 0 THEN 'upstream_error' ELSE 'ok' END, 200, 100, 0, 0, 50, 0, 1, 100, 50, 0, "
                    + "1000 + g % 100, CASE WHEN g % 10 = 0 THEN 'task-' || (g / 30) END, 'stop', 1000, 900, 100, g % 7, "
                    + "1, 0, CASE WHEN g % 3 = 0 THEN 'hit' END FROM generate_series(1, " + rows + ") g")) {
                ps.setLong(1, nowMillis);
                assertEquals(rows, ps.executeUpdate());
            }
            s.execute("INSERT INTO task_outcomes (team, task_id, success, at) SELECT DISTINCT team, task_id, 1, " + nowMillis
                    + " FROM usage_records WHERE task_id IS NOT NULL AND created_at > " + (nowMillis - DAY));
            s.execute("ANALYZE");
            // Every statement of a new session in this database has its plan logged.
            s.execute("ALTER DATABASE " + database + " SET session_preload_libraries = 'auto_explain'");
            s.execute("ALTER DATABASE " + database + " SET auto_explain.log_min_duration = 0");
            s.execute("ALTER DATABASE " + database + " SET auto_explain.log_nested_statements = on");
        }
        return url;
    }

    /**
     * Fails unless {@code log} (the server's log since a moment) holds at least {@code atLeast} plans touching
     * {@code usage_records}, none of them a sequential scan of it.
     */
    public static void assertNoSequentialScanOfRecords(String log, int atLeast) {
        List<String> plans = new ArrayList<>();
        for (String entry : log.split("\\n(?=\\S)")) {
            if (entry.contains("LOG:  duration:") && entry.contains("usage_records")) {
                plans.add(entry);
            }
        }
        assertTrue(plans.size() >= atLeast, "auto_explain logged the ledger's statements: " + plans.size() + "\n" + log);
        List<String> seqScans = plans.stream().filter(plan -> SEQ_SCAN.matcher(plan).find()).toList();
        assertTrue(seqScans.isEmpty(), seqScans.size() + " statements read the whole of usage_records:\n"
                + String.join("\n----\n", seqScans));
    }
}
