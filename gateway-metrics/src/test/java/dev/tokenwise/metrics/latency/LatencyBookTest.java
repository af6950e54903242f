package dev.tokenwise.metrics.latency;

import static dev.tokenwise.metrics.latency.LatencyCalls.call;
import static dev.tokenwise.metrics.latency.LatencyCalls.ok;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.model.CallStatus;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

class LatencyBookTest {
    private final AtomicLong now = new AtomicLong(1_800_000_000_000L);
    private final LatencyBook book = new LatencyBook(UnaryOperator.identity(), now::get);

    @Test
    void percentilesMatchTheExactOnesWithinOnePercent() {
        Random random = new Random(42);
        long[] overhead = new long[20_000];
        for (int i = 0; i < overhead.length; i++) {
            // Skewed like real overhead: mostly sub-millisecond, a long tail.
            overhead[i] = 50 + (long) (Math.pow(random.nextDouble(), 4) * 80_000);
            book.accept(ok("m1", overhead[i], 200_000 + i));
        }
        LatencySummary s = book.report(15).models().get(0).get(LatencyKind.OVERHEAD);
        long[] sorted = overhead.clone();
        Arrays.sort(sorted);
        assertEquals(overhead.length, s.count());
        assertClose(exact(sorted, 50), s.p50Micros());
        assertClose(exact(sorted, 90), s.p90Micros());
        assertClose(exact(sorted, 99), s.p99Micros());
        assertClose(exact(sorted, 99.9), s.p999Micros());
        assertClose(sorted[sorted.length - 1], s.maxMicros());
    }

    private static long exact(long[] sorted, double percentile) {
        int rank = (int) Math.ceil(percentile / 100 * sorted.length);
        return sorted[Math.max(0, rank - 1)];
    }

    private static void assertClose(long expected, long actual) {
        assertTrue(actual >= expected && actual <= expected * 1.01 + 1,
                "expected " + expected + " within +1 %, got " + actual);
    }

    @Test
    void overheadIsTotalMinusUpstreamAndTtftOnlyForStreams() {
        book.accept(call("m1", 1_250, 1_000, 0, false, CallStatus.OK));
        book.accept(call("m1", 52_000, 50_000, 9_000, true, CallStatus.OK));
        LatencyBook.ModelLatency m = book.report(1).models().get(0);
        assertEquals(2, m.get(LatencyKind.OVERHEAD).count());
        assertClose(2_000, m.get(LatencyKind.OVERHEAD).maxMicros());
        assertEquals(2, m.get(LatencyKind.UPSTREAM).count());
        assertEquals(1, m.get(LatencyKind.TTFT).count());
        assertClose(9_000, m.get(LatencyKind.TTFT).p50Micros());
    }

    @Test
    void leavesOutCallsThatDidNotComplete() {
        book.accept(call("m1", 30_000_000, 30_000_000, 0, false, CallStatus.UPSTREAM_TIMEOUT));
        book.accept(call("m1", 5_000, 0, 0, false, CallStatus.UPSTREAM_UNREACHABLE));
        assertTrue(book.report(0).models().isEmpty());
        assertTrue(book.report(0).overall().get(LatencyKind.OVERHEAD).isEmpty());
    }

    @Test
    void aWindowSeesOnlyItsMinutes() {
        book.accept(ok("m1", 100, 1_000));
        book.drain();
        now.addAndGet(10 * 60_000);
        book.accept(ok("m1", 100, 2_000));
        book.accept(ok("m1", 100, 2_000));
        assertEquals(2, book.report(5).models().get(0).get(LatencyKind.UPSTREAM).count());
        assertEquals(3, book.report(15).models().get(0).get(LatencyKind.UPSTREAM).count());
        assertEquals(3, book.report(0).models().get(0).get(LatencyKind.UPSTREAM).count());
        // Two hours later the ring has wrapped: an hour's window is empty, since-start still counts everything.
        now.addAndGet(120 * 60_000);
        book.accept(ok("m1", 100, 3_000));
        assertEquals(1, book.report(60).models().get(0).get(LatencyKind.UPSTREAM).count());
        assertEquals(4, book.report(0).models().get(0).get(LatencyKind.UPSTREAM).count());
    }

