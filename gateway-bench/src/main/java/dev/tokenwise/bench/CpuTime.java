package dev.tokenwise.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;

/**
 * CPU time (user + system) of processes, from {@code /proc/<pid>/stat}: what a target spent over a measured window,
 * which, divided by its calls, says what a call costs whatever the shared box's other load. Linux only; elsewhere, and
 * for a process that is gone, it reads 0.
 */
final class CpuTime {
    /** {@code USER_HZ}: the unit of {@code utime} and {@code stime}, 100 on every Linux architecture in use. */
    private static final long NANOS_PER_TICK = 10_000_000L;

    private CpuTime() {
    }

    /** User plus system time of {@code pid} and of every process descended from it, in nanoseconds. */
    static long ofTree(long pid) {
        long total = ofProcess(pid);
        for (ProcessHandle child : ProcessHandle.of(pid).map(p -> p.descendants().toList()).orElse(java.util.List.of())) {
            total += ofProcess(child.pid());
        }
        return total;
    }

    /** The sum of {@link #ofTree} over {@code pids}. */
    static long ofTrees(Collection<Long> pids) {
        return pids.stream().mapToLong(CpuTime::ofTree).sum();
    }

    /** User plus system time of {@code pid} (all its threads), in nanoseconds. */
    static long ofProcess(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            // The command name (field 2) is in parentheses and may hold spaces: count fields after its ')'.
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return (Long.parseLong(fields[11]) + Long.parseLong(fields[12])) * NANOS_PER_TICK; // utime, stime
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }
}
