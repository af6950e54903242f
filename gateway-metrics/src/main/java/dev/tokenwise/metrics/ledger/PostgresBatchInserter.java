package dev.tokenwise.metrics.ledger;

import dev.tokenwise.core.model.UsageRecord;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;
import org.postgresql.copy.CopyManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes batches of records into PostgreSQL's {@code usage_records}, one transaction per batch. Calls without a task
 * go through one {@code COPY ... FROM STDIN} ({@link PostgresCopyText}), about a third cheaper for the server per row
 * than multi-row {@code INSERT}s; calls with a task are inserted one by one after them, in order, because each one's
 * {@code retry} flag looks for an earlier row of its task with the same requested model and prompt (rows of the same
 * batch included, as the statements run in order in one transaction); the definition is {@link UsageRecordRows}'s.
 *
 * <p>A row whose id is already stored is kept as stored, exactly once, although {@code COPY} cannot skip a row:
 * <ul>
 *   <li>a batch whose commit outcome is unknown (the commit failed: the connection may have been lost after the
 *   server committed) is retried, on a new connection, with only the records whose ids the table does not hold
 *   ({@code SELECT id ... WHERE id = ANY(?)}); a batch that failed before its commit is retried whole;</li>
 *   <li>a {@code COPY} that fails on the primary key all the same (a commit of that batch still in flight on the old
 *   connection, an id another instance stored, one id twice in a batch) is rolled back and sent again without the
 *   stored ids and the later duplicates;</li>
 *   <li>calls with a task keep {@code INSERT ... ON CONFLICT (id) DO NOTHING}.</li>
 * </ul>
 * Each record left out so is logged.
 */
final class PostgresBatchInserter implements BatchInserter {
    private static final Logger log = LoggerFactory.getLogger(PostgresLedger.class);

    static final String COLUMNS = "id, created_at, team, key_id, model, provider, endpoint, stream, status, http_status, "
            + "input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, "
            + "usage_from_provider, local_input_tokens, local_output_tokens, local_estimated, cost_nanos, "
            + "task_id, task_attempt, finish_reason, latency_micros, upstream_latency_micros, ttft_micros, prompt_hash, "
            + "requested_model, attempts, flags, cache_write_1h_tokens, price_version, cache, saved_nanos, "
            + "prompt_cache_saved_nanos, route, route_reason, instance_id, retry";
    private static final int COLUMN_COUNT = 39;

    /** The retry flag decided by the database: parameters retry by attempt (0/1), task id, team, requested model, hash. */
    static final String INSERT_TASK = "INSERT INTO usage_records (" + COLUMNS + ") SELECT "
            + "?, ".repeat(COLUMN_COUNT - 1)
            + "CASE WHEN ? = 1 THEN 1 WHEN ?::bigint = 0 THEN 0 WHEN EXISTS (SELECT 1 FROM usage_records p "
            + "WHERE p.task_id = ? AND p.team IS NOT DISTINCT FROM ? "
            + "AND COALESCE(p.requested_model, p.model) IS NOT DISTINCT FROM ? AND p.prompt_hash = ?) THEN 1 ELSE 0 END "
            + "ON CONFLICT (id) DO NOTHING";

    /** The rows of calls without a task, in the text format of {@link PostgresCopyText}. */
    static final String COPY = "COPY usage_records (" + COLUMNS + ") FROM STDIN";

    static final String STORED = "SELECT id FROM usage_records WHERE id = ANY(?)";

    /** The SQLSTATE of a unique violation. */
    private static final String UNIQUE_VIOLATION = "23505";

    private final PostgresConnections connections;
    /** Wraps each connection the inserter opens: the identity, or a test's stand-in for a network fault. */
    private final UnaryOperator<Connection> wrap;
    private final PostgresCopyText copyText = new PostgresCopyText();
    private Connection connection;
    private CopyManager copy;
    private PreparedStatement insertTask;
    /** Whether the last batch's commit failed, so that it may or may not have happened. */
    private boolean outcomeUnknown;

    PostgresBatchInserter(PostgresConnections connections) {
        this(connections, UnaryOperator.identity());
    }

    PostgresBatchInserter(PostgresConnections connections, UnaryOperator<Connection> wrap) {
        this.connections = connections;
        this.wrap = wrap;
    }

    @Override
    public String name() {
        return connections.name();
    }

