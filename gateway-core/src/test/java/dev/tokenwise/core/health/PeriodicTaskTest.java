package dev.tokenwise.core.health;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class PeriodicTaskTest {

    @Test
    void keepsRunningAfterAFailedRunAndReportsTheFailureUntilARunSucceeds() throws Exception {
        ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
        AtomicInteger runs = new AtomicInteger();
        try {
            PeriodicTask task = PeriodicTask.every(scheduler, 5, "flaky", () -> {
                int n = runs.incrementAndGet();
                if (n == 2) {
                    throw new IllegalStateException("second run fails");
                }
                if (n == 3) {
                    throw new OutOfMemoryError("third run too");
                }
            });
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (runs.get() < 6 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertTrue(runs.get() >= 6, "runs after the failures: " + runs.get());
            assertNull(task.failure(), "a successful run clears the failure");
            task.cancel();
        } finally {
            scheduler.shutdownNow();
        }
    }

    @Test
    void reportsWhatTheLastRunThrew() {
        AtomicInteger runs = new AtomicInteger();
        ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
        try {
            PeriodicTask task = PeriodicTask.every(scheduler, 3_600_000, "reaper", () -> {
                if (runs.incrementAndGet() == 1) {
                    throw new StackOverflowError("deep");
                }
            });
            task.runOnce();
            assertEquals("java.lang.StackOverflowError: deep", task.failure());
            task.runOnce();
            assertNull(task.failure());
            task.cancel();
        } finally {
            scheduler.shutdownNow();
        }
    }
}
