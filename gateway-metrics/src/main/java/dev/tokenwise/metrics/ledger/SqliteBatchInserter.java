package dev.tokenwise.metrics.ledger;

import dev.tokenwise.core.model.UsageRecord;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes batches of records into the SQLite ledger's {@code usage_rows} (and {@code names}, for a text seen first):
 * calls without a task {@value #VALUES_ROWS} rows to a statement, calls with a task one by one, in order, as each
 * one's retry flag looks for earlier rows of its task ({@link UsageRecordRows}). Each transaction holds the
 * checkpointer off ({@link LedgerConnections#writerTurn}).
 */
final class SqliteBatchInserter implements BatchInserter {
    private static final Logger log = LoggerFactory.getLogger(SqliteLedger.class);
    /** Rows of calls without a task per execution of {@link #insertValuesMany}. */
    static final int VALUES_ROWS = 16;

    private final LedgerConnections connections;
    private final NameIds names = new NameIds();
    private Connection connection;
    private PreparedStatement insert;
    private PreparedStatement insertValues;
    private PreparedStatement insertValuesMany;

    SqliteBatchInserter(LedgerConnections connections) {
        this.connections = connections;
    }

    @Override
    public String name() {
        return connections.file().toString();
    }

    @Override
    public void insert(List<UsageRecord> batch, Consumer<UsageRecord> beforeBind) throws SQLException {
        if (connection == null) {
            Connection c = connections.open();
            try {
                // Cheap when the schema is there; recreates it if the file was deleted under us.
                LedgerSchema.ensure(c, connections.file());
                c.setAutoCommit(false);
                insert = c.prepareStatement(UsageRecordRows.INSERT);
                insertValues = c.prepareStatement(UsageRecordRows.insertValues(1));
                insertValuesMany = c.prepareStatement(UsageRecordRows.insertValues(VALUES_ROWS));
                names.use(c);
            } catch (Throwable e) {
                LedgerConnections.closeQuietly(c);
                throw e;
            }
            connection = c;
        }
        // Calls without a task, VALUES_ROWS to a statement; then calls with a task one by one, in order, as each one's
        // retry flag looks for earlier rows of its task (rows without a task never match that lookup).
        List<UsageRecord> plain = new ArrayList<>(batch.size());
        List<UsageRecord> tasks = new ArrayList<>();
        for (UsageRecord record : batch) {
            (record.taskId() == null ? plain : tasks).add(record);
        }
        int grouped = plain.size() / VALUES_ROWS * VALUES_ROWS;
        int[] groupCounts;
        int[] plainCounts;
        int[] taskCounts;
        // The whole transaction, as a text new to the names table is inserted while the rows are bound.
        ReentrantLock turn = connections.writerTurn();
        turn.lock();
        try {
            for (int start = 0; start < grouped; start += VALUES_ROWS) {
                for (int j = 0; j < VALUES_ROWS; j++) {
                    beforeBind.accept(plain.get(start + j));
                    UsageRecordRows.bindValues(insertValuesMany, 1 + j * (UsageRecordRows.COLUMN_COUNT + 1),
                            plain.get(start + j), names);
                }
                insertValuesMany.addBatch();
            }
            for (int k = grouped; k < plain.size(); k++) {
                beforeBind.accept(plain.get(k));
                UsageRecordRows.bindValues(insertValues, 1, plain.get(k), names);
                insertValues.addBatch();
            }
            for (UsageRecord record : tasks) {
                beforeBind.accept(record);
                UsageRecordRows.bind(insert, record, names);
                insert.addBatch();
            }
            groupCounts = grouped > 0 ? insertValuesMany.executeBatch() : new int[0];
            plainCounts = grouped < plain.size() ? insertValues.executeBatch() : new int[0];
            taskCounts = tasks.isEmpty() ? new int[0] : insert.executeBatch();
            connection.commit();
        } finally {
            turn.unlock();
        }
        for (int g = 0; g < groupCounts.length; g++) {
            if (groupCounts[g] < VALUES_ROWS) {
                List<String> ids = plain.subList(g * VALUES_ROWS, (g + 1) * VALUES_ROWS).stream().map(UsageRecord::id).toList();
                log.warn("Usage ledger {} already holds {} of the records with ids {}: the stored rows were kept",
                        connections.file(), VALUES_ROWS - groupCounts[g], ids);
            }
        }
        warnKept(plainCounts, plain.subList(grouped, plain.size()));
        warnKept(taskCounts, tasks);
    }

    private void warnKept(int[] counts, List<UsageRecord> rows) {
        for (int i = 0; i < counts.length; i++) {
            if (counts[i] == 0) {
                log.warn("Usage ledger {} already holds a record with id {}: the stored row was kept",
                        connections.file(), rows.get(i).id());
            }
        }
    }

    @Override
    public void discard() {
        if (connection == null) {
            return;
        }
        try {
            connection.rollback();
        } catch (SQLException ignored) {
            // the connection is closed next; SQLite rolls back an open transaction on close anyway
        }
        names.forget(); // a text inserted by the failed transaction was rolled back with it
        LedgerConnections.closeQuietly(insert);
        LedgerConnections.closeQuietly(insertValues);
        LedgerConnections.closeQuietly(insertValuesMany);
        LedgerConnections.closeQuietly(connection);
        insert = null;
        insertValues = null;
        insertValuesMany = null;
        connection = null;
    }
}
