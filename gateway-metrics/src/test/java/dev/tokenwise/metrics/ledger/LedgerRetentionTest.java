package dev.tokenwise.metrics.ledger;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The retention thread: failures it retries, and a death it reports. */
class LedgerRetentionTest {

    /** The deletion of a ledger, doing {@code delete}: the only part of a ledger the retention thread calls. */
    private static LedgerRetention start(Runnable delete, Duration every) {
        return LedgerRetention.start("test-ledger", (beforeMillis, batchSize) -> {
            delete.run();
            return 0L;
        }, 30, every);
    }

    @Test
    void triesAgainAtTheNextIntervalWhenADeletionFails() throws Exception {
        AtomicInteger tries = new AtomicInteger();
        try (LedgerRetention retention = start(() -> {
            tries.incrementAndGet();
            throw new IllegalStateException("database away");
        }, Duration.ofMillis(20))) {
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (tries.get() < 3 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertTrue(tries.get() >= 3, "tried again: " + tries.get());
            assertNull(retention.stoppedReason(), "a failing deletion is not a dead thread");
        }
    }

    @Test
    void saysItStoppedWhenItsThreadDies() throws Exception {
        try (LedgerRetention retention = start(() -> {
            throw new InternalError("test: the JVM in doubt");
        }, Duration.ofHours(1))) {
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (retention.stoppedReason() == null && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertTrue(String.valueOf(retention.stoppedReason()).contains("InternalError"), retention.stoppedReason());
        }
    }
}
