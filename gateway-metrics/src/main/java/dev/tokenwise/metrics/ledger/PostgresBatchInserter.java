package dev.tokenwise.metrics.ledger;

import dev.tokenwise.core.model.UsageRecord;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes batches of records into PostgreSQL's {@code usage_records}, one transaction per batch. Calls without a task
 * go through one batched {@code INSERT ... VALUES} that pgjdbc's {@code reWriteBatchedInserts} sends as multi-row
 * statements; calls with a task are inserted one by one after them, in order, because each one's {@code retry} flag
 * looks for an earlier row of its task with the same requested model and prompt (rows of the same batch included, as
 * the statements run in order in one transaction); the definition is {@link UsageRecordRows}'s. A row whose id is
 * already stored (a batch retried after a commit that was reported failed but happened) is kept as stored.
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

    static final String INSERT_VALUES = "INSERT INTO usage_records (" + COLUMNS + ") VALUES ("
            + "?, ".repeat(COLUMN_COUNT - 1) + "?) ON CONFLICT (id) DO NOTHING";

    /** The retry flag decided by the database: parameters retry by attempt (0/1), task id, team, requested model, hash. */
    static final String INSERT_TASK = "INSERT INTO usage_records (" + COLUMNS + ") SELECT "
            + "?, ".repeat(COLUMN_COUNT - 1)
            + "CASE WHEN ? = 1 THEN 1 WHEN ?::bigint = 0 THEN 0 WHEN EXISTS (SELECT 1 FROM usage_records p "
            + "WHERE p.task_id = ? AND p.team IS NOT DISTINCT FROM ? "
            + "AND COALESCE(p.requested_model, p.model) IS NOT DISTINCT FROM ? AND p.prompt_hash = ?) THEN 1 ELSE 0 END "
            + "ON CONFLICT (id) DO NOTHING";

    private final PostgresConnections connections;
    private Connection connection;
    private PreparedStatement insertValues;
    private PreparedStatement insertTask;

    PostgresBatchInserter(PostgresConnections connections) {
        this.connections = connections;
    }

    @Override
    public String name() {
        return connections.name();
    }

    @Override
    public void insert(List<UsageRecord> batch, Consumer<UsageRecord> beforeBind) throws SQLException {
        if (connection == null) {
            Connection c = connections.open();
            try {
                c.setAutoCommit(false);
                insertValues = c.prepareStatement(INSERT_VALUES);
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
        for (UsageRecord record : plain) {
            beforeBind.accept(record);
            int i = bindColumns(insertValues, record);
            insertValues.setInt(i, UsageRecordRows.retriedByAttempt(record) ? 1 : 0);
            insertValues.addBatch();
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
        int[] plainCounts = plain.isEmpty() ? new int[0] : insertValues.executeBatch();
        int[] taskCounts = tasks.isEmpty() ? new int[0] : insertTask.executeBatch();
        connection.commit();
        warnKept(plainCounts, plain);
        warnKept(taskCounts, tasks);
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
        LedgerConnections.closeQuietly(insertValues);
        LedgerConnections.closeQuietly(insertTask);
        LedgerConnections.closeQuietly(connection);
        insertValues = null;
        insertTask = null;
        connection = null;
    }
}
