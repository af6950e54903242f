package dev.tokenwise.metrics.meters;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class LabelLimiterTest {

    @Test
    void givesTheFirstValuesALabelOfTheirOwnAndTheRestOther() {
        LabelLimiter labels = new LabelLimiter(2, List.of("seeded"));
        assertEquals("seeded", labels.label("seeded"));
        assertEquals("a", labels.label("a"));
        assertEquals("other", labels.label("b"));
        assertEquals("a", labels.label("a"), "an admitted value keeps its label");
        assertEquals("none", labels.label(null));
        assertEquals("none", labels.label(""));
        assertEquals(2, labels.size());
    }

    @Test
    void concurrentFirstSightingsNeverAdmitMoreThanTheLimit() throws Exception {
        for (int round = 0; round < 50; round++) {
            LabelLimiter labels = new LabelLimiter(10, List.of());
            Set<String> seen = ConcurrentHashMap.newKeySet();
            CountDownLatch start = new CountDownLatch(1);
            List<Thread> threads = IntStream.range(0, 8).mapToObj(t -> new Thread(() -> {
                try {
                    start.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int i = 0; i < 40; i++) {
                    seen.add(labels.label("v" + ((i * 7 + t) % 40)));
                }
            })).toList();
            threads.forEach(Thread::start);
            start.countDown();
            for (Thread t : threads) {
                t.join();
            }
            seen.remove(LabelLimiter.OTHER);
            assertEquals(10, labels.size());
            assertTrue(seen.size() <= 10, "admitted " + seen);
        }
    }

    @Test
    void rejectsALimitBelowOne() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new LabelLimiter(0, List.of()));
        assertEquals("max: 0 (expected: > 0)", e.getMessage());
    }
}
