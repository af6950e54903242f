package dev.tokenwise.metrics.ledger;

import java.sql.Connection;
import java.sql.SQLException;

/**
 * Where a ledger's connections come from: the SQLite file ({@link LedgerConnections}) or a PostgreSQL pool
 * ({@link PostgresConnections}). The queries that read the ledger are the same SQL on both; {@link #dialect} says
 * what differs.
 */
interface LedgerDatabase {
    /** Work on a borrowed connection. */
    interface SqlWork<T> {
        T apply(Connection connection) throws SQLException;
    }

    /** Runs {@code work} on a read connection, on the caller's thread; a failure becomes an {@link IllegalStateException}. */
    <T> T read(String what, SqlWork<T> work);

    /** A connection of the caller's own, in auto-commit mode; the caller closes it. */
    Connection open() throws SQLException;

    /** The ledger as log lines and errors name it (a file, or a URL without its password). */
    String name();

    Dialect dialect();

    /** What runs inside {@link #transaction}. */
    interface SqlStep {
        void run() throws SQLException;
    }

    /**
     * Runs {@code step} in one transaction on {@code connection} (in auto-commit mode): committed when it returns,
     * rolled back when it throws.
     */
    void transaction(Connection connection, SqlStep step) throws SQLException;

    /** The few places where the SQL of the two stores differs. */
    enum Dialect {
        SQLITE("strftime('%Y-%m-%d', created_at / 1000, 'unixepoch')", "usage_rows", "rowid"),
        // No index on rowid in PostgreSQL (V5__cheaper_rows.sql): its rows are found by their primary key.
        POSTGRESQL("to_char(to_timestamp(created_at / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD')", "usage_records", "id");

        private final String dayOfCreatedAt;
        private final String recordsTable;
        private final String recordsKey;

        Dialect(String dayOfCreatedAt, String recordsTable, String recordsKey) {
            this.dayOfCreatedAt = dayOfCreatedAt;
            this.recordsTable = recordsTable;
            this.recordsKey = recordsKey;
        }

        /** The UTC day ({@code YYYY-MM-DD}) of a row's {@code created_at}. */
        String dayOfCreatedAt() {
            return dayOfCreatedAt;
        }

        /** The table the records are stored in (in SQLite, {@code usage_records} is a view of {@code usage_rows}). */
        String recordsTable() {
            return recordsTable;
        }

        /** The indexed column that finds one row of {@link #recordsTable} (deletes of old rows go by it). */
        String recordsKey() {
            return recordsKey;
        }
    }
}