    @Override
    public void insert(List<UsageRecord> batch, Consumer<UsageRecord> beforeBind) throws SQLException {
        if (connection == null) {
            Connection c = wrap.apply(connections.open());
            try {
                c.setAutoCommit(false);
                copy = c.unwrap(PGConnection.class).getCopyAPI();
                insertTask = c.prepareStatement(INSERT_TASK);
            } catch (Throwable e) {
                LedgerConnections.closeQuietly(c);
                throw e;
            }
            connection = c;
        }
        List<UsageRecord> plain = new ArrayList<>(batch.size());
        List<UsageRecord> tasks = new ArrayList<>();
        for (UsageRecord record : batch) {
            (record.taskId() == null ? plain : tasks).add(record);
        }
        if (outcomeUnknown) {
            plain = withoutStored(plain, "its commit's outcome was unknown");
        }
        copyText.clear();
        for (UsageRecord record : plain) {
            beforeBind.accept(record);
            copyText.add(record, UsageRecordRows.retriedByAttempt(record));
        }
        for (UsageRecord record : tasks) {
            beforeBind.accept(record);
            int i = bindColumns(insertTask, record);
            insertTask.setInt(i++, UsageRecordRows.retriedByAttempt(record) ? 1 : 0);
            insertTask.setLong(i++, record.promptHash());
            insertTask.setString(i++, record.taskId());
            insertTask.setString(i++, record.team());
            insertTask.setString(i++, record.requestedModel());
            insertTask.setLong(i, record.promptHash());
            insertTask.addBatch();
        }
        if (!plain.isEmpty()) {
            copyPlain(plain);
        }
        int[] taskCounts = tasks.isEmpty() ? new int[0] : insertTask.executeBatch();
        try {
            connection.commit();
        } catch (SQLException e) {
            outcomeUnknown = true; // sent, maybe made: the retry asks the table what it holds
            throw e;
        }
        outcomeUnknown = false;
        warnKept(taskCounts, tasks);
    }

    /**
     * Copies the lines of {@code plain} ({@link #copyText}); when a row's id is already stored, rolls back and copies
     * again without the stored ones and the later records of an id twice in {@code plain}. The tasks' statements are
     * batched, not sent, so a rollback loses none of them.
     */
    private void copyPlain(List<UsageRecord> plain) throws SQLException {
        byte[] lines = copyText.bytes();
        try {
            copyIn(lines);
        } catch (SQLException e) {
            if (!UNIQUE_VIOLATION.equals(e.getSQLState())) {
                throw e;
            }
            connection.rollback();
            List<UsageRecord> rest = withoutStored(plain, "its id was already stored");
            copyText.clear();
            for (UsageRecord record : rest) {
                copyText.add(record, UsageRecordRows.retriedByAttempt(record));
            }
            if (!rest.isEmpty()) {
                copyIn(copyText.bytes());
            }
        }
    }

    private void copyIn(byte[] lines) throws SQLException {
        CopyIn in = copy.copyIn(COPY);
        try {
            in.writeToCopy(lines, 0, lines.length);
            in.endCopy();
        } finally {
            if (in.isActive()) {
                in.cancelCopy();
            }
        }
    }

    /**
     * {@code records} without those whose ids the table holds, nor the later records of an id that comes twice;
     * each record left out is logged.
     */
    private List<UsageRecord> withoutStored(List<UsageRecord> records, String why) throws SQLException {
        Set<String> stored = new HashSet<>();
        if (!records.isEmpty()) {
            String[] ids = new String[records.size()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = records.get(i).id();
            }
            try (PreparedStatement ps = connection.prepareStatement(STORED)) {
                ps.setArray(1, connection.createArrayOf("text", ids));
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        stored.add(rs.getString(1));
                    }
                }
            }
        }
        List<UsageRecord> rest = new ArrayList<>(records.size());
        Set<String> seen = new HashSet<>();
        int kept = 0;
        for (UsageRecord record : records) {
            if (stored.contains(record.id()) || !seen.add(record.id())) {
                kept++;
                log.warn("Usage ledger {} already holds a record with id {}: the stored row was kept", name(),
                        record.id());
            } else {
                rest.add(record);
            }
        }
        if (kept > 0) {
            log.info("Usage ledger {}: {} of a batch's {} records were already stored ({}) and were not written again",
                    name(), kept, records.size(), why);
        }
        return rest;
    }

    private void warnKept(int[] counts, List<UsageRecord> rows) {
        // A rewritten multi-row statement reports SUCCESS_NO_INFO (-2) per row: nothing to tell then.
        for (int i = 0; i < counts.length && i < rows.size(); i++) {
            if (counts[i] == 0) {
                log.warn("Usage ledger {} already holds a record with id {}: the stored row was kept", name(),
                        rows.get(i).id());
            }
        }
    }

    /** Binds the columns of {@link #COLUMNS} but {@code retry}, names as text; returns the next parameter's index. */
    private static int bindColumns(PreparedStatement ps, UsageRecord r) throws SQLException {
        return UsageRecordRows.bindColumns(ps, 1, r, PreparedStatement::setString);
    }

    @Override
    public void discard() {
        if (connection == null) {
            return;
        }
        try {
            connection.rollback();
        } catch (SQLException ignored) {
            // the connection is closed next, which ends its transaction
        }
        LedgerConnections.closeQuietly(insertTask);
        LedgerConnections.closeQuietly(connection);
        copy = null;
        insertTask = null;
        connection = null;
    }
}
