package dev.tokenwise.core.health;

import java.util.Objects;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A task run every so often on a scheduler that keeps running when one run fails, and says so. A plain
 * {@code scheduleWithFixedDelay} stops for good, silently, after the first exception (or {@link Error}) of its task:
 * a reaper of budget reservations or a renewer of shared budget slices would then be gone while the gateway looks
 * healthy. Here a failed run is logged (at error the first time, then once per minute while it keeps failing) and
 * kept as {@link #failure()}, which health checks report, until a run succeeds again.
 */
public final class PeriodicTask {
    private static final Logger log = LoggerFactory.getLogger(PeriodicTask.class);
    private static final long LOG_EVERY_NANOS = TimeUnit.MINUTES.toNanos(1);

    private final String name;
    private final Runnable task;
    private volatile String failure;
    private long loggedAtNanos;
    private ScheduledFuture<?> future;

    private PeriodicTask(String name, Runnable task) {
        this.name = Objects.requireNonNull(name, "name");
        this.task = Objects.requireNonNull(task, "task");
    }

    /** Runs {@code task} every {@code everyMillis} on {@code scheduler}, the first time after one period. */
    public static PeriodicTask every(ScheduledExecutorService scheduler, long everyMillis, String name, Runnable task) {
        PeriodicTask t = new PeriodicTask(name, task);
        t.future = scheduler.scheduleWithFixedDelay(t::runOnce, everyMillis, everyMillis, TimeUnit.MILLISECONDS);
        return t;
    }

    /** One run, as the scheduler makes it; public for tests that drive the task themselves. */
    public void runOnce() {
        try {
            task.run();
            if (failure != null) {
                log.warn("Background task {} runs again", name);
                failure = null;
            }
        } catch (Throwable t) { // an Error too: the schedule must outlive it, and health must show it
            boolean first = failure == null;
            failure = t.toString();
            long now = System.nanoTime();
            if (first || now - loggedAtNanos > LOG_EVERY_NANOS) {
                loggedAtNanos = now;
                log.error("Background task {} failed; it runs again at its next period", name, t);
            }
        }
    }

    /** What the last run threw, or {@code null} when it succeeded (or none has run yet). */
    public String failure() {
        return failure;
    }

    public String name() {
        return name;
    }

    /** Stops the schedule (the scheduler itself is its owner's to shut down). */
    public void cancel() {
        if (future != null) {
            future.cancel(false);
        }
    }
}
