package dev.tokenwise.bench;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class CpuTimeTest {

    /**
     * A PostgreSQL server's autovacuum workers and closed connections are processes that end within a measured run:
     * their CPU must count (their parent's {@code cutime}), not vanish with them.
     */
    @Test
    void countsTheCpuOfChildrenThatEndedWithinTheWindow() throws Exception {
        // a shell whose child counts to 300,000 (a few hundred ms of CPU) and ends, then the shell turns into a sleep
        Process shell = new ProcessBuilder("sh", "-c",
                "sleep 0.3; (i=0; while [ $i -lt 300000 ]; do i=$((i + 1)); done); exec sleep 30").start();
        try {
            long before = CpuTime.ofTree(shell.pid());
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!isSleepingAfterTheChild(shell) && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            long used = CpuTime.ofTree(shell.pid()) - before;
            assertTrue(used >= 100_000_000L, "CPU of the tree over the window: " + used / 1_000_000 + " ms");
        } finally {
            shell.destroy();
            shell.waitFor(5, TimeUnit.SECONDS);
        }
    }

    /** Whether the shell has become its last {@code sleep}: the counting child has ended. */
    private static boolean isSleepingAfterTheChild(Process shell) {
        return shell.info().commandLine().map(c -> c.contains("sleep 30") && !c.contains("while")).orElse(false)
                && shell.descendants().findAny().isEmpty();
    }
}
