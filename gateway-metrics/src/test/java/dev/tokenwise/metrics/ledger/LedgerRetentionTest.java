package dev.tokenwise.metrics.ledger;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The retention thread: failures it retries, and a death it reports. */
class LedgerRetentionTest {

    /** A ledger whose {@code deleteBefore} does {@code delete}; nothing else of it is used by the retention thread. */
    private static Ledger ledger(Runnable delete) {
        return (Ledger) Proxy.newProxyInstance(Ledger.class.getClassLoader(), new Class<?>[] {Ledger.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "deleteBefore" -> {
                        delete.run();
                        yield 0L;
                    }
                    case "name" -> "test-ledger";
                    default -> throw new UnsupportedOperationException(method.getName());
                });
    }

    @Test
    void triesAgainAtTheNextIntervalWhenADeletionFails() throws Exception {
        AtomicInteger tries = new AtomicInteger();
        Ledger failing = ledger(() -> {
            tries.incrementAndGet();
            throw new IllegalStateException("database away");
        });
        try (LedgerRetention retention = LedgerRetention.start(failing, 30, Duration.ofMillis(20))) {
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
        Ledger dying = ledger(() -> {
            throw new InternalError("test: the JVM in doubt");
        });
        try (LedgerRetention retention = LedgerRetention.start(dying, 30, Duration.ofHours(1))) {
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (retention.stoppedReason() == null && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertTrue(String.valueOf(retention.stoppedReason()).contains("InternalError"), retention.stoppedReason());
        }
    }
}
