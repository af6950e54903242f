package dev.tokenwise.metrics.ledger;

import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.testing.PostgresServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * A measurement run by hand, not a check: what a row costs the PostgreSQL server (CPU of its processes, from
 * {@code /proc}, per row) and how many rows a second one connection writes, in batches of the writer's size with one
 * commit each, for the writer's way ({@link PostgresBatchInserter}: {@code COPY}) against the multi-row
 * {@code INSERT ... ON CONFLICT DO NOTHING} that pgjdbc's {@code reWriteBatchedInserts} makes of a batch (the writer's
 * way until 2026-12-08). Asserts nothing about speed.
 *
 * <pre>
 * ./mvnw -o -pl gateway-metrics test-compile surefire:test -Dtest=PostgresInsertTiming -Dtokenwise.timing=true
 * </pre>
 */
@EnabledIfSystemProperty(named = "tokenwise.timing", matches = "true")
class PostgresInsertTiming {
    static final int BATCH = 300;
    static final int BATCHES = 400;

    @Test
    void comparesTheWritersCopyWithBatchedInserts() throws Exception {
        try (PostgresServer server = PostgresServer.start()) {
            for (int round = 0; round < Integer.getInteger("tokenwise.timing.rounds", 3); round++) {
                double[] copy = measure(server.createDatabase(), false);
                double[] insert = measure(server.createDatabase(), true);
                System.out.printf(Locale.ROOT, "round %d: COPY (the writer) %.1f µs of server CPU a row, %,.0f rows/s; "
                        + "batched INSERT %.1f µs a row, %,.0f rows/s%n", round, copy[0], copy[1], insert[0], insert[1]);
            }
        }
    }

    private static List<UsageRecord> batch(int b) {
        List<UsageRecord> records = new ArrayList<>(BATCH);
        for (int i = 0; i < BATCH; i++) {
            long at = 1_700_000_000_000L + b * 5L + i / 100;
            records.add(TestRecords.record(String.format(Locale.ROOT, "req_%012x%012x", at, (b * BATCH + i) * 7919L),
                    "team-" + i % 7, "key-" + i % 31, "sim-small", at, 1_234));
        }
        return records;
    }

    /** @return server CPU µs per row, rows per second */
    private static double[] measure(String url, boolean batchedInsert) throws Exception {
        PostgresLedger.open(url, SqliteLedger.Sync.NORMAL).close(); // the schema
        Properties rewrite = new Properties();
        rewrite.setProperty("reWriteBatchedInserts", "true");
        try (PostgresConnections connections = new PostgresConnections(url);
             Connection insert = DriverManager.getConnection(url, rewrite);
             Connection probe = DriverManager.getConnection(url)) {
            PostgresBatchInserter inserter = new PostgresBatchInserter(connections);
            inserter.insert(batch(-1), r -> { }); // opens the writer's connection
            insert.setAutoCommit(false);
            List<Long> pids = new ArrayList<>();
            try (var s = probe.createStatement(); var rs = s.executeQuery("SELECT pid FROM pg_stat_activity")) {
                while (rs.next()) {
                    pids.add(rs.getLong(1));
                }
            }
            String sql = "INSERT INTO usage_records (" + PostgresBatchInserter.COLUMNS + ") VALUES ("
                    + "?, ".repeat(UsageRecordRows.COLUMN_COUNT) + "?) ON CONFLICT (id) DO NOTHING";
            try (PreparedStatement ps = insert.prepareStatement(sql)) {
                long cpuBefore = cpu(pids);
                long start = System.nanoTime();
                for (int b = 0; b < BATCHES; b++) {
                    if (batchedInsert) {
                        for (UsageRecord r : batch(b)) {
                            ps.setInt(UsageRecordRows.bindColumns(ps, 1, r, PreparedStatement::setString), 0);
                            ps.addBatch();
                        }
                        ps.executeBatch();
                        insert.commit();
                    } else {
                        inserter.insert(batch(b), r -> { });
                    }
                }
                double seconds = (System.nanoTime() - start) / 1e9;
                double rows = (double) BATCH * BATCHES;
                inserter.discard();
                return new double[] {(cpu(pids) - cpuBefore) / 1e3 / rows, rows / seconds};
            }
        }
    }

    /** User plus system time of {@code pids}, in nanoseconds ({@code /proc/PID/stat}, in ticks of 10 ms). */
    private static long cpu(List<Long> pids) {
        long total = 0;
        for (long pid : pids) {
            try {
                String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
                String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                total += (Long.parseLong(fields[11]) + Long.parseLong(fields[12])) * 10_000_000L;
            } catch (Exception gone) {
                // a process that ended meanwhile
            }
        }
        return total;
    }
}
