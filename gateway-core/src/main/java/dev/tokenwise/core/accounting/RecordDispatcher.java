package dev.tokenwise.core.accounting;

import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.spi.UsageSink;
import java.util.List;
import java.util.Queue;
import io.netty.util.internal.PlatformDependent;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hands usage records to the sinks on one dispatcher thread, in order.
 *
 * <p>Implementation note: producers (event loops, worker threads) {@code offer} into a bounded,
 * lock-free multi-producer single-consumer queue and never block. Waking a parked thread is a system
 * call that costs more than delivering a record, so producers do not wake the dispatcher while records
 * keep coming: when it finds the queue empty it naps (1 ms by default) and looks again, and only after
 * about 50 ms of empty naps in a row does it go to sleep and announce it (a volatile flag, checked by
 * producers after their offer), so that the next offer wakes it. Under load a record thus waits at most
 * a nap before the sinks see it, and an idle gateway does not spin. The nap is the price of a record's
 * delivery against the dispatcher's wake-ups: at 1,000 calls a second a 1 ms nap wakes it for nearly
 * every record, and each wake-up (a context switch) costs more than the record's delivery.
 *
 * <p>When the queue is full a sink is falling behind: the record goes to an unbounded overflow queue
 * instead, a counter is raised and a warning logged (at most every 10 seconds), so the lag is visible and
 * no record is dropped. The dispatcher drains the bounded queue first and the overflow after it, so
 * records of one producer may be delivered out of order only while the queue is overflowing. {@link #close} stops intake, drains both queues and closes the sinks.
 *
 * <p>One record never stops the others: whatever a sink throws on a record, {@link Exception} or {@link Error}
 * ({@link OutOfMemoryError} and {@link StackOverflowError} included: the allocation or the call that failed is
 * abandoned, and the dispatcher's own state is a few fields), is logged with the record's id, counted in
 * {@link #sinkFailures} and the next sink gets the record. Only a {@link VirtualMachineError} that says the JVM
 * itself is broken ({@link InternalError}, {@link UnknownError}) ends the dispatcher; then, and while a sink has
 * held one record for longer than the stall limit (10 s by default), {@link #stoppedReason} says that records no
 * longer flow, so that the gateway stops taking calls it could not book.
 */
public final class RecordDispatcher implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RecordDispatcher.class);
    private static final long WARN_EVERY_NANOS = TimeUnit.SECONDS.toNanos(10);
    public static final long DEFAULT_NAP_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
    private static final long SLEEP_AFTER_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
    /** How long the sinks may hold one record before records count as stopped. */
    public static final long DEFAULT_STALL_NANOS = TimeUnit.SECONDS.toNanos(10);

    private final List<UsageSink> sinks;
    private final Queue<UsageRecord> queue;
    private final int capacity;
    private volatile boolean sleeping;
    private final Queue<UsageRecord> overflow = new ConcurrentLinkedQueue<>();
    private final LongAdder overflowed = new LongAdder();
    private final LongAdder offered = new LongAdder();
    private final LongAdder delivered = new LongAdder();
    private final LongAdder sinkFailures = new LongAdder();
    private final AtomicLong lastWarnNanos = new AtomicLong(System.nanoTime() - WARN_EVERY_NANOS);
    private final Thread thread;
    private final long napNanos;
    private final int napsBeforeSleep;
    private final long stallNanos;
    private volatile boolean closing;
    /** What ended the dispatcher thread, {@code null} while it runs or after it ended normally. */
    private volatile Throwable death;
    /** The record the sinks have now, and since when ({@link System#nanoTime}); {@code null} between records. */
    private volatile UsageRecord delivering;
    private volatile long deliveringSinceNanos;

    public RecordDispatcher(List<UsageSink> sinks, int capacity) {
        this(sinks, capacity, DEFAULT_NAP_NANOS);
    }

    /** @param napNanos how long the dispatcher naps when it finds no record, i.e. the longest a record waits */
    public RecordDispatcher(List<UsageSink> sinks, int capacity, long napNanos) {
        this(sinks, capacity, napNanos, DEFAULT_STALL_NANOS);
    }

    /**
     * @param napNanos how long the dispatcher naps when it finds no record, i.e. the longest a record waits
     * @param stallNanos how long the sinks may hold one record before {@link #stoppedReason} says records stopped
     */
    public RecordDispatcher(List<UsageSink> sinks, int capacity, long napNanos, long stallNanos) {
        if (napNanos < TimeUnit.MICROSECONDS.toNanos(10) || napNanos > SLEEP_AFTER_NANOS) {
            throw new IllegalArgumentException("napNanos: " + napNanos + " (expected 10 us to 50 ms)");
        }
        if (stallNanos <= 0) {
            throw new IllegalArgumentException("stallNanos: " + stallNanos + " (expected: > 0)");
        }
        this.napNanos = napNanos;
        this.stallNanos = stallNanos;
        this.napsBeforeSleep = (int) (SLEEP_AFTER_NANOS / napNanos); // at least 1: the nap is at most that long
        this.sinks = List.copyOf(sinks);
        this.queue = PlatformDependent.newFixedMpscQueue(capacity);
        this.capacity = capacity;
        this.thread = new Thread(this::run, "tokenwise-record-dispatcher");
        this.thread.setDaemon(true);
        this.thread.start();
    }

    /** Queues a record; never blocks and never drops. */
    public void offer(UsageRecord record) {
        offered.increment();
        if (queue.offer(record)) {
            if (sleeping) {
                LockSupport.unpark(thread);
            }
            return;
        }
        overflow.add(record);
        overflowed.increment();
        LockSupport.unpark(thread);
        long now = System.nanoTime();
        long last = lastWarnNanos.get();
        if (now - last >= WARN_EVERY_NANOS && lastWarnNanos.compareAndSet(last, now)) {
            log.warn("Usage sinks are falling behind: {} records queued beyond the bounded queue of {} ({} in total so far)",
                    overflow.size(), capacity, overflowed.sum());
        }
    }

    /** Records waiting to be handed to the sinks. */
    public int depth() {
        return queue.size() + overflow.size();
    }

    /** Records that went to the overflow queue because the bounded queue was full. */
    public long overflowed() {
        return overflowed.sum();
    }

    /** Records offered since the dispatcher started. */
    public long offered() {
        return offered.sum();
    }

    /** Records handed to every sink (each sink took it, or threw and was counted in {@link #sinkFailures}). */
    public long delivered() {
        return delivered.sum();
    }

    /** Times a sink threw on a record (each time, the record went on to the other sinks). */
    public long sinkFailures() {
        return sinkFailures.sum();
    }

    /**
     * Why records no longer reach the sinks, or {@code null} while they do: the dispatcher thread ended before
     * {@link #close}, or the sinks have held one record for longer than the stall limit. Cheap: a few volatile
     * reads, and the clock while a record is being handed on.
     */
    public String stoppedReason() {
        Throwable dead = death;
        if (dead != null) {
            return "the record dispatcher stopped on " + dead + " (" + depth() + " records queued)";
        }
        UsageRecord held = delivering;
        if (held != null) {
            long heldNanos = System.nanoTime() - deliveringSinceNanos;
            if (heldNanos > stallNanos && delivering == held) {
                return "the usage sinks have held record " + held.id() + " for "
                        + TimeUnit.NANOSECONDS.toSeconds(heldNanos) + " s (" + depth() + " records queued)";
            }
        }
        return null;
    }

    /** Records offered and not handed to every sink (yet): after {@link #close}, those that never will be. */
    public long undelivered() {
        return offered.sum() - delivered.sum();
    }

    private void run() {
        try {
            deliverUntilClosed();
        } catch (Throwable t) {
            death = t;
            try {
                log.error("The record dispatcher stopped: {} records queued are no longer handed to the usage sinks",
                        depth(), t);
            } catch (Throwable ignored) {
                // Nothing left to tell it with; stoppedReason() still says it.
            }
        }
    }

    private void deliverUntilClosed() {
        int emptyNaps = 0;
        while (true) {
            UsageRecord record = queue.poll();
            if (record == null) {
                record = overflow.poll();
            }
            if (record == null && !closing) {
                if (emptyNaps < napsBeforeSleep) {
                    emptyNaps++;
                    LockSupport.parkNanos(this, napNanos);
                } else {
                    sleeping = true;
                    // Checked again after announcing the sleep, so an offer between the two polls is not missed.
                    record = queue.poll();
                    if (record == null) {
                        LockSupport.parkNanos(this, TimeUnit.MILLISECONDS.toNanos(50));
                    }
                    sleeping = false;
                }
                if (Thread.interrupted()) {
                    closing = true;
                }
            } else {
                emptyNaps = 0;
            }
            if (record != null) {
                deliver(record);
            } else if (closing && queue.isEmpty() && overflow.isEmpty()) {
                return;
            }
        }
    }

    private void deliver(UsageRecord record) {
        deliveringSinceNanos = System.nanoTime();
        delivering = record;
        for (UsageSink sink : sinks) {
            try {
                sink.accept(record);
            } catch (InternalError | UnknownError e) {
                throw e; // the JVM itself is in doubt: stop, and say so (stoppedReason)
            } catch (Throwable e) {
                sinkFailures.increment();
                try {
                    log.error("Usage sink {} failed on record {}", sink.getClass().getSimpleName(), record.id(), e);
                } catch (Throwable ignored) {
                    // Out of memory for the message too: the failure is counted, the next sink gets the record.
                }
            }
        }
        delivering = null;
        delivered.increment();
    }

    /** Waits until every record offered before this call was handed to all sinks, or the timeout passes. */
    public boolean awaitDrained(long timeout, TimeUnit unit) throws InterruptedException {
        long target = offered.sum();
        long deadline = System.nanoTime() + unit.toNanos(timeout);
        while (delivered.sum() < target) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(1);
        }
        return true;
    }

    /**
     * Stops intake, waits (up to 30 s) until every record queued is handed to the sinks, then closes them. Records
     * it could not hand on (the dispatcher died, or a sink held it past the wait) are logged and left in
     * {@link #undelivered}.
     */
    @Override
    public void close() {
        closing = true;
        LockSupport.unpark(thread);
        try {
            thread.join(TimeUnit.SECONDS.toMillis(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        long left = undelivered();
        if (left > 0) {
            log.error("{} usage records were not handed to the usage sinks{}", left,
                    death != null ? " (the record dispatcher stopped on " + death + ")"
                            : thread.isAlive() ? " (a sink still holds one after 30 s)" : "");
        }
        for (UsageSink sink : sinks) {
            try {
                sink.close();
            } catch (RuntimeException e) {
                log.error("Usage sink {} failed to close", sink.getClass().getSimpleName(), e);
            }
        }
    }
}
