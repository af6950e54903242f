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
 */
public final class RecordDispatcher implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RecordDispatcher.class);
    private static final long WARN_EVERY_NANOS = TimeUnit.SECONDS.toNanos(10);
    public static final long DEFAULT_NAP_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
    private static final long SLEEP_AFTER_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

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
    private volatile boolean closing;

    public RecordDispatcher(List<UsageSink> sinks, int capacity) {
        this(sinks, capacity, DEFAULT_NAP_NANOS);
    }

    /** @param napNanos how long the dispatcher naps when it finds no record, i.e. the longest a record waits */
    public RecordDispatcher(List<UsageSink> sinks, int capacity, long napNanos) {
        if (napNanos < TimeUnit.MICROSECONDS.toNanos(10) || napNanos > SLEEP_AFTER_NANOS) {
            throw new IllegalArgumentException("napNanos: " + napNanos + " (expected 10 us to 50 ms)");
        }
        this.napNanos = napNanos;
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

    public long delivered() {
        return delivered.sum();
    }

    public long sinkFailures() {
        return sinkFailures.sum();
    }

    private void run() {
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
        for (UsageSink sink : sinks) {
            try {
                sink.accept(record);
            } catch (RuntimeException e) {
                sinkFailures.increment();
                log.error("Usage sink {} failed on record {}", sink.getClass().getSimpleName(), record.id(), e);
            }
        }
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

    @Override
    public void close() {
        closing = true;
        LockSupport.unpark(thread);
        try {
            thread.join(TimeUnit.SECONDS.toMillis(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
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
