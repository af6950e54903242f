package dev.tokenwise.metrics.ledger;

import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.testing.PostgresServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;
import org.postgresql.copy.CopyManager;

/**
 * A measurement run by hand, not a check: where a row's cost on the PostgreSQL server goes. Each variant writes the
 * same rows into a fresh database at the latest schema, in batches with one commit each, and reports the CPU of the
 * connection's backend per row ({@code /proc}), the CPU of the whole server per row (the postmaster and every process
 * it started, those that ended meanwhile included: the checkpointer, the WAL writer, autovacuum...), and rows a second
 * of the one connection. The variants: the writer's text {@code COPY}; binary {@code COPY}; the schema without one
 * index at a time (which part of a row each index costs); without the {@code txid} default; the {@code rowid}
 * sequence with a cache; smaller and larger batches (a commit's fixed share); wider rows; and pgjdbc's rewritten multi-row
 * {@code INSERT ... ON CONFLICT DO NOTHING} (the writer's way until 2026-12-08). Asserts nothing about speed.
 *
 * <pre>
 * ./mvnw -o -pl gateway-metrics test-compile surefire:test -Dtest=PostgresInsertTiming -Dtokenwise.timing=true \
 *     [-Dtokenwise.timing.rounds=2] [-Dtokenwise.timing.batches=200] [-Dtokenwise.timing.only=text,binary]
 * </pre>
 */
@EnabledIfSystemProperty(named = "tokenwise.timing", matches = "true")
class PostgresInsertTiming {
    static final int BATCH = 300;

    /** How a variant writes a batch. */
    enum Way { TEXT_COPY, BINARY_COPY, INSERT }

    /**
     * A variant: how it writes, the SQL run on the fresh schema first, the batch size, and bytes of
     * {@code instance_id} (a column no index holds) added to each row, for what a row's width costs.
     */
    record Variant(Way way, String setup, int batch, int widerBy) {
        Variant(Way way, String setup, int batch) {
            this(way, setup, batch, 0);
        }
    }

    static Map<String, Variant> variants() {
        Map<String, Variant> v = new LinkedHashMap<>();
        v.put("text", new Variant(Way.TEXT_COPY, "", BATCH));
        v.put("binary", new Variant(Way.BINARY_COPY, "", BATCH));
        v.put("insert", new Variant(Way.INSERT, "", BATCH));
        v.put("-created_at", new Variant(Way.TEXT_COPY, "DROP INDEX usage_records_created_at", BATCH));
        v.put("-team_created_at", new Variant(Way.TEXT_COPY, "DROP INDEX usage_records_team_created_at", BATCH));
        v.put("-key_created_at", new Variant(Way.TEXT_COPY, "DROP INDEX usage_records_key_created_at", BATCH));
        v.put("-txid_index", new Variant(Way.TEXT_COPY, "DROP INDEX usage_records_txid", BATCH));
        v.put("-primary_key", new Variant(Way.TEXT_COPY,
                "ALTER TABLE usage_records DROP CONSTRAINT usage_records_pkey", BATCH));
        v.put("pk_only", new Variant(Way.TEXT_COPY, "DROP INDEX usage_records_created_at; "
                + "DROP INDEX usage_records_team_created_at; DROP INDEX usage_records_key_created_at; "
                + "DROP INDEX usage_records_txid; DROP INDEX usage_records_task_prompt; DROP INDEX usage_records_route",
                BATCH));
        v.put("-txid_default", new Variant(Way.TEXT_COPY,
                "ALTER TABLE usage_records ALTER COLUMN txid DROP DEFAULT, ALTER COLUMN txid DROP NOT NULL", BATCH));
        v.put("rowid_cache", new Variant(Way.TEXT_COPY, "ALTER SEQUENCE usage_records_rowid_seq CACHE 1000", BATCH));
        v.put("batch50", new Variant(Way.TEXT_COPY, "", 50));
        v.put("batch500", new Variant(Way.TEXT_COPY, "", 500));
        v.put("wider_by_120", new Variant(Way.TEXT_COPY, "", BATCH, 120));
        return v;
    }

