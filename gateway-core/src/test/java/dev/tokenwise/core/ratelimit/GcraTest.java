package dev.tokenwise.core.ratelimit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class GcraTest {
    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

    @Test
    void admitsAWholeMinutesWorthAtOnceThenOneEveryIntervalNeverMore() {
        Gcra five = new Gcra(5);
        long t = 1_000 * SECOND;
        for (int i = 4; i >= 0; i--) {
            assertEquals(i, five.take(1, t), "the remaining count after each of the first five");
        }
        assertEquals(-12 * SECOND, five.take(1, t), "the sixth waits one interval: 60 s / 5");
        assertEquals(-SECOND, five.take(1, t + 11 * SECOND));
        assertEquals(0, five.take(1, t + 12 * SECOND));
        assertTrue(five.take(1, t + 12 * SECOND) < 0);
    }

    @Test
    void neverAdmitsMoreThanTheLimitPlusThePaceInAnyMinute() {
        // Fixed windows let 2x the limit through around a window's edge; GCRA lets through the burst, then the pace.
        Gcra ten = new Gcra(10);
        int admitted = 0;
        long start = 5_000 * SECOND;
        for (long t = start; t < start + 60 * SECOND; t += SECOND / 10) {
            while (ten.take(1, t) >= 0) {
                admitted++;
            }
        }
        assertEquals(10 + 9, admitted, "10 at once, then one every 6 s for the rest of the minute");
    }

    @Test
    void givesBackUnusedUnitsAndTakesOverrunsWithinOneMinute() {
        Gcra tokens = new Gcra(1_000);
        long t = 0;
        assertEquals(200, tokens.take(800, t));
        assertTrue(tokens.take(300, t) < 0);
        tokens.giveBack(500); // the call used 300 of its 800
        assertEquals(400, tokens.take(300, t));
        tokens.giveBack(-10_000_000); // an absurd overrun counts as at most a minute's worth
        // 600 tokens are taken and 1,000 more charged: one more token waits until 601 tokens' time has passed
        assertEquals(-601 * 60_000_000L, tokens.take(1, t));
    }

    @Test
    void refusesAskingForMoreThanTheWholeLimit() {
        assertEquals(Gcra.NEVER, new Gcra(100).take(101, 0));
    }

    @Test
    void neverOvershootsUnderConcurrentTakes() throws Exception {
        Gcra limit = new Gcra(1_000);
        AtomicInteger admitted = new AtomicInteger();
        Thread[] threads = new Thread[4];
        for (int i = 0; i < threads.length; i++) {
            threads[i] = new Thread(() -> {
                for (int n = 0; n < 10_000; n++) {
                    if (limit.take(1, 42) >= 0) {
                        admitted.incrementAndGet();
                    }
                }
            });
            threads[i].start();
        }
        for (Thread thread : threads) {
            thread.join();
        }
        assertEquals(1_000, admitted.get());
    }

    @Test
    void formatsDurationsAsOpenAiDoes() {
        assertEquals("250ms", RateLimiter.duration(250_000_000));
        assertEquals("12s", RateLimiter.duration(12 * SECOND));
        assertEquals("1m30s", RateLimiter.duration(90 * SECOND));
        assertEquals("0ms", RateLimiter.duration(0));
    }
}
