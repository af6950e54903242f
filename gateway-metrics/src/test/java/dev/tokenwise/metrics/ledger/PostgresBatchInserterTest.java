package dev.tokenwise.metrics.ledger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.testing.PostgresServer;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The PostgreSQL writer's batches ({@code COPY} for calls without a task) against a real server: a batch retried after
 * a commit whose outcome was lost, and rows the table already holds, are written exactly once. The network fault is
 * simulated by a wrapper around the writer's connection whose {@code commit} reaches the server and then reports the
 * connection lost; the database is the real one.
 */
class PostgresBatchInserterTest {
    @RegisterExtension
    static final PostgresServer.PerClass postgres = new PostgresServer.PerClass();

    @Test
    void writesABatchRetriedAfterACommitReportedFailedThatLandedExactlyOnceWithoutTrippingOverItsOwnRows()
            throws Exception {
        String url = postgres.server().createDatabase();
        PostgresLedger.open(url, SqliteLedger.Sync.NORMAL).close(); // the schema
        AtomicBoolean loseNextCommit = new AtomicBoolean(true);
        List<UsageRecord> batch = batch("lost", 300);
        batch.add(TaskFixture.call("lost-task", "team-1", "key-1", "m", "task-1", 0, 5, 1, 1, 1, "stop", TaskFixture.T0));
        try (PostgresConnections connections = new PostgresConnections(url)) {
            PostgresBatchInserter inserter = new PostgresBatchInserter(connections,
                    c -> commitLandsThenFails(c, loseNextCommit));
            SQLException lost = assertThrows(SQLException.class, () -> inserter.insert(batch, r -> { }));
            assertEquals("08006", lost.getSQLState());
            assertEquals(301, count(connections, "lost"), "the commit landed although it was reported failed");
            inserter.discard();
            int logFrom = postgres.server().log().length();

            inserter.insert(batch, r -> { }); // the writer's retry of the same batch

            assertEquals(301, count(connections, "lost"));
            assertFalse(postgres.server().log().substring(logFrom).contains("duplicate key"),
                    "the retry asked which rows were stored rather than failing on them: "
                            + postgres.server().log().substring(logFrom));
            inserter.insert(batch("after", 10), r -> { });
            assertEquals(10, count(connections, "after"));
            inserter.discard();
        }
    }

    @Test
    void keepsRowsTheTableAlreadyHoldsAndTheFirstOfTwoWithOneIdAndWritesTheRestOfTheBatch() throws Exception {
        String url = postgres.server().createDatabase();
        PostgresLedger.open(url, SqliteLedger.Sync.NORMAL).close();
        try (PostgresConnections connections = new PostgresConnections(url)) {
            PostgresBatchInserter inserter = new PostgresBatchInserter(connections, c -> c);
            inserter.insert(List.of(TestRecords.record("kept-5", "team-1", "key-1", "m", TaskFixture.T0, 7)), r -> { });
            List<UsageRecord> batch = batch("kept", 20);
            batch.add(TestRecords.record("kept-19", "team-1", "key-1", "m", TaskFixture.T0, 99)); // the same id twice

            inserter.insert(batch, r -> { });

            Map<String, Long> costs = costs(connections, "kept");
            assertEquals(20, costs.size());
            assertEquals(7, costs.get("kept-5"), "the stored row is kept");
            assertEquals(1_234, costs.get("kept-19"), "the first of two records with one id is written");
            assertEquals(1_234, costs.get("kept-0"));
            inserter.discard();
        }
    }

    @Test
    void writesNamesWithTabsNewlinesAndBackslashesAsTheyAre() throws Exception {
        String url = postgres.server().createDatabase();
        PostgresLedger.open(url, SqliteLedger.Sync.NORMAL).close();
        String team = "a\tb\\N\nc\r\\d é";
        try (PostgresConnections connections = new PostgresConnections(url)) {
            PostgresBatchInserter inserter = new PostgresBatchInserter(connections, c -> c);
            inserter.insert(List.of(TestRecords.record("odd-1", team, null, "m\\", TaskFixture.T0, 1)), r -> { });
            inserter.discard();
        }
        try (PostgresLedger ledger = PostgresLedger.open(url, SqliteLedger.Sync.NORMAL)) {
            UsageRecord stored = ledger.find("odd-1").orElseThrow();
            assertEquals(team, stored.team());
            assertEquals(null, stored.keyId());
            assertEquals("m\\", stored.model());
        }
    }

    private static List<UsageRecord> batch(String prefix, int rows) {
        List<UsageRecord> records = new ArrayList<>();
        for (int i = 0; i < rows; i++) {
            records.add(TestRecords.record(prefix + "-" + i, "team-" + i % 3, "key-" + i % 5, "m", TaskFixture.T0 + i,
                    1_234));
        }
        return records;
    }

    private static long count(PostgresConnections connections, String prefix) {
        return connections.read("count", c -> {
            try (var ps = c.prepareStatement("SELECT count(*) FROM usage_records WHERE id LIKE ?")) {
                ps.setString(1, prefix + "-%");
                try (var rs = ps.executeQuery()) {
                    rs.next();
                    return rs.getLong(1);
                }
            }
        });
    }

    private static Map<String, Long> costs(PostgresConnections connections, String prefix) {
        return connections.read("costs", c -> {
            try (var ps = c.prepareStatement("SELECT id, cost_nanos FROM usage_records WHERE id LIKE ?")) {
                ps.setString(1, prefix + "-%");
                Map<String, Long> costs = new TreeMap<>();
                try (var rs = ps.executeQuery()) {
                    while (rs.next()) {
                        costs.put(rs.getString(1), rs.getLong(2));
                    }
                }
                return costs;
            }
        });
    }

    /** {@code c}, whose next commit (once, while {@code armed}) is made and then reported as the connection lost. */
    private static Connection commitLandsThenFails(Connection c, AtomicBoolean armed) {
        return (Connection) Proxy.newProxyInstance(Connection.class.getClassLoader(), new Class<?>[] {Connection.class},
                (proxy, method, args) -> {
                    try {
                        Object result = method.invoke(c, args);
                        if (method.getName().equals("commit") && armed.compareAndSet(true, false)) {
                            throw new SQLException("An I/O error occurred while sending to the backend.", "08006");
                        }
                        return result;
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }
}
