package dev.tokenwise.metrics.ledger;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The ledger's tables, versioned with {@code PRAGMA user_version}. Version 0 (a new file) gets the
 * whole schema in one transaction; an older version is migrated in place, in one transaction, step by
 * step (1 to 2 adds the task columns and {@code task_outcomes}; 2 to 3 drops an index the partial task index
 * makes redundant; 3 to 4 moves the rows to {@code usage_rows}, their repeated texts to {@code names}, and makes
 * {@code usage_records} a view of the two; 4 to 5 adds the record's flags; 5 to 6 adds {@code rate_limits}; 6 to 7 adds
 * the price version and the 1-hour cache writes of each call, and the table of price {@code adjustments}; 7 to 8 adds
 * the billing audit's tables; 8 to 9 adds the response cache's status and savings and the prompt cache's savings; 9 to
 * 10 adds the drift detectors' {@code drift_references}; 10 to 11 adds the efficiency route of each call and the
 * reason of its choice); a new file runs the same steps from version 1. A newer
 * version than
 * this code knows is refused, so an old gateway never writes into a file a newer one migrated. Documented column
 * by column in {@code docs/storage.md} and, for version 2, {@code docs/efficiency.md}.
 */
final class LedgerSchema {
    private static final Logger log = LoggerFactory.getLogger(SqliteLedger.class);

    static final int VERSION = 12;

    /** {@code usage_records} as version 4 defines it: the rows with their texts joined back. */
    private static final String VIEW_V4 = """
            CREATE VIEW usage_records AS SELECT
                r.id, r.created_at, team.value AS team, api_key.value AS key_id, model.value AS model,
                provider.value AS provider, endpoint.value AS endpoint, r.stream, status.value AS status, r.http_status,
                r.input_tokens, r.cached_input_tokens, r.cache_write_tokens, r.output_tokens, r.reasoning_tokens,
                r.usage_from_provider, r.local_input_tokens, r.local_output_tokens, r.local_estimated, r.cost_nanos,
                r.task_id, r.task_attempt, finish_reason.value AS finish_reason, r.latency_micros,
                r.upstream_latency_micros, r.ttft_micros, r.prompt_hash, r.retry, requested_model.value AS requested_model,
                r.attempts, r.rowid AS rowid
            FROM usage_rows r
                LEFT JOIN names team ON team.id = r.team_ref
                LEFT JOIN names api_key ON api_key.id = r.key_ref
                LEFT JOIN names model ON model.id = r.model_ref
                LEFT JOIN names provider ON provider.id = r.provider_ref
                LEFT JOIN names endpoint ON endpoint.id = r.endpoint_ref
                LEFT JOIN names status ON status.id = r.status_ref
                LEFT JOIN names finish_reason ON finish_reason.id = r.finish_reason_ref
                LEFT JOIN names requested_model ON requested_model.id = r.requested_model_ref""";

    /** Version 5's view: version 4's with the {@code flags} column after {@code attempts}. */
    private static final String VIEW_V5 = VIEW_V4.replace("r.attempts, r.rowid AS rowid", "r.attempts, r.flags, r.rowid AS rowid");

    /** Version 7's view: version 5's with {@code cache_write_1h_tokens} and the {@code price_version} text after {@code flags}. */
    private static final String VIEW_V7 = VIEW_V5
            .replace("r.attempts, r.flags, r.rowid AS rowid",
                    "r.attempts, r.flags, r.cache_write_1h_tokens, price_version.value AS price_version, r.rowid AS rowid")
            .replace("LEFT JOIN names requested_model ON requested_model.id = r.requested_model_ref",
                    "LEFT JOIN names requested_model ON requested_model.id = r.requested_model_ref\n"
                            + "    LEFT JOIN names price_version ON price_version.id = r.price_version_ref");

