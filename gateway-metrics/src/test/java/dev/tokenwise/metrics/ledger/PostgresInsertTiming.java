package dev.tokenwise.metrics.ledger;

import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.testing.PostgresServer;
import java.io.StringReader;
import java.sql.Connection;
import java.sql.DriverManager;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyManager;

/**
 * A measurement run by hand, not a check: how fast the PostgreSQL writer's way of inserting a batch (pgjdbc's
 * {@code reWriteBatchedInserts}, {@link PostgresBatchInserter}) is against {@code COPY ... FROM STDIN}, for batches of
 * the writer's size. Prints rows per second; asserts nothing about speed.
 *
 * <pre>
 * ./mvnw -o -pl gateway-metrics surefire:test -Dtest=PostgresInsertTiming -Dtokenwise.timing=true
 * </pre>
 */
@EnabledIfSystemProperty(named = "tokenwise.timing", matches = "true")
class PostgresInsertTiming {
    static final int BATCH = 500;
    static final int BATCHES = 200;

    @Test
    void comparesBatchedInsertsWithCopy() throws Exception {
        try (PostgresServer server = PostgresServer.start()) {
            for (int round = 0; round < Integer.getInteger("tokenwise.timing.rounds", 3); round++) {
                System.out.printf(Locale.ROOT, "round %d: batched INSERT %,.0f rows/s, COPY %,.0f rows/s, "
                        + "COPY to a staging table then INSERT ... ON CONFLICT %,.0f rows/s%n", round,
                        batchedInserts(server.createDatabase()), copy(server.createDatabase(), false),
                        copy(server.createDatabase(), true));
            }
        }
    }

    private static List<UsageRecord> batch(int b) {
        List<UsageRecord> records = new ArrayList<>(BATCH);
        for (int i = 0; i < BATCH; i++) {
            records.add(TestRecords.record("r-" + b + "-" + i, "team-" + i % 7, "key-" + i % 31, "sim-small",
                    1_000_000L + b * BATCH + i, 1_234));
        }
        return records;
    }

    private static double batchedInserts(String url) throws Exception {
        PostgresLedger.open(url, SqliteLedger.Sync.NORMAL).close();
        try (PostgresConnections connections = new PostgresConnections(url)) {
            PostgresBatchInserter inserter = new PostgresBatchInserter(connections);
            long start = System.nanoTime();
            for (int b = 0; b < BATCHES; b++) {
                inserter.insert(batch(b), r -> { });
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            inserter.discard();
            connections.read("size", c -> {
                try (var s = c.createStatement(); var rs = s.executeQuery("SELECT pg_relation_size('usage_records'), "
                        + "pg_total_relation_size('usage_records'), count(*) FROM usage_records")) {
                    rs.next();
                    System.out.printf(Locale.ROOT, "usage_records: %d rows, %.0f bytes a row in the table, %.0f with its "
                            + "indexes%n", rs.getLong(3), rs.getDouble(1) / rs.getLong(3), rs.getDouble(2) / rs.getLong(3));
                }
                return null;
            });
            return BATCH * BATCHES / seconds;
        }
    }

    /** @param staged COPY into a temporary table, then one INSERT ... SELECT ... ON CONFLICT DO NOTHING per batch */
    private static double copy(String url, boolean staged) throws Exception {
        PostgresLedger.open(url, SqliteLedger.Sync.NORMAL).close();
        try (Connection c = DriverManager.getConnection(url)) {
            c.setAutoCommit(false);
            CopyManager copy = c.unwrap(PGConnection.class).getCopyAPI();
            if (staged) {
                try (var s = c.createStatement()) {
                    s.execute("CREATE TEMPORARY TABLE staged (LIKE usage_records INCLUDING DEFAULTS) ON COMMIT DELETE ROWS");
                }
                c.commit();
            }
            long start = System.nanoTime();
            for (int b = 0; b < BATCHES; b++) {
                StringBuilder text = new StringBuilder(BATCH * 200);
                for (UsageRecord r : batch(b)) {
                    text.append(r.id()).append('\t').append(r.createdAtMillis()).append('\t').append(r.team()).append('\t')
                            .append(r.keyId()).append('\t').append(r.model()).append('\t').append(r.provider())
                            .append("\t/v1/chat/completions\t0\tok\t200\t").append(r.usage().inputTokens()).append('\t')
                            .append(r.usage().cachedInputTokens()).append("\t0\t").append(r.usage().outputTokens())
                            .append('\t').append(r.usage().reasoningTokens()).append("\t1\t100\t50\t0\t")
                            .append(r.costNanos()).append("\t\\N\t\\N\tstop\t12345\t11000\t0\t0\t\\N\t1\t0\t0\t\\N\t\\N\t0\t0\t\\N\t\\N\t0\n");
                }
                copy.copyIn("COPY " + (staged ? "staged" : "usage_records") + " (" + PostgresBatchInserter.COLUMNS
                        + ") FROM STDIN", new StringReader(text.toString()));
                if (staged) {
                    try (var s = c.createStatement()) {
                        s.execute("INSERT INTO usage_records (" + PostgresBatchInserter.COLUMNS + ") SELECT "
                                + PostgresBatchInserter.COLUMNS + " FROM staged ORDER BY rowid ON CONFLICT (id) DO NOTHING");
                    }
                }
                c.commit();
            }
            return BATCH * BATCHES / ((System.nanoTime() - start) / 1e9);
        }
    }
}
