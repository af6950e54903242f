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

    /**
     * User plus system time of {@code pid} and of every process descended from it, in nanoseconds, those that ended
     * and were waited for included ({@code cutime} and {@code cstime}: a PostgreSQL server's autovacuum workers and
     * closed connections end within a measured run, and their CPU was spent on its account). A process that ended
     * within a window is counted once: before it, as a live descendant; after it, in its parent's children's time.
     */
    static long ofTree(long pid) {
        long total = of(pid, true);
        for (ProcessHandle child : ProcessHandle.of(pid).map(p -> p.descendants().toList()).orElse(java.util.List.of())) {
            total += of(child.pid(), true);
        }
        return total;
    }

    /** The sum of {@link #ofTree} over {@code pids}. */
    static long ofTrees(Collection<Long> pids) {
        return pids.stream().mapToLong(CpuTime::ofTree).sum();
    }

    /** User plus system time of {@code pid} (all its threads), in nanoseconds. */
    static long ofProcess(long pid) {
        return of(pid, false);
    }

    /** User plus system time of {@code pid}, and with {@code endedChildren} that of its children it waited for. */
    private static long of(long pid, boolean endedChildren) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            // The command name (field 2) is in parentheses and may hold spaces: count fields after its ')'.
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            long ticks = Long.parseLong(fields[11]) + Long.parseLong(fields[12]); // utime, stime
            if (endedChildren) {
                ticks += Long.parseLong(fields[13]) + Long.parseLong(fields[14]); // cutime, cstime
            }
            return ticks * NANOS_PER_TICK;
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }
}
