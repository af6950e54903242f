package dev.tokenwise.metrics.ledger;

/**
 * Tuning of a {@link SqliteLedger}; tests shorten the timeouts.
 *
 * @param queueCapacity records the writer queue holds before {@link SqliteLedger#accept} blocks its caller
 * @param batchSize the most records written in one transaction
 * @param busyTimeoutMillis how long a statement waits for a lock held by another connection
 * @param initialBackoffMillis the first pause after a failed write
 * @param maxBackoffMillis the longest pause between retries (the pause doubles up to it)
 * @param closeTimeoutMillis how long {@link SqliteLedger#close} keeps retrying a failing write
 * @param groupCommitMillis the shortest time between the starts of two transactions, or 0 for the sync mode's
 *                          ({@link LedgerWriter#GROUP_NANOS} in normal mode, {@link LedgerWriter#STRICT_GROUP_NANOS} in strict)
 * @param stallMillis how long the writer may go without progress (a commit, a failed attempt, an empty queue) while
 *                    records wait before the ledger says it {@linkplain SqliteLedger#stoppedReason stopped}; well
 *                    above the longest attempt (a busy wait plus the longest pause)
 */
record LedgerSettings(int queueCapacity, int batchSize, int busyTimeoutMillis, long initialBackoffMillis,
                      long maxBackoffMillis, long closeTimeoutMillis, long groupCommitMillis, long stallMillis) {

    static final LedgerSettings DEFAULTS = new LedgerSettings(100_000, 500, 5_000, 50, 5_000, 30_000);
    static final long DEFAULT_STALL_MILLIS = 30_000;

    /** Settings with the sync mode's group commit interval and the default stall limit. */
    LedgerSettings(int queueCapacity, int batchSize, int busyTimeoutMillis, long initialBackoffMillis,
                   long maxBackoffMillis, long closeTimeoutMillis) {
        this(queueCapacity, batchSize, busyTimeoutMillis, initialBackoffMillis, maxBackoffMillis, closeTimeoutMillis, 0,
                DEFAULT_STALL_MILLIS);
    }

    /** These settings with another group commit interval. */
    LedgerSettings withGroupCommitMillis(long millis) {
        return new LedgerSettings(queueCapacity, batchSize, busyTimeoutMillis, initialBackoffMillis, maxBackoffMillis,
                closeTimeoutMillis, millis, stallMillis);
    }

    /** These settings with another stall limit. */
    LedgerSettings withStallMillis(long millis) {
        return new LedgerSettings(queueCapacity, batchSize, busyTimeoutMillis, initialBackoffMillis, maxBackoffMillis,
                closeTimeoutMillis, groupCommitMillis, millis);
    }

    LedgerSettings {
        check(queueCapacity, "queueCapacity");
        check(batchSize, "batchSize");
        check(busyTimeoutMillis, "busyTimeoutMillis");
        check(initialBackoffMillis, "initialBackoffMillis");
        check(maxBackoffMillis, "maxBackoffMillis");
        check(closeTimeoutMillis, "closeTimeoutMillis");
        check(stallMillis, "stallMillis");
        if (groupCommitMillis < 0) {
            throw new IllegalArgumentException("groupCommitMillis: " + groupCommitMillis + " (expected: >= 0)");
        }
        if (maxBackoffMillis < initialBackoffMillis) {
            throw new IllegalArgumentException("maxBackoffMillis: " + maxBackoffMillis
                    + " (expected: >= initialBackoffMillis " + initialBackoffMillis + ")");
        }
    }

    private static void check(long value, String name) {
        if (value <= 0) {
            throw new IllegalArgumentException(name + ": " + value + " (expected: > 0)");
        }
    }
}
