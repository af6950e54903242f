package dev.tokenwise.metrics.ledger;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenwise.core.config.BudgetConfig;
import dev.tokenwise.core.config.BudgetPeriod;
import dev.tokenwise.core.config.RateLimits;
import dev.tokenwise.core.model.CallStatus;
import dev.tokenwise.core.model.UsageRecord;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * What the two ledger stores share: every query (the same SQL on SQLite and PostgreSQL, {@link LedgerDatabase.Dialect}
 * for the few differences), the admin API's tables, the {@link LedgerWriter} in front of the store's
 * {@link BatchInserter}, retention and closing. A subclass opens its database and names it.
 */
abstract class SqlLedger implements Ledger {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final LedgerDatabase db;
    private final LedgerWriter writer;
    private final TaskLedger tasks;
    private final AuditStore audit;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final AtomicLong expired = new AtomicLong();
    /** The admin connection, guarded by {@code this}; opened on first use, dropped after a failure. */
    private Connection admin;
    private volatile LedgerRetention retention;

    SqlLedger(LedgerDatabase db, LedgerWriter writer) {
        this.db = db;
        this.writer = writer;
        this.tasks = new TaskLedger(db);
        this.audit = new AuditStore(db);
    }

    LedgerWriter writer() {
        return writer;
    }

    LedgerDatabase database() {
        return db;
    }

    @Override
    public String name() {
        return db.name();
    }

    // ---- writes -------------------------------------------------------------------------------------

    /**
     * Queues a record for the writer. Called on the dispatcher thread; blocks it only while the queue is
     * full (the writer is failing or far behind), never drops the record.
     *
     * @throws IllegalStateException after {@link #close}
     */
    @Override
    public void accept(UsageRecord record) {
        Objects.requireNonNull(record.id(), "record.id");
        Objects.requireNonNull(record.usage(), "record.usage");
        writer.accept(record);
    }

    /** Waits until every record accepted before this call is committed; {@code false} when the timeout passed first. */
    @Override
    public boolean flush(Duration timeout) {
        return writer.flush(timeout);
    }

    /**
     * A future completed when the record with this id is committed, for {@code storage.sync: strict}
     * (release a response's last bytes only once its record is durable). Register <em>before</em> the
     * record is settled, or the commit may come first; a record already committed is not looked up. The
     * future completes on the writer thread, so continue on your own executor (the channel's event loop),
     * and fails if the ledger closes first. Cancel it when the call ends without a record.
     */
    @Override
    public CompletableFuture<Void> whenCommitted(String id) {
        return writer.whenCommitted(id);
    }

    /** {@code false} while writes fail and records wait in memory. */
    @Override
    public boolean healthy() {
        return writer.healthy();
    }

    /** Why writes fail, while they do. */
    @Override
    public Optional<String> lastError() {
        return Optional.ofNullable(writer.lastError());
    }

    /** Records accepted but not committed yet (queued or in a batch being written or retried). */
    @Override
    public long pendingRecords() {
        return writer.pendingRecords();
    }

    /** Records committed since this ledger was opened. */
    @Override
    public long committedRecords() {
        return writer.committedRecords();
    }

    /**
     * Records left out since this ledger was opened: writing each failed on its own, try after try (logged with its
     * id), while the records around it were written.
     */
    @Override
    public long rejectedRecords() {
        return writer.rejectedRecords();
    }

    /**
     * Why the ledger no longer writes, or {@code null} while it does (failing and retrying, {@link #healthy} false,
     * is not stopped): its writer thread died, or made no progress for 30 s while records waited.
     */
    @Override
    public String stoppedReason() {
        String writerStopped = writer.stoppedReason();
        if (writerStopped != null) {
            return writerStopped;
        }
        LedgerRetention running = retention;
        return running == null ? null : running.stoppedReason();
    }

    /** Tasks, their outcomes and the sums behind the efficiency figures (schema version 2). */
    @Override
    public TaskLedger tasks() {
        return tasks;
    }