    @Test
    void measuresWhereARowsServerCostGoes() throws Exception {
        int rounds = Integer.getInteger("tokenwise.timing.rounds", 2);
        int rows = Integer.getInteger("tokenwise.timing.batches", 200) * BATCH;
        String only = System.getProperty("tokenwise.timing.only", "");
        try (PostgresServer server = PostgresServer.start()) {
            Map<String, double[]> best = new LinkedHashMap<>();
            for (int round = 0; round < rounds; round++) {
                List<Map.Entry<String, Variant>> order = new ArrayList<>(variants().entrySet());
                if (round % 2 == 1) {
                    java.util.Collections.reverse(order); // a drift of the shared box's load favours no variant
                }
                for (Map.Entry<String, Variant> e : order) {
                    if (!only.isEmpty() && !List.of(only.split(",")).contains(e.getKey())) {
                        continue;
                    }
                    double[] m = measure(server.createDatabase(), e.getValue(), rows);
                    best.merge(e.getKey(), m, (a, b) -> a[1] <= b[1] ? a : b);
                    System.out.printf(Locale.ROOT, "round %d %-17s backend %5.2f µs/row (%4.2f in the kernel), "
                                    + "server %5.2f µs/row, %,7.0f rows/s, %4.0f B/row%n",
                            round, e.getKey(), m[0], m[4], m[1], m[2], m[3]);
                }
            }
            best.forEach((name, m) -> System.out.printf(Locale.ROOT, "best %-17s backend %5.2f µs/row, server %5.2f "
                    + "µs/row, %,7.0f rows/s, %4.0f B/row%n", name, m[0], m[1], m[2], m[3]));
        }
    }

    private static List<UsageRecord> batch(int b, Variant variant) {
        int size = variant.batch();
        String instance = variant.widerBy() == 0 ? null : "i".repeat(variant.widerBy());
        List<UsageRecord> records = new ArrayList<>(size);
        for (int i = 0; i < size; i++) {
            long n = (long) b * size + i;
            long at = 1_700_000_000_000L + n / 60;
            records.add(TestRecords.record(String.format(Locale.ROOT, "req_%012x%012x", at, n * 7919L),
                    "team-" + n % 7, "key-" + n % 31, "sim-small", at, 1_234).toBuilder().instance(instance).build());
        }
        return records;
    }

    /**
     * @return backend CPU µs per row, whole server CPU µs per row, rows per second, table bytes per row, the backend's
     *     system (kernel) CPU µs per row
     */
    private static double[] measure(String url, Variant variant, int rows) throws Exception {
        PostgresLedger.open(url, SqliteLedger.Sync.NORMAL).close(); // the schema
        Properties rewrite = new Properties();
        rewrite.setProperty("reWriteBatchedInserts", "true");
        try (Connection c = DriverManager.getConnection(url, rewrite)) {
            try (Statement s = c.createStatement()) {
                if (!variant.setup().isEmpty()) {
                    s.execute(variant.setup());
                }
            }
            c.setAutoCommit(false);
            long backend;
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT pg_backend_pid()")) {
                rs.next();
                backend = rs.getLong(1);
            }
            long postmaster = parent(backend);
            write(c, variant, batch(-1, variant)); // warms the connection and the caches
            try (Statement s = c.createStatement()) {
                s.execute("CHECKPOINT"); // no dirty buffers of an earlier variant for this one to write out
            }
            c.commit();
            Thread.sleep(300); // the schema's connections have ended and been counted
            int batches = rows / variant.batch();
            long backendBefore = cpu(backend, false);
            long systemBefore = systemCpu(backend);
            long serverBefore = tree(postmaster);
            long sizeBefore = size(c);
            long start = System.nanoTime();
            for (int b = 0; b < batches; b++) {
                write(c, variant, batch(b, variant));
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            double written = (double) batches * variant.batch();
            long backendUsed = cpu(backend, false) - backendBefore;
            long systemUsed = systemCpu(backend) - systemBefore;
            long serverUsed = tree(postmaster) - serverBefore;
            double[] result = {backendUsed / 1e3 / written, serverUsed / 1e3 / written, written / seconds,
                    (size(c) - sizeBefore) / written, systemUsed / 1e3 / written};
            try (Statement s = c.createStatement()) {
                s.execute("DROP TABLE usage_records"); // its buffers go with it
            }
            c.commit();
            return result;
        }
    }

