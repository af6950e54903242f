package dev.tokenwise.metrics.ledger;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

/**
 * The ledger's tables, versioned with {@code PRAGMA user_version}. Version 0 (a new file) gets the
 * whole schema in one transaction; a newer version than this code knows is refused, so an old gateway
 * never writes into a file a newer one migrated. Documented column by column in {@code docs/storage.md}.
 */
final class LedgerSchema {
    static final int VERSION = 1;

    private static final List<String> V1 = List.of(
            """
            CREATE TABLE usage_records (
                id                      TEXT NOT NULL PRIMARY KEY,
                created_at              INTEGER NOT NULL,
                team                    TEXT,
                key_id                  TEXT,
                model                   TEXT,
                provider                TEXT,
                endpoint                TEXT,
                stream                  INTEGER NOT NULL,
                status                  TEXT,
                http_status             INTEGER NOT NULL,
                input_tokens            INTEGER NOT NULL,
                cached_input_tokens     INTEGER NOT NULL,
                cache_write_tokens      INTEGER NOT NULL,
                output_tokens           INTEGER NOT NULL,
                reasoning_tokens        INTEGER NOT NULL,
                usage_from_provider     INTEGER NOT NULL,
                local_input_tokens      INTEGER NOT NULL,
                local_output_tokens     INTEGER NOT NULL,
                local_estimated         INTEGER NOT NULL,
                cost_nanos              INTEGER NOT NULL,
                task_id                 TEXT,
                task_attempt            INTEGER,
                finish_reason           TEXT,
                latency_micros          INTEGER NOT NULL,
                upstream_latency_micros INTEGER NOT NULL,
                ttft_micros             INTEGER NOT NULL
            )""",
            "CREATE INDEX usage_records_created_at ON usage_records (created_at)",
            "CREATE INDEX usage_records_team_created_at ON usage_records (team, created_at)",
            "CREATE INDEX usage_records_key_created_at ON usage_records (key_id, created_at)",
            "CREATE INDEX usage_records_task_id ON usage_records (task_id)",
            """
            CREATE TABLE teams (
                name        TEXT NOT NULL PRIMARY KEY,
                limit_nanos INTEGER,
                period      TEXT,
                updated_at  INTEGER NOT NULL
            )""",
            """
            CREATE TABLE api_keys (
                id          TEXT NOT NULL PRIMARY KEY,
                team        TEXT NOT NULL,
                hash_hex    TEXT NOT NULL UNIQUE,
                models      TEXT NOT NULL,
                limit_nanos INTEGER,
                period      TEXT,
                created_at  INTEGER NOT NULL,
                revoked_at  INTEGER
            )""",
            "CREATE INDEX api_keys_team ON api_keys (team)");

    private LedgerSchema() {
    }

    /** Creates the schema in a new file, or checks that an existing file has a version this code reads. */
    static void ensure(Connection connection, Path file) throws SQLException {
        if (check(userVersion(connection), file)) {
            return;
        }
        try (Statement s = connection.createStatement()) {
            // IMMEDIATE takes the write lock at once, so two processes opening a new file do not both create it.
            s.execute("BEGIN IMMEDIATE");
            try {
                if (!check(userVersion(connection), file)) {
                    if (hasTables(connection)) {
                        throw new IllegalStateException("ledger file " + file
                                + " has tables but no schema version: it is not a Tokenwise ledger (choose another storage.path)");
                    }
                    for (String ddl : V1) {
                        s.execute(ddl);
                    }
                    s.execute("PRAGMA user_version = " + VERSION);
                }
                s.execute("COMMIT");
            } catch (SQLException | RuntimeException e) {
                try {
                    s.execute("ROLLBACK");
                } catch (SQLException suppressed) {
                    e.addSuppressed(suppressed);
                }
                throw e;
            }
        }
    }

    /** {@code true} when the file is at the current version; {@code false} when it is new (version 0). */
    private static boolean check(int version, Path file) {
        if (version > VERSION) {
            throw new IllegalStateException("ledger file " + file + " has schema version " + version
                    + ", newer than this gateway reads (" + VERSION
                    + "): run the newer gateway version, or point storage.path to another file");
        }
        if (version < 0) {
            throw new IllegalStateException("ledger file " + file + " has an invalid schema version " + version);
        }
        return version == VERSION;
    }

    static int userVersion(Connection connection) throws SQLException {
        try (Statement s = connection.createStatement(); ResultSet rs = s.executeQuery("PRAGMA user_version")) {
            return rs.next() ? rs.getInt(1) : 0;
        }
    }

    private static boolean hasTables(Connection connection) throws SQLException {
        try (Statement s = connection.createStatement();
             ResultSet rs = s.executeQuery("SELECT count(*) FROM sqlite_master WHERE type = 'table'")) {
            return rs.next() && rs.getInt(1) > 0;
        }
    }
}