    /** The billing audit's saved windows and buckets, and the per-team input it prices (schema version 7). */
    @Override
    public AuditStore audit() {
        return audit;
    }

    // ---- reads --------------------------------------------------------------------------------------

    /** What the team spent since {@code fromMillis}: its calls' costs plus the {@link Adjustment}s applied to them. */
    @Override
    public long teamSpentNanos(String team, long fromMillis) {
        return sum("team spend", "SELECT COALESCE(SUM(cost_nanos), 0) FROM usage_records WHERE team = ? AND created_at >= ?",
                "SELECT COALESCE(SUM(delta_nanos), 0) FROM adjustments WHERE team = ? AND created_at >= ?", team, fromMillis);
    }

    /** What the key spent since {@code fromMillis}, adjustments included. */
    @Override
    public long keySpentNanos(String keyId, long fromMillis) {
        return sum("key spend", "SELECT COALESCE(SUM(cost_nanos), 0) FROM usage_records WHERE key_id = ? AND created_at >= ?",
                "SELECT COALESCE(SUM(delta_nanos), 0) FROM adjustments WHERE key_id = ? AND created_at >= ?", keyId,
                fromMillis);
    }

    /**
     * What the calls served by instance {@code instanceId} cost, of the team (with {@code keyId} {@code null}) or of
     * the key, created in {@code [fromMillis, toMillis)}: the ledger's side of reconciling a dead instance's spend
     * with the shared budget's (docs/cluster.md). Adjustments are left out: they are not booked against a budget.
     * Served by the index on {@code (team, created_at)} or {@code (key_id, created_at)}.
     */
    @Override
    public long instanceSpentNanos(String instanceId, String team, String keyId, long fromMillis, long toMillis) {
        String sql = keyId == null
                ? "SELECT COALESCE(SUM(cost_nanos), 0) FROM usage_records WHERE team = ? AND created_at >= ?"
                        + " AND created_at < ? AND instance_id = ?"
                : "SELECT COALESCE(SUM(cost_nanos), 0) FROM usage_records WHERE key_id = ? AND created_at >= ?"
                        + " AND created_at < ? AND instance_id = ?";
        return db.read("instance spend", c -> {
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                ps.setString(1, keyId == null ? team : keyId);
                ps.setLong(2, fromMillis);
                ps.setLong(3, toMillis);
                ps.setString(4, instanceId);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? rs.getLong(1) : 0L;
                }
            }
        });
    }

    private long sum(String what, String recordsSql, String adjustmentsSql, String holder, long fromMillis) {
        return db.read(what, c -> {
            long total = 0;
            for (String sql : new String[] {recordsSql, adjustmentsSql}) {
                try (PreparedStatement ps = c.prepareStatement(sql)) {
                    ps.setString(1, holder);
                    ps.setLong(2, fromMillis);
                    try (ResultSet rs = ps.executeQuery()) {
                        total = Math.addExact(total, rs.next() ? rs.getLong(1) : 0L);
                    }
                }
            }
            return total;
        });
    }

    /** The committed record of a call, if the ledger has it. */
    @Override
    public Optional<UsageRecord> find(String id) {
        return db.read("find", c -> {
            try (PreparedStatement ps = c.prepareStatement(UsageRecordRows.SELECT_BY_ID)) {
                ps.setString(1, id);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? Optional.of(UsageRecordRows.read(rs)) : Optional.empty();
                }
            }
        });
    }

    /**
     * Usage totals of the committed records created in {@code [fromMillis, toMillis)}, grouped and ordered by
     * {@code groupBy}'s fields. Costs include the {@link Adjustment}s applied to those records (a reprice's
     * corrections count in the period of the calls they correct); requests and tokens are the calls' own.
     *
     * @param teamFilter only this team's records, or {@code null} for all teams
     */
    @Override
    public List<UsageRow> usage(GroupBy groupBy, long fromMillis, long toMillis, String teamFilter) {
        String groupColumns = switch (groupBy) {
            case TEAM -> "team";
            case MODEL -> "model";
            case KEY -> "team, key_id";
            case DAY -> "day";
        };
        String selectColumns = groupBy == GroupBy.DAY ? db.dialect().dayOfCreatedAt() + " AS day" : groupColumns;
        // NULLs first, as SQLite orders them (PostgreSQL orders them last unless told)
        String orderColumns = groupBy == GroupBy.KEY ? "team NULLS FIRST, key_id NULLS FIRST" : groupColumns + " NULLS FIRST";
        String where = "WHERE created_at >= ? AND created_at < ?" + (teamFilter != null ? " AND team = ?" : "");
        String sql = "SELECT " + selectColumns + ", SUM(calls), SUM(input_tokens), SUM(output_tokens), "
                + "SUM(cached_input_tokens), SUM(reasoning_tokens), SUM(cost_nanos), SUM(hits), SUM(saved_nanos), "
                + "SUM(prompt_cache_saved_nanos) FROM ("
                + "SELECT team, key_id, model, created_at, 1 AS calls, input_tokens, output_tokens, cached_input_tokens, "
                + "reasoning_tokens, cost_nanos, CASE WHEN cache = 'hit' THEN 1 ELSE 0 END AS hits, saved_nanos, prompt_cache_saved_nanos "
                + "FROM usage_records " + where
                + " UNION ALL SELECT team, key_id, model, created_at, 0, 0, 0, 0, 0, delta_nanos, 0, 0, 0 FROM adjustments "
                + where + ") AS u GROUP BY " + groupColumns + " ORDER BY " + orderColumns;
        return db.read("usage query", c -> {
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                int p = 1;
                for (int part = 0; part < 2; part++) {
                    ps.setLong(p++, fromMillis);
                    ps.setLong(p++, toMillis);
                    if (teamFilter != null) {
                        ps.setString(p++, teamFilter);
                    }
                }
                List<UsageRow> rows = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        int n = groupBy == GroupBy.KEY ? 3 : 2;
                        String first = rs.getString(1);
                        rows.add(new UsageRow(
                                groupBy == GroupBy.TEAM || groupBy == GroupBy.KEY ? first : null,
                                groupBy == GroupBy.KEY ? rs.getString(2) : null,
                                groupBy == GroupBy.MODEL ? first : null,
                                groupBy == GroupBy.DAY ? first : null,
                                rs.getLong(n), rs.getLong(n + 1), rs.getLong(n + 2), rs.getLong(n + 3),
                                rs.getLong(n + 4), rs.getLong(n + 5), rs.getLong(n + 6), rs.getLong(n + 7),
                                rs.getLong(n + 8)));
                    }
                }
                return rows;
            }
        });
    }

    /**
     * Hands the times of {@code team}'s completed calls ({@code status ok}) created in {@code [fromMillis,
     * toMillis)} to {@code each}, one row at a time (a busy team's hour is too many rows to hold in a list): what
     * a team's own latency figures are computed from.
     */
    @Override
    public void timings(String team, long fromMillis, long toMillis, Consumer<CallTiming> each) {
        Objects.requireNonNull(team, "team");
        db.read("timings query", c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT model, stream, latency_micros, "
                    + "upstream_latency_micros, ttft_micros FROM usage_records "
                    + "WHERE team = ? AND created_at >= ? AND created_at < ? AND status = ?")) {
                ps.setString(1, team);
                ps.setLong(2, fromMillis);
                ps.setLong(3, toMillis);
                ps.setString(4, CallStatus.OK.label());
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        each.accept(new CallTiming(rs.getString(1), rs.getInt(2) != 0, rs.getLong(3), rs.getLong(4),
                                rs.getLong(5)));
                    }
                }
                return null;
            }
        });
    }

    /** The cost of every committed record, adjustments included, in nano-USD. */
    @Override
    public long totalCostNanos() {
        return db.read("total cost", c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT (SELECT COALESCE(SUM(cost_nanos), 0) FROM usage_records)"
                    + " + (SELECT COALESCE(SUM(delta_nanos), 0) FROM adjustments)");
                 ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getLong(1) : 0L;
            }
        });
    }

    // ---- re-rating ----------------------------------------------------------------------------------

    /**
     * Hands every committed record created in {@code [fromMillis, toMillis)} to {@code each}, in the order they were
     * written, one row at a time.
     */
    @Override
    public void forEachRecord(long fromMillis, long toMillis, Consumer<UsageRecord> each) {
        db.read("records query", c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT " + UsageRecordRows.COLUMNS
                    + " FROM usage_records WHERE created_at >= ? AND created_at < ? ORDER BY rowid")) {
                ps.setLong(1, fromMillis);
                ps.setLong(2, toMillis);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        each.accept(UsageRecordRows.read(rs));
                    }
                }
                return null;
            }
        });
    }

    /** The sum of the adjustments applied to each record created in {@code [fromMillis, toMillis)}, by record id. */
    @Override
    public Map<String, Long> adjustmentsByRecord(long fromMillis, long toMillis) {
        return db.read("adjustments query", c -> {
            Map<String, Long> sums = new HashMap<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT record_id, SUM(delta_nanos) FROM adjustments "
                    + "WHERE created_at >= ? AND created_at < ? GROUP BY record_id")) {
                ps.setLong(1, fromMillis);
                ps.setLong(2, toMillis);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        sums.put(rs.getString(1), rs.getLong(2));
                    }
                }
            }
            return sums;
        });
    }

    /**
     * Writes {@code adjustments} in one transaction, all or none, under the id of the reprice that made them.
     *
     * @return how many were written
     */
    @Override
    public synchronized int applyAdjustments(String repriceId, List<Adjustment> adjustments, long appliedAtMillis) {
        Objects.requireNonNull(repriceId, "repriceId");
        return admin("apply adjustments", c -> {
            boolean autoCommit = c.getAutoCommit();
            c.setAutoCommit(false);
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO adjustments (record_id, created_at, team, key_id, "
                    + "model, delta_nanos, price_version, reprice_id, applied_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                for (Adjustment a : adjustments) {
                    ps.setString(1, a.recordId());
                    ps.setLong(2, a.createdAtMillis());
                    ps.setString(3, a.team());
                    ps.setString(4, a.keyId());
                    ps.setString(5, a.model());
                    ps.setLong(6, a.deltaNanos());
                    ps.setString(7, a.priceVersion());
                    ps.setString(8, repriceId);
                    ps.setLong(9, appliedAtMillis);
                    ps.addBatch();
                }
                ps.executeBatch();
                c.commit();
                return adjustments.size();
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            } finally {
                c.setAutoCommit(autoCommit);
            }
        });
    }

    // ---- teams and keys (admin API) -----------------------------------------------------------------

    @Override
    public synchronized List<StoredTeam> teams() {
        return admin("list teams", c -> {
            List<StoredTeam> teams = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT name, limit_nanos, period, updated_at FROM teams ORDER BY name");
                 ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    teams.add(new StoredTeam(rs.getString(1), budget(rs, 2, 3), rs.getLong(4)));
                }
            }
            return teams;
        });
    }

    @Override
    public synchronized List<StoredKey> keys() {
        return admin("list keys", c -> {
            List<StoredKey> keys = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT id, team, hash_hex, models, limit_nanos, period, "
                    + "created_at, revoked_at FROM api_keys ORDER BY created_at, id");
                 ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    keys.add(new StoredKey(rs.getString(1), rs.getString(2), rs.getString(3), models(rs.getString(4)),
                            budget(rs, 5, 6), rs.getLong(7), rs.getLong(8)));
                }
            }
            return keys;
        });
    }

    @Override
    public synchronized void saveTeam(StoredTeam team) {
        admin("save team " + team.name(), c -> {
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO teams (name, limit_nanos, period, updated_at) "
                    + "VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET limit_nanos = excluded.limit_nanos, "
                    + "period = excluded.period, updated_at = excluded.updated_at")) {
                ps.setString(1, team.name());
                bindBudget(ps, 2, team.budget());
                ps.setLong(4, team.updatedAtMillis());
                return ps.executeUpdate();
            }
        });
    }

    @Override
    public synchronized List<StoredRateLimits> rateLimits() {
        return admin("list rate limits", c -> {
            List<StoredRateLimits> all = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT kind, name, requests_per_minute, tokens_per_minute, "
                    + "concurrent_requests, updated_at FROM rate_limits ORDER BY kind, name");
                 ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    all.add(new StoredRateLimits(rs.getString(1), rs.getString(2),
                            new RateLimits(rs.getLong(3), rs.getLong(4), rs.getInt(5)), rs.getLong(6)));
                }
            }
            return all;
        });
    }

    @Override
    public synchronized void saveRateLimits(StoredRateLimits limits) {
        admin("save rate limits of " + limits.kind() + " " + limits.name(), c -> {
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO rate_limits (kind, name, requests_per_minute, "
                    + "tokens_per_minute, concurrent_requests, updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (kind, name) "
                    + "DO UPDATE SET requests_per_minute = excluded.requests_per_minute, tokens_per_minute = "
                    + "excluded.tokens_per_minute, concurrent_requests = excluded.concurrent_requests, "
                    + "updated_at = excluded.updated_at")) {
                ps.setString(1, limits.kind());
                ps.setString(2, limits.name());
                ps.setLong(3, limits.limits().requestsPerMinute());
                ps.setLong(4, limits.limits().tokensPerMinute());
                ps.setInt(5, limits.limits().concurrentRequests());
                ps.setLong(6, limits.updatedAtMillis());
                return ps.executeUpdate();
            }
        });
    }

    /**
     * {@inheritDoc}
     *
     * @throws IllegalArgumentException when another key id already has the same hash
     */
    @Override
    public synchronized void saveKey(StoredKey key) {
        admin("save key " + key.id(), c -> {
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO api_keys (id, team, hash_hex, models, limit_nanos, "
                    + "period, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                    + "team = excluded.team, hash_hex = excluded.hash_hex, models = excluded.models, "
                    + "limit_nanos = excluded.limit_nanos, period = excluded.period, created_at = excluded.created_at, "
                    + "revoked_at = excluded.revoked_at")) {
                ps.setString(1, key.id());
                ps.setString(2, key.team());
                ps.setString(3, key.hashHex());
                ps.setString(4, modelsJson(key.models()));
                bindBudget(ps, 5, key.budget());
                ps.setLong(7, key.createdAtMillis());
                if (key.revoked()) {
                    ps.setLong(8, key.revokedAtMillis());
                } else {
                    ps.setNull(8, Types.INTEGER);
                }
                return ps.executeUpdate();
            } catch (SQLException e) {
                String message = String.valueOf(e.getMessage());
                // SQLite names the column, PostgreSQL the constraint
                if (message.contains("api_keys.hash_hex") || message.contains("api_keys_hash_hex")) {
                    throw new IllegalArgumentException("key " + key.id() + ": another key with the same secret is stored");
                }
                throw e;
            }
        });
    }

    @Override
    public synchronized boolean saveKeyBudget(String id, BudgetConfig budget) {
        return admin("save the budget of key " + id, c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "UPDATE api_keys SET limit_nanos = ?, period = ? WHERE id = ? AND revoked_at IS NULL")) {
                bindBudget(ps, 1, budget);
                ps.setString(3, id);
                return ps.executeUpdate() == 1;
            }
        });
    }

    @Override
    public synchronized boolean revokeKey(String id, long atMillis) {
        return admin("revoke key " + id, c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")) {
                ps.setLong(1, atMillis);
                ps.setString(2, id);
                return ps.executeUpdate() == 1;
            }
        });
    }

    /** Runs admin work on the admin connection; call while holding {@code this}. */
    private <T> T admin(String what, LedgerDatabase.SqlWork<T> work) {
        if (closed.get()) {
            throw new IllegalStateException("ledger " + name() + " is closed");
        }
        try {
            admin = LedgerConnections.usable(admin, db);
            return work.apply(admin);
        } catch (SQLException e) {
            LedgerConnections.closeQuietly(admin);
            admin = null;
            throw new IllegalStateException("ledger " + name() + ": " + what + " failed: " + e.getMessage(), e);
        }
    }

    private static BudgetConfig budget(ResultSet rs, int limitColumn, int periodColumn) throws SQLException {
        long limit = rs.getLong(limitColumn);
        if (rs.wasNull()) {
            return null;
        }
        return new BudgetConfig(limit, BudgetPeriod.valueOf(rs.getString(periodColumn).toUpperCase(Locale.ROOT)));
    }

    private static void bindBudget(PreparedStatement ps, int index, BudgetConfig budget) throws SQLException {
        if (budget == null) {
            ps.setNull(index, Types.INTEGER);
            ps.setNull(index + 1, Types.VARCHAR);
        } else {
            ps.setLong(index, budget.limitNanos());
            ps.setString(index + 1, budget.period().label());
        }
    }

    private static String modelsJson(List<String> models) {
        try {
            return JSON.writeValueAsString(models);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write a list of strings as JSON", e);
        }
    }

    private static List<String> models(String json) throws SQLException {
        try {
            return Arrays.asList(JSON.readValue(json, String[].class));
        } catch (JsonProcessingException e) {
            throw new SQLException("api_keys.models is not a JSON array of strings: " + json, e);
        }
    }

    // ---- retention ----------------------------------------------------------------------------------

    @Override
    public long deleteBefore(long beforeMillis, int batchSize) {
        if (batchSize <= 0) {
            throw new IllegalArgumentException("batchSize: " + batchSize + " (expected: > 0)");
        }
        String table = db.dialect().recordsTable();
        String key = db.dialect().recordsKey();
        String records = "DELETE FROM " + table + " WHERE " + key + " IN (SELECT " + key + " FROM " + table
                + " WHERE created_at < ? LIMIT ?)";
        String adjustments = "DELETE FROM adjustments WHERE id IN (SELECT id FROM adjustments WHERE created_at < ? LIMIT ?)";
        if (closed.get()) {
            throw new IllegalStateException("ledger " + name() + " is closed");
        }
        long deleted = 0;
        try (Connection c = db.open()) {
            for (String sql : new String[] {records, adjustments}) {
                try (PreparedStatement ps = c.prepareStatement(sql)) {
                    int n;
                    do {
                        ps.setLong(1, beforeMillis);
                        ps.setInt(2, batchSize);
                        n = ps.executeUpdate(); // one short transaction per batch (auto-commit)
                        if (sql == records) {
                            deleted += n;
                            expired.addAndGet(n);
                        }
                    } while (n == batchSize && !closed.get());
                }
            }
        } catch (SQLException e) {
            throw new IllegalStateException("ledger " + name() + ": deleting rows older than " + beforeMillis
                    + " failed: " + e.getMessage(), e);
        }
        return deleted;
    }

    @Override
    public long expiredRecords() {
        return expired.get();
    }

    /**
     * Starts deleting the records older than {@code retentionDays} days, now and then every {@code every}, on a
     * thread of its own; its death stops the ledger ({@link #stoppedReason}) as the writer's does.
     */
    @Override
    public synchronized void startRetention(int retentionDays, Duration every) {
        if (retention != null) {
            throw new IllegalStateException("ledger " + name() + ": retention already started");
        }
        retention = LedgerRetention.start(name(), this::deleteBefore, retentionDays, every);
    }

    // ---- lifecycle ----------------------------------------------------------------------------------

    /**
     * Stops intake, commits every record accepted so far (retrying a failing write for up to 30 seconds,
     * then logging how many records could not be written), and closes the database. Idempotent.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        LedgerRetention running = retention;
        if (running != null) {
            running.close();
        }
        audit.close(); // its final save first, while the database is open
        writer.close();
        tasks.close();
        synchronized (this) {
            LedgerConnections.closeQuietly(admin);
            admin = null;
        }
        closeDatabase();
    }

    /** Closes the store's connections, after the writer has stopped. */
    abstract void closeDatabase();
}