    private static void write(Connection c, Variant variant, List<UsageRecord> records) throws Exception {
        switch (variant.way()) {
            case TEXT_COPY -> {
                PostgresCopyText text = new PostgresCopyText();
                for (UsageRecord r : records) {
                    text.add(r, UsageRecordRows.retriedByAttempt(r));
                }
                copy(c, PostgresBatchInserter.COPY, text.bytes());
            }
            case BINARY_COPY -> {
                PostgresCopyBinary binary = new PostgresCopyBinary();
                for (UsageRecord r : records) {
                    binary.add(r, UsageRecordRows.retriedByAttempt(r));
                }
                copy(c, PostgresBatchInserter.COPY + " (FORMAT binary)", binary.bytes());
            }
            case INSERT -> {
                String sql = "INSERT INTO usage_records (" + PostgresBatchInserter.COLUMNS + ") VALUES ("
                        + "?, ".repeat(UsageRecordRows.COLUMN_COUNT) + "?) ON CONFLICT (id) DO NOTHING";
                try (PreparedStatement ps = c.prepareStatement(sql)) {
                    for (UsageRecord r : records) {
                        ps.setInt(UsageRecordRows.bindColumns(ps, 1, r, PreparedStatement::setString), 0);
                        ps.addBatch();
                    }
                    ps.executeBatch();
                }
            }
        }
        c.commit();
    }

    private static void copy(Connection c, String sql, byte[] bytes) throws Exception {
        CopyManager copy = c.unwrap(PGConnection.class).getCopyAPI();
        CopyIn in = copy.copyIn(sql);
        try {
            in.writeToCopy(bytes, 0, bytes.length);
            in.endCopy();
        } finally {
            if (in.isActive()) {
                in.cancelCopy();
            }
        }
    }

    private static long size(Connection c) throws Exception {
        try (Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT pg_total_relation_size('usage_records')")) {
            rs.next();
            long size = rs.getLong(1);
            c.commit();
            return size;
        }
    }

    private static String[] stat(long pid) throws Exception {
        String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        return stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    }

    private static long parent(long pid) throws Exception {
        return Long.parseLong(stat(pid)[1]);
    }

    /**
     * User plus system time of {@code pid} in nanoseconds ({@code /proc/PID/stat}, in ticks of 10 ms), with
     * {@code children} also that of its children that ended (and were waited for).
     */
    private static long cpu(long pid, boolean children) {
        try {
            String[] f = stat(pid);
            long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]);
            if (children) {
                ticks += Long.parseLong(f[13]) + Long.parseLong(f[14]);
            }
            return ticks * 10_000_000L;
        } catch (Exception gone) {
            return 0; // a process that ended meanwhile
        }
    }

    /** System (kernel) time of {@code pid} in nanoseconds. */
    private static long systemCpu(long pid) {
        try {
            return Long.parseLong(stat(pid)[12]) * 10_000_000L;
        } catch (Exception gone) {
            return 0;
        }
    }

    /** The CPU of {@code postmaster}, of the children it runs and of those that ended. */
    private static long tree(long postmaster) {
        long total = cpu(postmaster, true);
        for (ProcessHandle child : ProcessHandle.of(postmaster).map(p -> p.children().toList()).orElse(List.of())) {
            total += cpu(child.pid(), false);
        }
        return total;
    }
}