    /**
     * Version 9's view: version 7's with {@code cache}, {@code saved_nanos} and {@code prompt_cache_saved_nanos} after
     * {@code price_version}.
     */
    private static final String VIEW_V9 = VIEW_V7
            .replace("price_version.value AS price_version, r.rowid AS rowid",
                    "price_version.value AS price_version, cache.value AS cache, r.saved_nanos, r.prompt_cache_saved_nanos,"
                            + " r.rowid AS rowid")
            .replace("LEFT JOIN names price_version ON price_version.id = r.price_version_ref",
                    "LEFT JOIN names price_version ON price_version.id = r.price_version_ref\n"
                            + "    LEFT JOIN names cache ON cache.id = r.cache_ref");

    /**
     * Version 11's view: version 9's with {@code route} and {@code route_reason} (texts of {@code names}) after
     * {@code prompt_cache_saved_nanos}.
     */
    private static final String VIEW_V11 = VIEW_V9
            .replace("r.prompt_cache_saved_nanos, r.rowid AS rowid",
                    "r.prompt_cache_saved_nanos, route.value AS route, route_reason.value AS route_reason,"
                            + " r.rowid AS rowid")
            .replace("LEFT JOIN names cache ON cache.id = r.cache_ref",
                    "LEFT JOIN names cache ON cache.id = r.cache_ref\n"
                            + "    LEFT JOIN names route ON route.id = r.route_ref\n"
                            + "    LEFT JOIN names route_reason ON route_reason.id = r.route_reason_ref");

