package dev.tokenwise.metrics.ledger;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Tasks in the ledger: the calls that carried an {@code X-Task-Id}, the outcomes reported for them, and the
 * exact sums behind {@code GET /api/v1/tasks/{id}}, {@code GET /api/v1/efficiency} and the drift detector.
 * Obtained from {@link SqliteLedger#tasks()}. The definitions (what a retry, a truncated call, an unknown
 * task is) are in {@code docs/efficiency.md}.
 *
 * <p>A task is identified by its team and its id: two teams may use the same id without mixing. Reads run on
 * the caller's thread on a pooled read connection (call them from a worker, never an event loop); outcomes
 * are written on a connection of their own, serialised, beside the ledger's writer thread (SQLite's busy
 * timeout makes one wait for the other).
 *
 * <pre>{@code
 * TaskLedger tasks = ledger.tasks();
 * tasks.saveOutcome(new TaskOutcome("research", "task-42", "key-1", true, 0.9, null, now));
 * List<EfficiencyTotals> byModel = tasks.efficiency(GroupBy.MODEL, from, to, null, now - idleMillis);
 * }</pre>
 */
public final class TaskLedger {
    /** Milliseconds per day, for UTC day buckets. */
    public static final long DAY_MILLIS = 86_400_000L;

    private static final String TRUNCATED = "CASE WHEN u.finish_reason IN ('length', 'max_tokens') THEN 1 ELSE 0 END";

    private final LedgerDatabase connections;
    /** The outcome writer's connection, guarded by {@code this}; opened on first use, dropped after a failure. */
    private Connection writer;
    private volatile boolean closed;

    TaskLedger(LedgerDatabase connections) {
        this.connections = connections;
    }

    // ---- one task -----------------------------------------------------------------------------------

