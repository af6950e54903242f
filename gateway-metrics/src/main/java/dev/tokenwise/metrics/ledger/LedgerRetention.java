package dev.tokenwise.metrics.ledger;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code storage.retention_days}: a thread of its own ({@code tokenwise-ledger-retention}) that deletes the records
 * and adjustments older than the retention, at start-up and then at every interval, in small batches
 * ({@value #BATCH_ROWS} rows to a transaction) so that the writer never waits long behind it. A deletion that fails
 * (the database away) is logged and tried again at the next interval; the thread ending on anything else makes the
 * ledger report itself stopped ({@link #stoppedReason}), which takes {@code /healthz} down as the writer's death does.
 */
final class LedgerRetention implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(LedgerRetention.class);
    static final int BATCH_ROWS = 1_000;
    static final long DAY_MILLIS = 86_400_000L;

    /** What the thread calls: {@link Ledger#deleteBefore} of the ledger it serves. */
    @FunctionalInterface
    interface Deletion {
        long deleteBefore(long beforeMillis, int batchSize);
    }

    private final String name;
    private final Deletion deletion;
    private final long retentionMillis;
    private final long everyMillis;
    private final Thread thread;
    private volatile boolean closing;
    private volatile Throwable death;

    private LedgerRetention(String name, Deletion deletion, int retentionDays, Duration every) {
        if (retentionDays <= 0) {
            throw new IllegalArgumentException("retentionDays: " + retentionDays + " (expected: > 0)");
        }
        if (every.isNegative() || every.isZero()) {
            throw new IllegalArgumentException("every: " + every + " (expected: > 0)");
        }
        this.name = name;
        this.deletion = deletion;
        this.retentionMillis = retentionDays * DAY_MILLIS;
        this.everyMillis = every.toMillis();
        this.thread = new Thread(this::run, "tokenwise-ledger-retention");
        this.thread.setDaemon(true);
    }

    /** Starts deleting, with {@code name} (the ledger's) in its log lines. */
    static LedgerRetention start(String name, Deletion deletion, int retentionDays, Duration every) {
        LedgerRetention retention = new LedgerRetention(name, deletion, retentionDays, every);
        retention.thread.start();
        return retention;
    }

    private void run() {
        try {
            while (!closing) {
                long before = System.currentTimeMillis() - retentionMillis;
                try {
                    long deleted = deletion.deleteBefore(before, BATCH_ROWS);
                    if (deleted > 0) {
                        log.info("Usage ledger {}: deleted {} records older than the retention", name, deleted);
                    }
                } catch (IllegalStateException e) {
                    if (!closing) {
                        log.warn("Usage ledger {}: deleting old records failed, trying again in {} ms: {}", name,
                                everyMillis, e.getMessage());
                    }
                }
                synchronized (this) {
                    if (!closing) {
                        wait(everyMillis);
                    }
                }
            }
        } catch (InterruptedException e) {
            // closing
        } catch (Throwable t) {
            death = t;
            log.error("Usage ledger {}: the retention thread died", name, t);
        }
    }

    /** Why old records are no longer deleted, or {@code null} while they are. */
    String stoppedReason() {
        Throwable dead = death;
        return dead == null ? null : "the ledger retention thread stopped on " + dead;
    }

    @Override
    public void close() {
        closing = true;
        synchronized (this) {
            notifyAll();
        }
        try {
            thread.join(TimeUnit.SECONDS.toMillis(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