    static final List<String> V1 = List.of(
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

    /**
     * Version 2, intelligence efficiency: the prompt hash, the retry flag, the requested model and the
     * gateway's attempts of each call, and the outcomes of tasks. Rows written before have no hash (0); their retry flag is what {@code task_attempt} says.
     */
    static final List<String> V2 = List.of(
            "ALTER TABLE usage_records ADD COLUMN prompt_hash INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE usage_records ADD COLUMN retry INTEGER NOT NULL DEFAULT 0",
            // The model the client asked for (differs from model when a fallback answered) and the
            // upstream attempts the gateway made.
            "ALTER TABLE usage_records ADD COLUMN requested_model TEXT",
            "ALTER TABLE usage_records ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1",
            "UPDATE usage_records SET retry = 1 WHERE task_attempt > 1",
            // Finds an earlier call of the same task, model and prompt in O(log n) when a call is inserted,
            // however many calls the task has; partial, so calls without a task do not pay for it.
            "CREATE INDEX usage_records_task_prompt ON usage_records (task_id, team, model, prompt_hash) "
                    + "WHERE task_id IS NOT NULL",
            """
            CREATE TABLE task_outcomes (
                team    TEXT NOT NULL,
                task_id TEXT NOT NULL,
                key_id  TEXT,
                success INTEGER NOT NULL,
                score   REAL,
                note    TEXT,
                at      INTEGER NOT NULL,
                PRIMARY KEY (team, task_id)
            )""");

    /**
     * Version 3: the full {@code task_id} index goes. The partial index of version 2 leads with {@code task_id}
     * and serves every {@code task_id = ?} lookup, and the full one cost every insert a B-tree update, also for
     * the calls without a task (most of them).
     */
    static final List<String> V3 = List.of("DROP INDEX IF EXISTS usage_records_task_id");

    /**
     * Version 4: the texts a row repeats from call to call (team, key, model, provider, endpoint, status, finish
     * reason, requested model) are stored once each in {@code names} and referred to by their small integer id
     * from {@code usage_rows}, which replaces the table {@code usage_records}; {@code usage_records} becomes a view
     * of {@code usage_rows} with the texts joined back, under the same columns in the same order and then the row's
     * {@code rowid} (the order rows were written in, as the table's own rowid was), so every reader (the gateway's
     * queries and anyone's SQL) reads what it read before. A row and its team and key index entries
     * are shorter, and the writer binds eight integers instead of eight strings through JNI: the ledger's CPU a call
     * fell from 4.7 to 3.9 µs. Rows of the old table are copied over with their texts' ids, in the order they were
     * written (their rowids).
     */
    static final List<String> V4 = List.of(
            "CREATE TABLE names (id INTEGER PRIMARY KEY, value TEXT NOT NULL UNIQUE)",
            "INSERT INTO names (value) SELECT v FROM (SELECT team AS v FROM usage_records UNION SELECT key_id "
                    + "FROM usage_records UNION SELECT model FROM usage_records UNION SELECT provider FROM usage_records "
                    + "UNION SELECT endpoint FROM usage_records UNION SELECT status FROM usage_records "
                    + "UNION SELECT finish_reason FROM usage_records UNION SELECT requested_model FROM usage_records) "
                    + "WHERE v IS NOT NULL ORDER BY v",
            """
            CREATE TABLE usage_rows (
                id                      TEXT NOT NULL PRIMARY KEY,
                created_at              INTEGER NOT NULL,
                team_ref                INTEGER,
                key_ref                 INTEGER,
                model_ref               INTEGER,
                provider_ref            INTEGER,
                endpoint_ref            INTEGER,
                stream                  INTEGER NOT NULL,
                status_ref              INTEGER,
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
                finish_reason_ref       INTEGER,
                latency_micros          INTEGER NOT NULL,
                upstream_latency_micros INTEGER NOT NULL,
                ttft_micros             INTEGER NOT NULL,
                prompt_hash             INTEGER NOT NULL DEFAULT 0,
                retry                   INTEGER NOT NULL DEFAULT 0,
                requested_model_ref     INTEGER,
                attempts                INTEGER NOT NULL DEFAULT 1
            )""",
            "INSERT INTO usage_rows SELECT u.id, u.created_at, " + ref("u.team") + ", " + ref("u.key_id") + ", "
                    + ref("u.model") + ", " + ref("u.provider") + ", " + ref("u.endpoint") + ", u.stream, "
                    + ref("u.status") + ", u.http_status, u.input_tokens, u.cached_input_tokens, u.cache_write_tokens, "
                    + "u.output_tokens, u.reasoning_tokens, u.usage_from_provider, u.local_input_tokens, "
                    + "u.local_output_tokens, u.local_estimated, u.cost_nanos, u.task_id, u.task_attempt, "
                    + ref("u.finish_reason") + ", u.latency_micros, u.upstream_latency_micros, u.ttft_micros, "
                    + "u.prompt_hash, u.retry, " + ref("u.requested_model") + ", u.attempts FROM usage_records u ORDER BY u.rowid",
            "DROP TABLE usage_records",
            "CREATE INDEX usage_rows_created_at ON usage_rows (created_at)",
            "CREATE INDEX usage_rows_team_created_at ON usage_rows (team_ref, created_at)",
            "CREATE INDEX usage_rows_key_created_at ON usage_rows (key_ref, created_at)",
            "CREATE INDEX usage_rows_task_prompt ON usage_rows (task_id, team_ref, model_ref, prompt_hash) "
                    + "WHERE task_id IS NOT NULL",
            VIEW_V4);

    /**
     * Version 5: each row keeps the {@link dev.tokenwise.core.model.RecordFlag}s of its call as a bitset in
     * {@code flags} (0 for rows written before), and the view shows it after {@code attempts}.
     */
    static final List<String> V5 = List.of(
            "ALTER TABLE usage_rows ADD COLUMN flags INTEGER NOT NULL DEFAULT 0",
            "DROP VIEW usage_records",
            VIEW_V5);

    /** Version 6: the rate limits of teams and keys set through the admin API (they win over the config file). */
    static final List<String> V6 = List.of("""
            CREATE TABLE rate_limits (
                kind                TEXT NOT NULL,
                name                TEXT NOT NULL,
                requests_per_minute INTEGER NOT NULL,
                tokens_per_minute   INTEGER NOT NULL,
                concurrent_requests INTEGER NOT NULL,
                updated_at          INTEGER NOT NULL,
                PRIMARY KEY (kind, name)
            )""");

    /**
     * Version 7, prices that can be re-rated: each row keeps the {@link dev.tokenwise.core.model.ModelPrice#version
     * price version} it was charged at ({@code price_version_ref}, a text of {@code names}; NULL for rows written
     * before and for unpriced models) and its 1-hour cache writes ({@code cache_write_1h_tokens}, part of
     * {@code cache_write_tokens}; 0 before). {@code adjustments} holds the corrections {@code tokenwise reprice --apply}
     * writes: one row per re-rated call, dated like the call ({@code created_at}) so that a period's totals include
     * the corrections of its calls, never an edit of the call's own row.
     */
    static final List<String> V7 = List.of(
            "ALTER TABLE usage_rows ADD COLUMN cache_write_1h_tokens INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE usage_rows ADD COLUMN price_version_ref INTEGER",
            "DROP VIEW usage_records",
            VIEW_V7,
            """
            CREATE TABLE adjustments (
                id            INTEGER PRIMARY KEY,
                record_id     TEXT NOT NULL,
                created_at    INTEGER NOT NULL,
                team          TEXT,
                key_id        TEXT,
                model         TEXT,
                delta_nanos   INTEGER NOT NULL,
                price_version TEXT,
                reprice_id    TEXT NOT NULL,
                applied_at    INTEGER NOT NULL
            )""",
            "CREATE INDEX adjustments_created_at ON adjustments (created_at)",
            "CREATE INDEX adjustments_record_id ON adjustments (record_id)");

    /**
     * Version 8, the billing audit's memory ({@link AuditStore}), so that a restart does not reset it: each model's
     * windows of per-call differences between provider and local token counts, by endpoint, side and request features, and
     * its hourly buckets of provider input tokens and prompt text bytes. A step of its own: it touches no other table.
     */
    static final List<String> V8 = List.of(
            """
            CREATE TABLE audit_differences (
                model           TEXT NOT NULL,
                endpoint        TEXT NOT NULL,
                side            TEXT NOT NULL,
                features        INTEGER NOT NULL,
                exact           INTEGER NOT NULL,
                baseline_share  REAL,
                baseline_median REAL,
                samples         BLOB NOT NULL,
                saved_at        INTEGER NOT NULL,
                PRIMARY KEY (model, endpoint, side, features, exact)
            )""",
            """
            CREATE TABLE audit_inflation (
                model        TEXT NOT NULL,
                hour         INTEGER NOT NULL,
                calls        INTEGER NOT NULL,
                tokens       INTEGER NOT NULL,
                bytes        INTEGER NOT NULL,
                tokens_sq    REAL NOT NULL,
                bytes_sq     REAL NOT NULL,
                tokens_bytes REAL NOT NULL,
                PRIMARY KEY (model, hour)
            )""");

    /**
     * Version 9, what caches saved: each row's response cache status in {@code cache} ({@code hit}, {@code miss},
     * {@code skip}, or NULL without a cache; a text of {@code names}), what a hit saved ({@code saved_nanos}: the cost
     * of the call whose answer it served) and what the provider's prompt cache saved ({@code prompt_cache_saved_nanos});
     * 0 for rows written before, whose savings were not recorded.
     */
    static final List<String> V9 = List.of(
            "ALTER TABLE usage_rows ADD COLUMN cache_ref INTEGER",
            "ALTER TABLE usage_rows ADD COLUMN saved_nanos INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE usage_rows ADD COLUMN prompt_cache_saved_nanos INTEGER NOT NULL DEFAULT 0",
            "DROP VIEW usage_records",
            VIEW_V9);

    /**
     * Version 10: the pinned reference ("last known good") of each drift detector and model: a time range of the
     * model's tasks (traffic) or probe runs (probe) that later behaviour is compared with. It moves only when an
     * operator acknowledges a change; {@code to_ms} is 0 while the reference is still being gathered from
     * {@code from_ms} on.
     */
    static final List<String> V10 = List.of("""
            CREATE TABLE drift_references (
                source     TEXT NOT NULL,
                model      TEXT NOT NULL,
                from_ms    INTEGER NOT NULL,
                to_ms      INTEGER NOT NULL,
                changed_at INTEGER NOT NULL,
                note       TEXT,
                PRIMARY KEY (source, model)
            )""");

    /**
     * Version 11, efficiency routes: the route a call was made to ({@code route_ref}, NULL for a call to a model) and
     * why the route chose the model that answered ({@code route_reason_ref}: {@code exploit} or {@code explore}), both
     * texts of {@code names}; the partial index finds a route's calls when the router rebuilds its state at start-up.
     */
    static final List<String> V11 = List.of(
            "ALTER TABLE usage_rows ADD COLUMN route_ref INTEGER",
            "ALTER TABLE usage_rows ADD COLUMN route_reason_ref INTEGER",
            "CREATE INDEX usage_rows_route ON usage_rows (route_ref, created_at) WHERE route_ref IS NOT NULL",
            "DROP VIEW usage_records",
            VIEW_V11);

    /**
     * Version 12's view: version 11's with {@code instance_id} (a text of {@code names}: the gateway instance that
     * served the call) after {@code route_reason}.
     */
    private static final String VIEW_V12 = VIEW_V11
            .replace("route_reason.value AS route_reason, r.rowid AS rowid",
                    "route_reason.value AS route_reason, instance.value AS instance_id, r.rowid AS rowid")
            .replace("LEFT JOIN names route_reason ON route_reason.id = r.route_reason_ref",
                    "LEFT JOIN names route_reason ON route_reason.id = r.route_reason_ref\n"
                            + "    LEFT JOIN names instance ON instance.id = r.instance_ref");

    /** Version 12, instances: the {@code instance_id} of the gateway that served a call ({@code instance_ref}). */
    static final List<String> V12 = List.of(
            "ALTER TABLE usage_rows ADD COLUMN instance_ref INTEGER",
            "DROP VIEW usage_records",
            VIEW_V12);

    /** The migrations from version 1 on, in order: the step at index {@code i} takes version {@code i + 1} to {@code i + 2}. */
    private static final List<List<String>> STEPS = List.of(V2, V3, V4, V5, V6, V7, V8, V9, V10, V11, V12);

    private LedgerSchema() {
    }

    /** The id in {@code names} of the text in {@code column}, or NULL for NULL. */
    private static String ref(String column) {
        return "(SELECT n.id FROM names n WHERE n.value = " + column + ")";
    }

    /**
     * Creates the schema in a new file, migrates an older file in place, or checks that an existing file
     * has a version this code reads.
     */
    static void ensure(Connection connection, Path file) throws SQLException {
        if (check(userVersion(connection), file)) {
            return;
        }
        try (Statement s = connection.createStatement()) {
            // IMMEDIATE takes the write lock at once, so two processes opening a new (or old) file do not
            // both create (or migrate) it.
            LedgerConnections.immediateTransaction(s, () -> {
                int version = userVersion(connection);
                if (check(version, file)) {
                    return;
                }
                if (version == 0) {
                    if (hasTables(connection)) {
                        throw new IllegalStateException("ledger file " + file
                                + " has tables but no schema version: it is not a Tokenwise ledger (choose another storage.path)");
                    }
                    execute(s, V1);
                } else {
                    log.info("Usage ledger {}: migrating schema version {} to {}", file, version, VERSION);
                }
                // STEPS.get(i) takes a file from version i + 1 to i + 2.
                for (int step = Math.max(version, 1); step < VERSION; step++) {
                    execute(s, STEPS.get(step - 1));
                }
                s.execute("PRAGMA user_version = " + VERSION);
            });
        }
    }

    private static void execute(Statement s, List<String> statements) throws SQLException {
        for (String sql : statements) {
            s.execute(sql);
        }
    }

    /** {@code true} when the file is at the current version; {@code false} when it is new or older. */
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