    @Test
    void mergesProvidersOfAModelAndOrdersModelsByTraffic() {
        book.accept(ok("quiet", 10, 1_000));
        for (int i = 0; i < 3; i++) {
            book.accept(ok("busy", 10, 1_000));
        }
        book.accept(UsageRecord.builder().id("r").team("t").keyId("k").model("busy").provider("other-provider")
                .endpoint(dev.tokenwise.core.model.Endpoint.CHAT_COMPLETIONS).status(CallStatus.OK).httpStatus(200)
                .usage(dev.tokenwise.core.model.TokenUsage.of(1, 1)).usageFromProvider(true).localInputTokens(1)
                .localOutputTokens(1).finishReason("stop").latencyMicros(1_010).upstreamLatencyMicros(1_000).build());
        List<LatencyBook.ModelLatency> models = book.report(0).models();
        assertEquals(List.of("busy", "quiet"), models.stream().map(LatencyBook.ModelLatency::model).toList());
        assertEquals(4, models.get(0).get(LatencyKind.UPSTREAM).count());
        assertEquals(5, book.report(0).overall().get(LatencyKind.UPSTREAM).count());
        assertEquals(2, book.cumulative().stream()
                .filter(c -> c.kind() == LatencyKind.UPSTREAM && c.model().equals("busy")).count());
    }

    @Test
    void clampsValuesOutsideTheRangeInsteadOfFailing() {
        book.accept(ok("m1", -5, 10_000_000_000L));
        LatencyBook.ModelLatency m = book.report(0).models().get(0);
        assertEquals(1, m.get(LatencyKind.UPSTREAM).count());
        assertEquals(0, m.get(LatencyKind.OVERHEAD).maxMicros());
    }

    @Test
    void rejectsWindowsLongerThanTheRing() {
        assertThrows(IllegalArgumentException.class, () -> book.report(61));
        assertThrows(IllegalArgumentException.class, () -> book.report(-1));
    }

    @Test
    void concurrentWritersLoseNoValueWhileReadersFlip() throws Exception {
        int writers = 4;
        int perWriter = 50_000;
        CountDownLatch start = new CountDownLatch(1);
        AtomicBoolean done = new AtomicBoolean();
        List<Thread> threads = new ArrayList<>();
        for (int w = 0; w < writers; w++) {
            Thread t = new Thread(() -> {
                try {
                    start.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int i = 0; i < perWriter; i++) {
                    book.accept(ok("m" + (i % 3), i % 500, 1_000 + i % 7_000));
                }
            });
            t.start();
            threads.add(t);
        }
        Thread reader = new Thread(() -> {
            while (!done.get()) {
                book.report(5);
                book.cumulative();
            }
        });
        reader.start();
        start.countDown();
        for (Thread t : threads) {
            t.join();
        }
        done.set(true);
        reader.join();
        assertEquals((long) writers * perWriter, book.report(0).overall().get(LatencyKind.UPSTREAM).count());
        assertEquals((long) writers * perWriter, book.report(5).overall().get(LatencyKind.OVERHEAD).count());
    }

    @Test
    void keepsDrainingOnScheduleAfterADrainThrows() throws Exception {
        AtomicLong drains = new AtomicLong();
        AtomicBoolean armed = new AtomicBoolean();
        LatencyBook failingOnce = new LatencyBook(UnaryOperator.identity(), () -> {
            if (armed.get() && drains.incrementAndGet() == 1) {
                throw new OutOfMemoryError("Java heap space"); // on the scheduler's thread, from the first drain
            }
            return now.get();
        });
        armed.set(true);
        java.util.concurrent.ScheduledExecutorService scheduler =
                java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
        try {
            failingOnce.schedule(scheduler, java.time.Duration.ofMillis(5));
            long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(5);
            while (drains.get() < 3 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertTrue(drains.get() >= 3, "drains after the one that threw: " + (drains.get() - 1));
        } finally {
            scheduler.shutdownNow();
        }
    }
}
