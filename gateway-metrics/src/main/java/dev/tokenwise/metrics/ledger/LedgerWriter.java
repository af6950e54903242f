package dev.tokenwise.metrics.ledger;

import dev.tokenwise.core.model.UsageRecord;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The single writer of {@code usage_rows} (and of {@code names}, for a text seen first): a bounded queue drained
 * by one thread in batched transactions.
 *
 * <p>Implementation note: {@link #accept} (one dispatcher thread) counts the record in {@code accepted}
 * and then puts it in the queue, blocking only that thread when the queue is full. The writer thread
 * takes whatever is queued, up to {@code batchSize}, inserts it with one prepared statement and commits.
 * Records are committed in the order they were accepted, so "every record accepted before a given moment
 * is durable" is simply {@code committed >= accepted-at-that-moment}, which is what {@link #flush} waits
 * for. A batch that fails (locked file, full disk, I/O error) stays in the writer's hands and is retried
 * whole on a fresh connection after a pause that doubles up to {@code maxBackoffMillis}; meanwhile
 * records keep queueing, so nothing is dropped: at worst the queue fills and the dispatcher waits. The
 * failure is visible through {@link #healthy}, {@link #lastError} and {@link #pendingRecords}, and logged
 * once when it starts and once when it ends.
 *
 * <p>Group commit: a commit costs far more than a row (every touched page of the table and its indexes is
 * written to the WAL), so the writer starts a transaction at most every {@link #GROUP_NANOS} (20 ms; 1 ms in
 * strict mode, where each response's last bytes wait for its commit): a record that arrives sooner than that
 * after the last commit waits for the rest of the interval together with those that follow it. When calls
 * are rarer than that, nothing waits; under load, one commit carries many rows. A backlog of a full batch or
 * more is written at once, without the wait.
 */
final class LedgerWriter {
    private static final Logger log = LoggerFactory.getLogger(SqliteLedger.class);
    private static final long POLL_MILLIS = 100;
    /** The shortest time between the starts of two transactions ({@code storage.sync: normal}). */
    static final long GROUP_NANOS = TimeUnit.MILLISECONDS.toNanos(20);
    /** The same in strict mode, where a response's last bytes wait for the commit. */
    static final long STRICT_GROUP_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

    private final LedgerConnections connections;
    private final LedgerSettings settings;
    private final BlockingQueue<UsageRecord> queue;
    private final Thread thread;
    private final AtomicLong accepted = new AtomicLong();
    private final ConcurrentHashMap<String, CompletableFuture<Void>> commitWaiters = new ConcurrentHashMap<>();
    private final Object progress = new Object();
    /** Records committed; written by the writer thread only, under {@code progress}. */
    private volatile long committed;
    private volatile long batchesCommitted;
    private volatile int largestBatch;
    private volatile boolean healthy = true;
    private volatile String lastError;
    private volatile boolean closing;
    private volatile long closeDeadlineNanos;

    // Confined to the writer thread.
    private Connection connection;
    private PreparedStatement insert;
    private PreparedStatement insertValues;
    private PreparedStatement insertValuesMany;
    private final NameIds names = new NameIds();
    /** Rows of calls without a task per execution of {@link #insertValuesMany}. */
    static final int VALUES_ROWS = 16;
    private long failingSinceNanos;
    private final long groupNanos;
    private long lastCommitNanos = System.nanoTime() - GROUP_NANOS;

    LedgerWriter(LedgerConnections connections, LedgerSettings settings) {
        this.groupNanos = settings.groupCommitMillis() > 0 ? TimeUnit.MILLISECONDS.toNanos(settings.groupCommitMillis())
                : connections.sync() == SqliteLedger.Sync.STRICT ? STRICT_GROUP_NANOS : GROUP_NANOS;
        this.connections = connections;
        this.settings = settings;
        this.queue = new ArrayBlockingQueue<>(settings.queueCapacity());
        this.thread = new Thread(this::run, "tokenwise-ledger-writer");
        this.thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    /** Queues a record; blocks the caller only while the queue is full. Never drops it. */
    void accept(UsageRecord record) {
        if (closing) {
            throw new IllegalStateException("ledger " + connections.file() + " is closed: record " + record.id()
                    + " was not written");
        }
        accepted.incrementAndGet();
        boolean interrupted = false;
        while (true) {
            try {
                queue.put(record);
                break;
            } catch (InterruptedException e) {
                interrupted = true; // the record is counted as accepted: it must reach the queue
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** A future completed (on the writer thread) when the record with this id is committed. */
    CompletableFuture<Void> whenCommitted(String id) {
        CompletableFuture<Void> waiter = new CompletableFuture<>();
        CompletableFuture<Void> existing = commitWaiters.putIfAbsent(id, waiter);
        if (existing != null) {
            return existing;
        }
        waiter.whenComplete((ignored, error) -> commitWaiters.remove(id, waiter)); // a cancelled waiter leaves the map
        if (closing && !thread.isAlive()) {
            failWaiters();
        }
        return waiter;
    }

    /** Waits until every record accepted before this call is committed; {@code false} on timeout. */
    boolean flush(Duration timeout) {
        long target = accepted.get();
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (progress) {
            while (committed < target) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(progress, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return committed >= target;
                }
            }
        }
        return true;
    }

    boolean healthy() {
        return healthy;
    }

    String lastError() {
        return lastError;
    }

    long pendingRecords() {
        return accepted.get() - committed;
    }

    long committedRecords() {
        return committed;
    }

    long batchesCommitted() {
        return batchesCommitted;
    }

    int largestBatch() {
        return largestBatch;
    }

    /** Stops intake, lets the writer commit everything queued (retrying up to the close timeout), then returns. */
    void close() {
        closeDeadlineNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(settings.closeTimeoutMillis());
        closing = true;
        long waitMillis = settings.closeTimeoutMillis() + settings.busyTimeoutMillis() + settings.maxBackoffMillis()
                + POLL_MILLIS + 1_000;
        try {
            thread.join(waitMillis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (thread.isAlive()) {
            log.error("Usage ledger {}: the writer did not stop within {} ms; {} records not written (last error: {})",
                    connections.file(), waitMillis, pendingRecords(), lastError);
        }
    }

    private void run() {
        try {
            writeUntilClosed();
        } catch (Throwable t) {
            lastError = "writer thread died: " + t;
            healthy = false;
            log.error("Usage ledger {}: the writer thread died; {} records not written", connections.file(),
                    pendingRecords(), t);
            throw t;
        } finally {
            discardConnection();
            failWaiters();
        }
    }

    private void failWaiters() {
        for (String id : commitWaiters.keySet()) {
            CompletableFuture<Void> waiter = commitWaiters.remove(id);
            if (waiter != null) {
                waiter.completeExceptionally(new IllegalStateException("ledger " + connections.file()
                        + " closed before record " + id + " was committed"));
            }
        }
    }

    private void writeUntilClosed() {
        List<UsageRecord> batch = new ArrayList<>(settings.batchSize());
        long backoffMillis = settings.initialBackoffMillis();
        while (true) {
            if (batch.isEmpty()) {
                UsageRecord first = poll();
                if (first == null) {
                    if (closing && queue.isEmpty()) {
                        return;
                    }
                    continue;
                }
                batch.add(first);
                long early = lastCommitNanos + groupNanos - System.nanoTime();
                // A full batch waiting is a backlog: no reason to wait, and waiting would cap the writer at
                // batchSize rows per interval (25,000 rows/s at 500 and 20 ms).
                if (early > 0 && !closing && queue.size() < settings.batchSize() - 1) {
                    LockSupport.parkNanos(this, early); // gathers the group that arrives meanwhile
                }
                queue.drainTo(batch, settings.batchSize() - 1);
            }
            try {
                write(batch);
            } catch (SQLException | RuntimeException e) {
                discardConnection();
                failed(e);
                if (closing && System.nanoTime() - closeDeadlineNanos >= 0) {
                    log.error("Usage ledger {}: closing with {} records not written after retrying for {} ms (last error: {})",
                            connections.file(), pendingRecords(), settings.closeTimeoutMillis(), lastError);
                    return;
                }
                pause(backoffMillis);
                backoffMillis = Math.min(backoffMillis * 2, settings.maxBackoffMillis());
                continue;
            }
            batch.clear();
            backoffMillis = settings.initialBackoffMillis();
        }
    }

    private UsageRecord poll() {
        try {
            return queue.poll(POLL_MILLIS, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            return null; // stopping is driven by the closing flag, not by interrupts
        }
    }

    private void write(List<UsageRecord> batch) throws SQLException {
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
            } catch (SQLException | RuntimeException e) {
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
                    UsageRecordRows.bindValues(insertValuesMany, 1 + j * (UsageRecordRows.COLUMN_COUNT + 1),
                            plain.get(start + j), names);
                }
                insertValuesMany.addBatch();
            }
            for (int k = grouped; k < plain.size(); k++) {
                UsageRecordRows.bindValues(insertValues, 1, plain.get(k), names);
                insertValues.addBatch();
            }
            for (UsageRecord record : tasks) {
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
        lastCommitNanos = System.nanoTime();
        if (!healthy) {
            recovered(batch.size()); // before waiters wake, so a flush that returns sees the writer healthy
        }
        synchronized (progress) {
            committed += batch.size();
            batchesCommitted++;
            largestBatch = Math.max(largestBatch, batch.size());
            progress.notifyAll();
        }
        if (!commitWaiters.isEmpty()) {
            for (UsageRecord record : batch) {
                CompletableFuture<Void> waiter = commitWaiters.remove(record.id());
                if (waiter != null) {
                    waiter.complete(null);
                }
            }
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

    private void failed(Exception e) {
        String message = e.getMessage() != null ? e.getMessage() : e.getClass().getName();
        lastError = message;
        if (healthy) {
            failingSinceNanos = System.nanoTime();
            healthy = false;
            log.warn("Usage ledger {} cannot write ({}): keeping {} records in memory and retrying",
                    connections.file(), message, pendingRecords());
        } else {
            log.debug("Usage ledger {} still cannot write: {}", connections.file(), message);
        }
    }

    private void recovered(int written) {
        long failedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - failingSinceNanos);
        healthy = true;
        lastError = null;
        log.info("Usage ledger {} writes again after {} ms of failures ({} records written, {} pending)",
                connections.file(), failedMillis, written, pendingRecords());
    }

    private void discardConnection() {
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

    private static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException ignored) {
            // stopping is driven by the closing flag
        }
    }
}
