package dev.tokenwise.telemetry;

import io.netty.util.internal.PlatformDependent;
import java.util.Queue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ended call spans on their way to an OTLP/HTTP endpoint: a bounded queue that event loops offer to without ever
 * waiting, and one thread of its own that encodes what is queued ({@link OtlpSpanEncoder}) and posts it in batches
 * ({@link OtlpHttpSender}).
 *
 * <p>Implementation note: the queue is a fixed-size lock-free multi-producer single-consumer queue; an
 * {@link #offer} that finds it full drops the span and counts it ({@link #dropped}), so a slow or absent endpoint
 * costs a call one failed offer. The thread does not wake per span (a wake-up costs more than a span): while spans
 * are waiting for their batch to fill it naps 10 ms at a time, encoding what came, and sends a batch when it holds
 * {@code batchSpans}, or when its oldest span has waited {@code scheduleDelay}; with nothing queued it sleeps for the
 * schedule delay, after announcing it (a volatile flag read by producers after their offer), so that the next offer
 * wakes it. It waits for each export's result (the sender's timeout, retries included) before the next, and counts
 * the spans of an export that failed ({@link #failed}). The spans queued while an export hangs stay bounded by the
 * queue: a batch in flight plus the queue's capacity. A span is read by the thread only after the queue handed it
 * over, which publishes what the producer wrote into it.
 */
final class SpanExportQueue implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(SpanExportQueue.class);
    private static final long NAP_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
    private static final long CLOSE_WAIT_MILLIS = 5_000;

    private final Queue<CallSpanStage.CallSpan> queue;
    private final OtlpSpanEncoder encoder;
    private final OtlpHttpSender sender;
    private final int batchSpans;
    private final long scheduleDelayNanos;
    private final LongAdder dropped = new LongAdder();
    private final LongAdder failed = new LongAdder();
    private final LongAdder exported = new LongAdder();
    private final Thread thread;
    private volatile boolean sleeping;
    private volatile boolean closing;

    /**
     * Starts the export thread.
     *
     * @param encoder encodes the spans (on the export thread only)
     * @param sender posts the encoded batches, and is closed with the queue
     * @param queueSpans the spans that may wait, at most; more are dropped
     * @param batchSpans the spans sent in one export, at most
     * @param scheduleDelayNanos the longest a span waits for its batch to fill
     */
    SpanExportQueue(OtlpSpanEncoder encoder, OtlpHttpSender sender, int queueSpans, int batchSpans,
                    long scheduleDelayNanos) {
        if (queueSpans <= 0) {
            throw new IllegalArgumentException("queueSpans: " + queueSpans + " (expected: > 0)");
        }
        if (batchSpans <= 0) {
            throw new IllegalArgumentException("batchSpans: " + batchSpans + " (expected: > 0)");
        }
        if (scheduleDelayNanos <= 0) {
            throw new IllegalArgumentException("scheduleDelayNanos: " + scheduleDelayNanos + " (expected: > 0)");
        }
        this.queue = PlatformDependent.newFixedMpscQueue(queueSpans);
        this.encoder = encoder;
        this.sender = sender;
        this.batchSpans = batchSpans;
        this.scheduleDelayNanos = scheduleDelayNanos;
        this.thread = new Thread(this::run, "tokenwise-span-export");
        this.thread.setDaemon(true);
        this.thread.start();
    }

    /** Queues an ended span; never waits. {@code false} when the queue was full and the span was dropped. */
    boolean offer(CallSpanStage.CallSpan span) {
        if (closing || !queue.offer(span)) {
            dropped.increment();
            return false;
        }
        if (sleeping) {
            LockSupport.unpark(thread);
        }
        return true;
    }

    /** Spans dropped because the queue was full (or the export was closing). */
    long dropped() {
        return dropped.sum();
    }

    /** Spans of exports that failed or did not finish in time. */
    long failed() {
        return failed.sum();
    }

    /** Spans the exporter took (exports that succeeded). */
    long exported() {
        return exported.sum();
    }

    private void run() {
        encoder.begin();
        long oldestNanos = 0;
        while (true) {
            CallSpanStage.CallSpan span;
            while (encoder.spans() < batchSpans && (span = queue.poll()) != null) {
                if (encoder.spans() == 0) {
                    oldestNanos = System.nanoTime();
                }
                try {
                    encoder.add(span);
                } catch (RuntimeException | StackOverflowError e) { // one bad record must not end the thread
                    dropped.increment();
                    log.warn("Could not encode the span of a call; it is not exported", e);
                }
            }
            int batch = encoder.spans();
            boolean closed = closing;
            if (batch > 0 && (batch >= batchSpans || closed || System.nanoTime() - oldestNanos >= scheduleDelayNanos)) {
                if (!export(batch)) {
                    dropped.add(queue.size()); // interrupted at close: what is left is not sent
                    return;
                }
                encoder.begin();
                continue;
            }
            if (closed && queue.isEmpty()) {
                return;
            }
            if (batch == 0) {
                sleeping = true;
                if (queue.isEmpty() && !closing) {
                    LockSupport.parkNanos(this, scheduleDelayNanos);
                }
                sleeping = false;
            } else {
                long left = scheduleDelayNanos - (System.nanoTime() - oldestNanos);
                LockSupport.parkNanos(this, Math.max(1, Math.min(NAP_NANOS, left)));
            }
        }
    }

    /** Sends the encoded batch and waits for its result; {@code false} when the thread was interrupted meanwhile. */
    private boolean export(int spans) {
        try {
            OtlpSpanEncoder.Request request = encoder.finish();
            if (sender.send(request.array(), request.offset(), request.length())) {
                exported.add(spans);
            } else {
                failed.add(spans);
            }
        } catch (InterruptedException e) {
            failed.add(spans);
            Thread.currentThread().interrupt();
        } catch (RuntimeException | LinkageError e) { // a sender that throws must not end the thread
            failed.add(spans);
            log.warn("Span export failed", e);
        }
        return !Thread.currentThread().isInterrupted();
    }

    /**
     * Sends what is queued, waiting up to 5 s for the endpoint, then closes the sender; an export still hanging then
     * is abandoned (its spans count as failed, those queued behind it as dropped).
     */
    @Override
    public void close() {
        closing = true;
        LockSupport.unpark(thread);
        try {
            thread.join(CLOSE_WAIT_MILLIS);
            if (thread.isAlive()) {
                thread.interrupt();
                thread.join(1_000);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            sender.close();
        }
    }
}
