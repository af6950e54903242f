package dev.tokenwise.metrics.dashboard;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.sqlite.SQLiteConfig;

/**
 * The dashboard's queries on the ledger (the same SQL on SQLite and PostgreSQL), each on a read-only connection of its own that is closed after
 * the query: in WAL mode it reads the committed state beside the ledger's writer and can never take the write
 * lock. Blocking: call it from a worker, never from an event loop. Table and columns: {@code docs/storage.md}.
 */
final class LedgerReader {
    /** Spend and tokens of one group. */
    record Totals(String group, long requests, long errors, long inputTokens, long outputTokens, long costNanos) {
    }

    /** A team's spend in one time bucket ({@code bucket} is its start, epoch ms). */
    record BucketSpend(long bucket, String team, long costNanos) {
    }

    /** What the caches saved in one time bucket ({@code bucket} is its start, epoch ms). */
    record BucketSavings(long bucket, long cacheSavedNanos, long promptCacheSavedNanos) {
    }

    /** The response cache's hits and misses of one team or model. */
    record HitRate(String group, long hits, long misses) {
        long lookups() {
            return hits + misses;
        }
    }

    /** A recent call, as the dashboard lists it. */
    record Call(String id, long createdAtMillis, String team, String keyId, String model, String provider,
                boolean stream, String status, int httpStatus, long inputTokens, long outputTokens, long costNanos,
                String taskId, String finishReason, long latencyMicros, long rowId) {
    }

    /** Where the read connections come from: {@link dev.tokenwise.metrics.ledger.Ledger#openReadConnection}. */
    interface Connections {
        Connection open() throws SQLException;
    }

    private final Connections connections;

    LedgerReader(Connections connections) {
        this.connections = Objects.requireNonNull(connections, "connections");
    }

    /** A reader of the SQLite ledger file. */
    LedgerReader(Path file, int busyTimeoutMillis) {
        this(() -> {
            SQLiteConfig config = new SQLiteConfig();
            config.setReadOnly(true);
            config.setBusyTimeout(busyTimeoutMillis);
            return DriverManager.getConnection("jdbc:sqlite:" + Objects.requireNonNull(file, "file"), config.toProperties());
        });
    }

    private Connection open() throws SQLException {
        return connections.open();
    }

