package dev.tokenwise.metrics.ledger;

import dev.tokenwise.core.model.UsageRecord;
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
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The single writer of the ledger's records: a bounded queue drained by one thread in batched transactions, each
 * written by a {@link BatchInserter} (the SQL of one store: {@link SqliteBatchInserter}, {@link PostgresBatchInserter}).
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
 *
 * <p>One record never stops the others. A batch that fails with anything but an {@link SQLException} (a
 * {@link RuntimeException} or an {@link Error} such as {@link OutOfMemoryError} while its rows are bound) may be one
 * record's doing, so it is written again one record at a time: each record gets {@value #RECORD_ATTEMPTS} tries,
 * and one that fails them all is left out, logged with its id and counted in {@link #rejectedRecords}; its commit
 * waiter fails. The database failing ({@link SQLException}) is not a record's doing: the records wait for it as
 * before. Only an {@link InternalError} or {@link UnknownError} (the JVM itself in doubt) ends the writer; it then
 * says so at once through {@link #stoppedReason}, which also reports a writer that made no progress for longer
 * than the stall limit while records waited. A writer that keeps failing and retrying is unhealthy, not stopped.
 */
final class LedgerWriter {
    private static final Logger log = LoggerFactory.getLogger(Ledger.class);
    private static final long POLL_MILLIS = 100;
    /** The shortest time between the starts of two transactions ({@code storage.sync: normal}). */
    static final long GROUP_NANOS = TimeUnit.MILLISECONDS.toNanos(20);
    /** The same in strict mode, where a response's last bytes wait for the commit. */
    static final long STRICT_GROUP_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

    /** Tries of one record written on its own before it is left out. */
    static final int RECORD_ATTEMPTS = 3;

    private final BatchInserter inserter;
    /** The ledger, as log lines and errors name it. */
    private final String name;
    private final LedgerSettings settings;
    /** Sees each record just before its row is bound: a seam for tests, a no-op otherwise. */
    private final Consumer<UsageRecord> beforeBind;
    private final BlockingQueue<UsageRecord> queue;
    private final Thread thread;
    private final AtomicLong accepted = new AtomicLong();
    private final ConcurrentHashMap<String, CompletableFuture<Void>> commitWaiters = new ConcurrentHashMap<>();
    private final Object progress = new Object();
    /** Records committed; written by the writer thread only, under {@code progress}. */
    private volatile long committed;
    /** Records left out because writing them failed on their own; written by the writer thread only, under {@code progress}. */
    private volatile long rejected;
    /** When the writer last committed, failed an attempt or found nothing to write ({@link System#nanoTime}). */
    private volatile long lastProgressNanos = System.nanoTime();
    /** What ended the writer thread, {@code null} while it runs or after it ended normally. */
    private volatile Throwable death;
    private volatile long batchesCommitted;
    private volatile int largestBatch;
    private volatile boolean healthy = true;
    private volatile String lastError;
    private volatile boolean closing;
    private volatile long closeDeadlineNanos;

    private long failingSinceNanos;
    private final long groupNanos;
    private long lastCommitNanos = System.nanoTime() - GROUP_NANOS;

    LedgerWriter(LedgerConnections connections, LedgerSettings settings) {
        this(connections, settings, record -> {
        });
    }

    LedgerWriter(LedgerConnections connections, LedgerSettings settings, Consumer<UsageRecord> beforeBind) {
        this(new SqliteBatchInserter(connections), connections.sync() == SqliteLedger.Sync.STRICT, settings, beforeBind);
    }

    /**
     * @param strict whether a response's last bytes wait for its commit ({@code storage.sync: strict}): a shorter
     *               group commit interval
     */
    LedgerWriter(BatchInserter inserter, boolean strict, LedgerSettings settings, Consumer<UsageRecord> beforeBind) {
        this.beforeBind = beforeBind;
        this.groupNanos = settings.groupCommitMillis() > 0 ? TimeUnit.MILLISECONDS.toNanos(settings.groupCommitMillis())
                : strict ? STRICT_GROUP_NANOS : GROUP_NANOS;
        this.inserter = inserter;
        this.name = inserter.name();
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
            throw new IllegalStateException("ledger " + name + " is closed: record " + record.id()
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

    /**
     * Waits until every record accepted before this call is committed, or left out as one that cannot be written
     * ({@link #rejectedRecords}); {@code false} on timeout.
     */
    boolean flush(Duration timeout) {
        long target = accepted.get();
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (progress) {
            while (committed + rejected < target) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(progress, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return committed + rejected >= target;
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
        return accepted.get() - committed - rejected;
    }

    /** Records left out because writing them failed on their own, since the writer started. */
    long rejectedRecords() {
        return rejected;
    }

    /**
     * Why the writer no longer writes, or {@code null} while it does: its thread ended before {@link #close}, or it
     * made no progress for longer than the stall limit while records waited. Volatile reads and, while records
     * wait, the clock.
     */
    String stoppedReason() {
        Throwable dead = death;
        if (dead != null) {
            return "the ledger writer stopped on " + dead + " (" + pendingRecords() + " records not written)";
        }
        long pending = pendingRecords();
        if (pending > 0 && !closing) {
            long idleNanos = System.nanoTime() - lastProgressNanos;
            if (idleNanos > TimeUnit.MILLISECONDS.toNanos(settings.stallMillis())) {
                return "the ledger writer has made no progress for " + TimeUnit.NANOSECONDS.toSeconds(idleNanos)
                        + " s (" + pending + " records not written)";
            }
        }
        return null;
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
                    name, waitMillis, pendingRecords(), lastError);
        }
    }

    private void run() {
        try {
            writeUntilClosed();
        } catch (Throwable t) {
            death = t;
            lastError = "writer thread died: " + t;
            healthy = false;
            log.error("Usage ledger {}: the writer thread died; {} records not written", name,
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
                waiter.completeExceptionally(new IllegalStateException("ledger " + name
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
                    lastProgressNanos = System.nanoTime(); // nothing to write is not a stall
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
                writeIsolatingFailures(batch);
            } catch (SQLException e) {
                discardConnection();
                failed(e);
                if (closing && System.nanoTime() - closeDeadlineNanos >= 0) {
                    log.error("Usage ledger {}: closing with {} records not written after retrying for {} ms (last error: {})",
                            name, pendingRecords(), settings.closeTimeoutMillis(), lastError);
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

    /**
     * Writes {@code batch} and empties it; when that fails other than by the database, maybe by one record's doing,
     * writes it one record at a time (see the class comment).
     */
    private void writeIsolatingFailures(List<UsageRecord> batch) throws SQLException {
        try {
            write(batch);
            batch.clear();
        } catch (SQLException | InternalError | UnknownError e) {
            throw e;
        } catch (Throwable e) {
            discardConnection();
            writeOneByOne(batch, e);
        }
    }

    /**
     * Writes {@code batch} one record to a transaction, in order, removing each once it is committed or left out;
     * an {@link SQLException} (the database, not the record) leaves the rest of the batch for the usual retries.
     */
    private void writeOneByOne(List<UsageRecord> batch, Throwable batchFailure) throws SQLException {
        quietly(() -> log.warn("Usage ledger {}: a batch of {} records failed ({}); writing them one by one",
                name, batch.size(), batchFailure.toString()));
        while (!batch.isEmpty()) {
            UsageRecord record = batch.get(0);
            Throwable failure = null;
            for (int attempt = 1; attempt <= RECORD_ATTEMPTS; attempt++) {
                try {
                    write(List.of(record));
                    failure = null;
                    break;
                } catch (InternalError | UnknownError | SQLException e) {
                    throw e;
                } catch (Throwable e) {
                    failure = e;
                    discardConnection();
                    if (attempt < RECORD_ATTEMPTS) {
                        pause(settings.initialBackoffMillis() * attempt);
                    }
                }
            }
            if (failure != null) {
                reject(record, failure);
            }
            batch.remove(0);
        }
    }

    /** Leaves out a record that could not be written on its own, tries after tries. */
    private void reject(UsageRecord record, Throwable failure) {
        synchronized (progress) {
            rejected++;
            progress.notifyAll();
        }
        lastProgressNanos = System.nanoTime();
        CompletableFuture<Void> waiter = commitWaiters.remove(record.id());
        if (waiter != null) {
            waiter.completeExceptionally(new IllegalStateException("record " + record.id()
                    + " could not be written to ledger " + name + ": " + failure));
        }
        quietly(() -> log.error("Usage ledger {}: record {} could not be written after {} tries and is left out "
                + "(team {}, cost {} nano-USD)", name, record.id(), RECORD_ATTEMPTS, record.team(),
                record.costNanos(), failure));
    }

    /** Logs, unless even that fails (out of memory for the message): the state says it anyway. */
    private static void quietly(Runnable logging) {
        try {
            logging.run();
        } catch (Throwable ignored) {
            // nothing left to tell it with
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
        inserter.insert(batch, beforeBind);
        lastCommitNanos = System.nanoTime();
        lastProgressNanos = lastCommitNanos;
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
    }

    private void failed(Exception e) {
        lastProgressNanos = System.nanoTime(); // an attempt that failed: the writer is alive and retrying
        String message = e.getMessage() != null ? e.getMessage() : e.getClass().getName();
        lastError = message;
        if (healthy) {
            failingSinceNanos = System.nanoTime();
            healthy = false;
            log.warn("Usage ledger {} cannot write ({}): keeping {} records in memory and retrying",
                    name, message, pendingRecords());
        } else {
            log.debug("Usage ledger {} still cannot write: {}", name, message);
        }
    }

    private void recovered(int written) {
        long failedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - failingSinceNanos);
        healthy = true;
        lastError = null;
        log.info("Usage ledger {} writes again after {} ms of failures ({} records written, {} pending)",
                name, failedMillis, written, pendingRecords());
    }

    private void discardConnection() {
        inserter.discard();
    }

    private static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException ignored) {
            // stopping is driven by the closing flag
        }
    }
}