    /** The committed calls of a task added up, with its outcome; empty when the ledger has no call of it. */
    public Optional<TaskSummary> task(String team, String taskId) {
        Objects.requireNonNull(team, "team");
        Objects.requireNonNull(taskId, "taskId");
        return connections.read("task " + taskId, c -> {
            long calls = 0;
            long retries = 0;
            long truncated = 0;
            long input = 0;
            long output = 0;
            long cost = 0;
            long first = 0;
            long last = 0;
            String lastModel = null;
            Set<String> models = new LinkedHashSet<>();
            Set<String> keys = new LinkedHashSet<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT u.model, u.key_id, u.created_at, u.input_tokens, "
                    + "u.output_tokens, u.cost_nanos, u.retry, " + TRUNCATED + " FROM usage_records u "
                    + "WHERE u.task_id = ? AND u.team = ? ORDER BY u.created_at, u.rowid")) {
                ps.setString(1, taskId);
                ps.setString(2, team);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        lastModel = rs.getString(1);
                        models.add(lastModel);
                        keys.add(rs.getString(2));
                        last = rs.getLong(3);
                        if (calls == 0) {
                            first = last;
                        }
                        calls++;
                        input += rs.getLong(4);
                        output += rs.getLong(5);
                        cost += rs.getLong(6);
                        retries += rs.getLong(7);
                        truncated += rs.getLong(8);
                    }
                }
            }
            if (calls == 0) {
                return Optional.empty();
            }
            TaskOutcome outcome = outcome(c, team, taskId);
            return Optional.of(new TaskSummary(team, taskId, calls, retries, truncated, input, output, cost,
                    List.copyOf(models), List.copyOf(keys), lastModel, first, last, outcome));
        });
    }

    /** The teams that have committed calls with this task id, in alphabetical order. */
    public List<String> teamsOf(String taskId) {
        return connections.read("teams of task " + taskId, c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT DISTINCT team FROM usage_records WHERE task_id = ? ORDER BY team")) {
                ps.setString(1, taskId);
                List<String> teams = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        teams.add(rs.getString(1));
                    }
                }
                return teams;
            }
        });
    }

    /** The outcome reported for a task, if any. */
    public Optional<TaskOutcome> outcome(String team, String taskId) {
        return connections.read("outcome of task " + taskId, c -> Optional.ofNullable(outcome(c, team, taskId)));
    }

    private static TaskOutcome outcome(Connection c, String team, String taskId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT key_id, success, score, note, at FROM task_outcomes WHERE team = ? AND task_id = ?")) {
            ps.setString(1, team);
            ps.setString(2, taskId);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return null;
                }
                double score = rs.getDouble(3);
                Double boxed = rs.wasNull() ? null : score;
                return new TaskOutcome(team, taskId, rs.getString(1), rs.getInt(2) != 0, boxed, rs.getString(4),
                        rs.getLong(5));
            }
        }
    }

    /** Whether the committed call with this request id is flagged as a retry; empty when the ledger has no such call. */
    public Optional<Boolean> retry(String requestId) {
        return connections.read("retry flag of " + requestId, c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT retry FROM usage_records WHERE id = ?")) {
                ps.setString(1, requestId);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? Optional.of(rs.getInt(1) != 0) : Optional.empty();
                }
            }
        });
    }

    /**
     * Stores an outcome, replacing the task's previous one (so a task is counted once). Commits before it
     * returns.
     *
     * @throws IllegalStateException when the ledger is closed or the write fails
     */
    public synchronized void saveOutcome(TaskOutcome outcome) {
        if (closed) {
            throw new IllegalStateException("ledger " + connections.name() + " is closed");
        }
        try {
            writer = LedgerConnections.usable(writer, connections);
            try (PreparedStatement ps = writer.prepareStatement("INSERT INTO task_outcomes "
                    + "(team, task_id, key_id, success, score, note, at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                    + "ON CONFLICT (team, task_id) DO UPDATE SET key_id = excluded.key_id, success = excluded.success, "
                    + "score = excluded.score, note = excluded.note, at = excluded.at")) {
                ps.setString(1, outcome.team());
                ps.setString(2, outcome.taskId());
                ps.setString(3, outcome.keyId());
                ps.setInt(4, outcome.success() ? 1 : 0);
                if (outcome.score() == null) {
                    ps.setNull(5, Types.REAL);
                } else {
                    ps.setDouble(5, outcome.score());
                }
                ps.setString(6, outcome.note());
                ps.setLong(7, outcome.atMillis());
                ps.executeUpdate();
            }
        } catch (SQLException e) {
            LedgerConnections.closeQuietly(writer);
            writer = null;
            throw new IllegalStateException("ledger " + connections.name() + ": saving the outcome of task "
                    + outcome.taskId() + " failed: " + e.getMessage(), e);
        }
    }

    // ---- groups of tasks ----------------------------------------------------------------------------

    /**
     * The tasks whose last call arrived in {@code [fromMillis, toMillis)}, each with all of its calls (also
     * those before {@code fromMillis}), added up per group. With {@link GroupBy#MODEL} a task belongs to the
     * model of its last call.
     *
     * @param teamFilter only this team's tasks, or {@code null} for all teams
     * @param idleBeforeMillis a task without an outcome whose last call arrived before this is {@code unknown},
     *     otherwise {@code pending}
     * @throws IllegalArgumentException for a grouping other than model or team
     */
    public List<EfficiencyTotals> efficiency(GroupBy groupBy, long fromMillis, long toMillis, String teamFilter,
                                             long idleBeforeMillis) {
        String column = switch (groupBy) {
            case MODEL -> "model";
            case TEAM -> "team";
            default -> throw new IllegalArgumentException("group_by: " + groupBy.label() + " (expected: model or team)");
        };
        String sql = tasksWith(teamFilter) + "SELECT " + column + ", COUNT(*), "
                + "COALESCE(SUM(CASE WHEN success = 1 THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN success = 0 THEN 1 ELSE 0 END), 0), "
                + "COALESCE(SUM(CASE WHEN success IS NULL AND last_at < ? THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN success IS NULL AND last_at >= ? THEN 1 ELSE 0 END), 0), "
                + "SUM(calls), SUM(retries), SUM(truncated), SUM(input_tokens), SUM(output_tokens), "
                + "COALESCE(SUM(CASE WHEN success IS NOT NULL THEN input_tokens + output_tokens END), 0), "
                + "COALESCE(SUM(CASE WHEN success IS NOT NULL THEN cost_nanos END), 0), "
                + "COALESCE(SUM(CASE WHEN success = 0 THEN cost_nanos END), 0), "
                + "SUM(cost_nanos) FROM judged GROUP BY " + column + " ORDER BY " + column;
        return connections.read("efficiency query", c -> {
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                int i = bindTasks(ps, fromMillis, toMillis, teamFilter);
                ps.setLong(i++, idleBeforeMillis);
                ps.setLong(i, idleBeforeMillis);
                List<EfficiencyTotals> rows = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        rows.add(new EfficiencyTotals(rs.getString(1), rs.getLong(2), rs.getLong(3), rs.getLong(4),
                                rs.getLong(5), rs.getLong(6), rs.getLong(7), rs.getLong(8), rs.getLong(9),
                                rs.getLong(10), rs.getLong(11), rs.getLong(12), rs.getLong(13), rs.getLong(14),
                                rs.getLong(15)));
                    }
                }
                return rows;
            }
        });
    }

    /**
     * Per model (of each task's last call) and UTC day (of each task's last call), the tasks whose last call
     * arrived in {@code [fromMillis, toMillis)}, ordered by model and day.
     */
    public List<DriftBucket> driftBuckets(long fromMillis, long toMillis) {
        String tokens = "(input_tokens + output_tokens)";
        String sql = tasksWith(null) + "SELECT model, last_at / " + DAY_MILLIS + " AS day, COUNT(*), "
                + "COALESCE(SUM(CASE WHEN success IS NOT NULL THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN success = 1 THEN 1 ELSE 0 END), 0), "
                + "SUM(calls), SUM(retries), SUM(truncated), SUM(output_tokens), COALESCE(SUM(output_sq), 0.0), "
                + "COALESCE(SUM(CASE WHEN success IS NOT NULL THEN " + tokens + " END), 0.0), "
                + "COALESCE(SUM(CASE WHEN success IS NOT NULL THEN CAST(" + tokens + " AS DOUBLE PRECISION) * " + tokens + " END), 0.0), "
                + "COALESCE(SUM(CASE WHEN success = 1 THEN " + tokens + " END), 0.0), "
                + "COALESCE(SUM(CASE WHEN success IS NOT NULL THEN cost_nanos END), 0.0), "
                + "COALESCE(SUM(CASE WHEN success IS NOT NULL THEN CAST(cost_nanos AS DOUBLE PRECISION) * cost_nanos END), 0.0), "
                + "COALESCE(SUM(CASE WHEN success = 1 THEN cost_nanos END), 0.0) "
                + "FROM judged GROUP BY model, day ORDER BY model, day";
        return connections.read("drift buckets", c -> {
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                bindTasks(ps, fromMillis, toMillis, null);
                List<DriftBucket> rows = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        rows.add(new DriftBucket(rs.getString(1), rs.getLong(2), rs.getLong(3), rs.getLong(4),
                                rs.getLong(5), rs.getLong(6), rs.getLong(7), rs.getLong(8), rs.getLong(9),
                                rs.getDouble(10), rs.getDouble(11), rs.getDouble(12), rs.getDouble(13),
                                rs.getDouble(14), rs.getDouble(15), rs.getDouble(16)));
                    }
                }
                return rows;
            }
        });
    }

    /**
     * Every task whose last call arrived in {@code [fromMillis, toMillis)}, in the order of their last calls, each
     * with all its calls added up and its outcome.
     *
     * @param teamFilter only this team's tasks, or {@code null} for all teams
     */
    public List<TaskRow> taskRows(long fromMillis, long toMillis, String teamFilter) {
        String sql = tasksWith(teamFilter) + "SELECT team, task_id, model, last_at, calls, retries, truncated, "
                + "input_tokens, output_tokens, cost_nanos, success FROM judged ORDER BY last_at, team, task_id";
        return connections.read("task rows", c -> {
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                bindTasks(ps, fromMillis, toMillis, teamFilter);
                List<TaskRow> rows = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        int success = rs.getInt(11);
                        Boolean outcome = rs.wasNull() ? null : success == 1;
                        rows.add(new TaskRow(rs.getString(1), rs.getString(2), rs.getString(3), rs.getLong(4),
                                rs.getLong(5), rs.getLong(6), rs.getLong(7), rs.getLong(8), rs.getLong(9),
                                rs.getLong(10), outcome));
                    }
                }
                return rows;
            }
        });
    }

    // ---- efficiency routes --------------------------------------------------------------------------

    /**
     * What the efficiency routes learn from since {@code fromMillis}, oldest first: every task with an outcome reported
     * since then (its last call's model, the cost of all its calls, its outcome), and every call made to a route
     * without a task since then (its model, its cost, its implicit signal: {@code true} when it ended {@code ok}
     * without being cut by the output limit or a content filter; calls refused by the provider with a 4xx other
     * than 429, and calls the client cancelled, are left out: they judge the request or the client, not the model).
     *
     * @param limit the most recent pieces of each kind kept
     */
    public List<RouteEvidence> routeEvidence(long fromMillis, int limit) {
        String tasks = "WITH judged AS (SELECT team, task_id, success, score, at FROM task_outcomes WHERE at >= ? "
                + "ORDER BY at DESC LIMIT ?), "
                + "calls AS (SELECT u.team, u.task_id, u.model, u.route, u.cost_nanos, ROW_NUMBER() OVER (PARTITION BY u.team, "
                + "u.task_id ORDER BY u.created_at DESC, u.rowid DESC) AS from_last FROM judged j "
                + "JOIN usage_records u ON u.task_id = j.task_id AND u.team = j.team) "
                + "SELECT MAX(CASE WHEN c.from_last = 1 THEN c.model END), j.at, SUM(c.cost_nanos), j.success, j.score, "
                + "MAX(CASE WHEN c.from_last = 1 THEN c.route END) "
                + "FROM judged j JOIN calls c ON c.team = j.team AND c.task_id = j.task_id "
                + "GROUP BY j.team, j.task_id, j.at, j.success, j.score";
        String calls = "SELECT model, created_at, cost_nanos, CASE WHEN status = 'ok' AND (finish_reason IS NULL OR "
                + "finish_reason NOT IN ('length', 'max_tokens', 'content_filter')) THEN 1 ELSE 0 END, route "
                + "FROM usage_records WHERE route IS NOT NULL AND task_id IS NULL AND created_at >= ? "
                + "AND status <> 'client_cancelled' "
                + "AND NOT (status = 'upstream_error' AND http_status >= 400 AND http_status < 500 AND http_status <> 429) "
                + "ORDER BY created_at DESC LIMIT ?";
        return connections.read("route evidence", c -> {
            List<RouteEvidence> evidence = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement(tasks)) {
                ps.setLong(1, fromMillis);
                ps.setInt(2, limit);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        double score = rs.getDouble(5);
                        Double scored = rs.wasNull() ? null : score;
                        evidence.add(new RouteEvidence(rs.getString(1), rs.getLong(2), rs.getLong(3), rs.getInt(4) == 1,
                                scored, rs.getString(6), true));
                    }
                }
            }
            try (PreparedStatement ps = c.prepareStatement(calls)) {
                ps.setLong(1, fromMillis);
                ps.setInt(2, limit);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        evidence.add(new RouteEvidence(rs.getString(1), rs.getLong(2), rs.getLong(3), rs.getInt(4) == 1,
                                null, rs.getString(5), false));
                    }
                }
            }
            evidence.sort(java.util.Comparator.comparingLong(RouteEvidence::atMillis));
            return evidence;
        });
    }

    // ---- drift references ---------------------------------------------------------------------------

    /** Every stored drift reference. */
    public List<DriftReference> driftReferences() {
        return connections.read("drift references", c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT source, model, from_ms, to_ms, changed_at, note "
                    + "FROM drift_references ORDER BY source, model");
                 ResultSet rs = ps.executeQuery()) {
                List<DriftReference> refs = new ArrayList<>();
                while (rs.next()) {
                    refs.add(new DriftReference(rs.getString(1), rs.getString(2), rs.getLong(3), rs.getLong(4),
                            rs.getLong(5), rs.getString(6)));
                }
                return refs;
            }
        });
    }

    /** Stores a drift reference, replacing the one of the same source and model. */
    public synchronized void saveDriftReference(DriftReference ref) {
        if (closed) {
            throw new IllegalStateException("ledger " + connections.name() + " is closed");
        }
        try {
            writer = LedgerConnections.usable(writer, connections);
            try (PreparedStatement ps = writer.prepareStatement("INSERT INTO drift_references "
                    + "(source, model, from_ms, to_ms, changed_at, note) VALUES (?, ?, ?, ?, ?, ?) "
                    + "ON CONFLICT (source, model) DO UPDATE SET from_ms = excluded.from_ms, to_ms = excluded.to_ms, "
                    + "changed_at = excluded.changed_at, note = excluded.note")) {
                ps.setString(1, ref.source());
                ps.setString(2, ref.model());
                ps.setLong(3, ref.fromMillis());
                ps.setLong(4, ref.toMillis());
                ps.setLong(5, ref.changedAtMillis());
                ps.setString(6, ref.note());
                ps.executeUpdate();
            }
        } catch (SQLException e) {
            LedgerConnections.closeQuietly(writer);
            writer = null;
            throw new IllegalStateException("ledger " + connections.name() + ": saving the drift reference of "
                    + ref.model() + " failed: " + e.getMessage(), e);
        }
    }

    /** Per model and UTC day of arrival, the priced calls that arrived in {@code [fromMillis, toMillis)}. */
    public List<PriceBucket> priceBuckets(long fromMillis, long toMillis) {
        String sql = "SELECT model, created_at / " + DAY_MILLIS + " AS day, COUNT(*), SUM(cost_nanos), "
                + "SUM(input_tokens - cached_input_tokens - cache_write_tokens), SUM(cached_input_tokens), "
                + "SUM(cache_write_tokens), SUM(output_tokens - reasoning_tokens), SUM(reasoning_tokens) "
                + "FROM usage_records WHERE created_at >= ? AND created_at < ? AND cost_nanos > 0 "
                + "GROUP BY model, day ORDER BY model, day";
        return connections.read("price buckets", c -> {
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                ps.setLong(1, fromMillis);
                ps.setLong(2, toMillis);
                List<PriceBucket> rows = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        rows.add(new PriceBucket(rs.getString(1), rs.getLong(2), rs.getLong(3), rs.getLong(4),
                                rs.getLong(5), rs.getLong(6), rs.getLong(7), rs.getLong(8), rs.getLong(9)));
                    }
                }
                return rows;
            }
        });
    }

    /**
     * The common part of the group queries: {@code judged}, one row per task whose last call is in the range,
     * with its sums, the model of its last call and its outcome ({@code success} 1, 0 or NULL). Candidate
     * tasks are found through the range (index on {@code created_at}); their calls, also older ones, through
     * the index on {@code task_id}. Parameters: from, to, [team], to.
     */
    private static String tasksWith(String teamFilter) {
        return "WITH candidates AS (SELECT DISTINCT team, task_id FROM usage_records "
                + "WHERE task_id IS NOT NULL AND created_at >= ? AND created_at < ?"
                + (teamFilter != null ? " AND team = ?" : "") + "), "
                + "calls AS (SELECT u.team, u.task_id, u.model, u.created_at, u.input_tokens, u.output_tokens, "
                + "u.cost_nanos, u.retry, " + TRUNCATED + " AS truncated, "
                + "ROW_NUMBER() OVER (PARTITION BY u.team, u.task_id ORDER BY u.created_at DESC, u.rowid DESC) AS from_last "
                + "FROM candidates k JOIN usage_records u ON u.task_id = k.task_id AND u.team = k.team), "
                + "tasks AS (SELECT team, task_id, MAX(CASE WHEN from_last = 1 THEN model END) AS model, "
                + "MAX(created_at) AS last_at, COUNT(*) AS calls, SUM(retry) AS retries, SUM(truncated) AS truncated, "
                + "SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens, SUM(cost_nanos) AS cost_nanos, "
                + "COALESCE(SUM(CAST(output_tokens AS DOUBLE PRECISION) * output_tokens), 0.0) AS output_sq "
                + "FROM calls GROUP BY team, task_id HAVING MAX(created_at) < ?), "
                + "judged AS (SELECT t.*, o.success AS success FROM tasks t "
                + "LEFT JOIN task_outcomes o ON o.team = t.team AND o.task_id = t.task_id) ";
    }

    private static int bindTasks(PreparedStatement ps, long fromMillis, long toMillis, String teamFilter)
            throws SQLException {
        int i = 1;
        ps.setLong(i++, fromMillis);
        ps.setLong(i++, toMillis);
        if (teamFilter != null) {
            ps.setString(i++, teamFilter);
        }
        ps.setLong(i++, toMillis);
        return i;
    }

    synchronized void close() {
        closed = true;
        LedgerConnections.closeQuietly(writer);
        writer = null;
    }
}
