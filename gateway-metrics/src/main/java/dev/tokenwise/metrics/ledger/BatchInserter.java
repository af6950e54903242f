package dev.tokenwise.metrics.ledger;

import dev.tokenwise.core.model.UsageRecord;
import java.sql.SQLException;
import java.util.List;
import java.util.function.Consumer;

/**
 * The SQL half of the {@link LedgerWriter}: writes one batch of records in one transaction on a connection it keeps
 * between batches. The writer owns the queue, the retries and the commit waiters; an inserter is called only from
 * the writer thread.
 */
interface BatchInserter {
    /**
     * Inserts {@code batch} and commits, opening a connection first if there is none. A record the database already
     * holds (a batch retried after a commit that reported failure but happened) is kept as stored and logged.
     *
     * @param beforeBind sees each record just before its row is bound
     * @throws SQLException when the database fails; the writer then calls {@link #discard} and retries the batch
     */
    void insert(List<UsageRecord> batch, Consumer<UsageRecord> beforeBind) throws SQLException;

    /** Rolls back and closes the connection after a failure; the next {@link #insert} opens a new one. */
    void discard();

    /** The ledger, as log lines and errors name it. */
    String name();
}