    /**
     * Totals per team ({@code byModel} false) or per model, of calls created at or after {@code fromMillis}, of
     * {@code team} only unless it is {@code null}.
     */
    List<Totals> totals(boolean byModel, long fromMillis, String team) throws SQLException {
        String column = byModel ? "model" : "team";
        String sql = "SELECT " + column + ", COUNT(*), SUM(CASE WHEN status <> 'ok' THEN 1 ELSE 0 END), SUM(input_tokens), SUM(output_tokens), "
                + "SUM(cost_nanos) FROM usage_records WHERE created_at >= ?" + teamFilter(team) + " GROUP BY " + column;
        try (Connection c = open(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setLong(1, fromMillis);
            bindTeam(ps, 2, team);
            List<Totals> rows = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    rows.add(new Totals(rs.getString(1), rs.getLong(2), rs.getLong(3), rs.getLong(4), rs.getLong(5),
                            rs.getLong(6)));
                }
            }
            return rows;
        }
    }

    /** Spend per team per bucket of {@code bucketMillis} (aligned to the epoch), from {@code fromMillis}. */
    List<BucketSpend> spendOverTime(long fromMillis, long bucketMillis, String team) throws SQLException {
        String sql = "SELECT (created_at / ?) * ?, team, SUM(cost_nanos) FROM usage_records WHERE created_at >= ?"
                + teamFilter(team) + " GROUP BY 1, 2";
        try (Connection c = open(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setLong(1, bucketMillis);
            ps.setLong(2, bucketMillis);
            ps.setLong(3, fromMillis);
            bindTeam(ps, 4, team);
            List<BucketSpend> rows = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    rows.add(new BucketSpend(rs.getLong(1), rs.getString(2), rs.getLong(3)));
                }
            }
            return rows;
        }
    }

    /** What the response cache and the providers' prompt caches saved per bucket of {@code bucketMillis}, from {@code fromMillis}. */
    List<BucketSavings> savingsOverTime(long fromMillis, long bucketMillis, String team) throws SQLException {
        String sql = "SELECT (created_at / ?) * ?, SUM(saved_nanos), SUM(prompt_cache_saved_nanos) FROM usage_records "
                + "WHERE created_at >= ?" + teamFilter(team) + " GROUP BY 1";
        try (Connection c = open(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setLong(1, bucketMillis);
            ps.setLong(2, bucketMillis);
            ps.setLong(3, fromMillis);
            bindTeam(ps, 4, team);
            List<BucketSavings> rows = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    rows.add(new BucketSavings(rs.getLong(1), rs.getLong(2), rs.getLong(3)));
                }
            }
            return rows;
        }
    }

    /** The response cache's hits and misses per team ({@code byModel} false) or per model, from {@code fromMillis}. */
    List<HitRate> hitRates(boolean byModel, long fromMillis, String team) throws SQLException {
        String column = byModel ? "model" : "team";
        String sql = "SELECT " + column + ", SUM(CASE WHEN cache = 'hit' THEN 1 ELSE 0 END), SUM(CASE WHEN cache = 'miss' THEN 1 ELSE 0 END) FROM usage_records "
                + "WHERE created_at >= ? AND cache IN ('hit', 'miss')" + teamFilter(team) + " GROUP BY " + column;
        try (Connection c = open(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setLong(1, fromMillis);
            bindTeam(ps, 2, team);
            List<HitRate> rows = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    rows.add(new HitRate(rs.getString(1), rs.getLong(2), rs.getLong(3)));
                }
            }
            return rows;
        }
    }

    /** {@code " AND team = ?"} when the query is for one team, else nothing. */
    private static String teamFilter(String team) {
        return team == null ? "" : " AND team = ?";
    }

    private static void bindTeam(PreparedStatement ps, int index, String team) throws SQLException {
        if (team != null) {
            ps.setString(index, team);
        }
    }

    /**
     * The most recent calls, newest first.
     *
     * @param team only this team's calls, or {@code null}
     * @param keyId only this key's calls, or {@code null}
     * @param model only this model's calls, or {@code null}
     */
    List<Call> recent(int limit, String team, String keyId, String model) throws SQLException {
        return calls(limit, team, keyId, model, -1, -1, -1);
    }

    /** Calls and the cursor to ask for the next ones with: {@code following(cursor, ...)} returns what came after. */
    record Page(List<Call> calls, long cursor) {
    }

    /**
     * The most recent calls, newest first (as {@link #recent}), with a cursor that follows every call written after
     * this answer. SQLite: the ledger's last row id, read before the calls are. PostgreSQL: see {@link #following}.
     */
    Page recentPage(int limit, String team, String keyId, String model) throws SQLException {
        if (postgres()) {
            long horizon = transactionHorizon();
            return new Page(calls(limit, team, keyId, model, -1, -1, horizon), transactionCursor(horizon, 0));
        }
        long last = lastRowId();
        return new Page(calls(limit, team, keyId, model, -1, last, -1), last);
    }

    /** In a PostgreSQL cursor, the bits of the count of rows of its transaction already returned. */
    private static final int ROWS_BITS = 24;

    /**
     * The calls written after {@code cursor}, in the order they were written (oldest first, not by
     * {@code created_at}: a long call is written after shorter ones that started later), at most {@code limit}, and
     * the cursor of the next page.
     *
     * <p>SQLite: row ids grow with every write and its one writer commits them in order, so reading only up to the
     * last row id seen before the query leaves no gap and repeats nothing from one page to the next.
     *
     * <p>PostgreSQL: every instance's writer commits batches at once, so a batch that took lower row ids can commit
     * after one with higher ones, and a row-id cursor would step over it for good. There rows are read in the order of
     * the transactions that wrote them ({@code txid}, then row id), and only below the oldest transaction still
     * running ({@code txid_snapshot_xmin}): those have all ended, so no row can still appear among them. The cursor
     * says how far: every row of a transaction below {@code t}, and the first {@code n} rows of {@code t}
     * ({@code t << 24 | n}). A transaction left open elsewhere on the database holds the feed back until it ends.
     */
    Page following(long cursor, int limit, String team, String keyId, String model) throws SQLException {
        if (!postgres()) {
            long last = lastRowId();
            if (last <= cursor) {
                return new Page(List.of(), cursor);
            }
            List<Call> calls = calls(limit, team, keyId, model, cursor, last, -1);
            return new Page(calls, calls.size() == limit ? calls.get(calls.size() - 1).rowId() : last);
        }
        long horizon = transactionHorizon();
        long from = cursor >>> ROWS_BITS;
        long seen = cursor & ((1L << ROWS_BITS) - 1);
        if (from >= horizon) {
            return new Page(List.of(), cursor);
        }
        StringBuilder sql = new StringBuilder(CALL_COLUMNS + ", txid FROM usage_records WHERE txid >= ? AND txid < ?");
        List<Object> params = new ArrayList<>(List.of(from, horizon));
        filters(sql, params, team, keyId, model);
        sql.append(" ORDER BY txid, rowid OFFSET ? LIMIT ?");
        params.add(seen);
        params.add(limit);
        List<Call> calls = new ArrayList<>(Math.min(limit, 1024));
        long lastTransaction = from;
        long ofLast = seen;
        try (Connection c = open(); PreparedStatement ps = prepare(c, sql, params); ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                calls.add(call(rs));
                long t = rs.getLong(17);
                ofLast = t == lastTransaction ? ofLast + 1 : 1;
                lastTransaction = t;
            }
        }
        if (calls.size() < limit) {
            return new Page(calls, transactionCursor(horizon, 0)); // everything below the horizon is read
        }
        return new Page(calls, transactionCursor(lastTransaction, ofLast));
    }

    private static long transactionCursor(long transaction, long rowsRead) {
        if (rowsRead >= 1L << ROWS_BITS) {
            throw new IllegalStateException("transaction " + transaction + " wrote more than " + (1L << ROWS_BITS)
                    + " records");
        }
        return transaction << ROWS_BITS | rowsRead;
    }

    private volatile Boolean postgres;

    /** Whether the ledger is on PostgreSQL (asked of the first connection, then remembered). */
    private boolean postgres() throws SQLException {
        Boolean p = postgres;
        if (p == null) {
            try (Connection c = open()) {
                p = "PostgreSQL".equals(c.getMetaData().getDatabaseProductName());
            }
            postgres = p;
        }
        return p;
    }

    /** PostgreSQL: the oldest transaction still running; every transaction below it has ended. */
    private long transactionHorizon() throws SQLException {
        try (Connection c = open(); PreparedStatement ps = c.prepareStatement(
                "SELECT txid_snapshot_xmin(txid_current_snapshot())"); ResultSet rs = ps.executeQuery()) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static void filters(StringBuilder sql, List<Object> params, String team, String keyId, String model) {
        if (team != null) {
            sql.append(" AND team = ?");
            params.add(team);
        }
        if (keyId != null) {
            sql.append(" AND key_id = ?");
            params.add(keyId);
        }
        if (model != null) {
            sql.append(" AND model = ?");
            params.add(model);
        }
    }

    private static PreparedStatement prepare(Connection c, CharSequence sql, List<Object> params) throws SQLException {
        PreparedStatement ps = c.prepareStatement(sql.toString());
        int i = 1;
        for (Object p : params) {
            ps.setObject(i++, p);
        }
        return ps;
    }

    private long lastRowId() throws SQLException {
        try (Connection c = open();
             // The table under the view: MAX through the view's joins would read every row.
             PreparedStatement ps = c.prepareStatement("SELECT MAX(rowid) FROM usage_rows");
             ResultSet rs = ps.executeQuery()) {
            return rs.next() ? rs.getLong(1) : 0;
        }
    }

    private static final String CALL_COLUMNS = "SELECT id, created_at, team, key_id, model, provider, stream, status, "
            + "http_status, input_tokens, output_tokens, cost_nanos, task_id, finish_reason, latency_micros, rowid";

    /**
     * Newest first when {@code after} is negative, else the rows in {@code (after, upTo]} by row id, oldest first
     * (SQLite); on PostgreSQL only rows of transactions below {@code below} when it is set.
     */
    private List<Call> calls(int limit, String team, String keyId, String model, long after, long upTo, long below)
            throws SQLException {
        StringBuilder sql = new StringBuilder(CALL_COLUMNS + " FROM usage_records WHERE 1 = 1");
        List<Object> params = new ArrayList<>();
        if (after >= 0) {
            sql.append(" AND rowid > ?");
            params.add(after);
        }
        if (upTo >= 0) {
            sql.append(" AND rowid <= ?");
            params.add(upTo);
        }
        if (below >= 0) {
            sql.append(" AND txid < ?");
            params.add(below);
        }
        filters(sql, params, team, keyId, model);
        sql.append(after >= 0 ? " ORDER BY rowid LIMIT ?" : " ORDER BY created_at DESC, rowid DESC LIMIT ?");
        params.add(limit);
        try (Connection c = open(); PreparedStatement ps = prepare(c, sql, params); ResultSet rs = ps.executeQuery()) {
            List<Call> rows = new ArrayList<>(limit);
            while (rs.next()) {
                rows.add(call(rs));
            }
            return rows;
        }
    }

    private static Call call(ResultSet rs) throws SQLException {
        return new Call(rs.getString(1), rs.getLong(2), rs.getString(3), rs.getString(4), rs.getString(5),
                rs.getString(6), rs.getInt(7) != 0, rs.getString(8), rs.getInt(9), rs.getLong(10), rs.getLong(11),
                rs.getLong(12), rs.getString(13), rs.getString(14), rs.getLong(15), rs.getLong(16));
    }
}
