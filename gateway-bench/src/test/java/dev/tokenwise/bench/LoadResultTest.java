package dev.tokenwise.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

class LoadResultTest {

    private static LoadResult result(String label, long windowNanos, long succeeded, long latencyMicros, long non2xx) {
        Histogram latency = new Histogram(3_600_000_000L, 3);
        for (int i = 0; i < succeeded; i++) {
            latency.recordValue(latencyMicros);
        }
        return new LoadResult(label, windowNanos, latency, latency.copy(), new Histogram(3_600_000_000L, 3), succeeded,
                non2xx, 1, 0, 2);
    }

    @Test
    void combiningTheGeneratorsOfTwoInstancesAddsTheirCallsOverTheSharedWindow() {
        LoadResult one = result("cluster2#1", 10_000_000_000L, 3_000, 1_000, 1);
        LoadResult two = result("cluster2#2", 9_900_000_000L, 1_000, 5_000, 0);

        LoadResult both = LoadResult.combined("cluster2", List.of(one, two));

        assertEquals("cluster2", both.label());
        assertEquals(4_000, both.succeeded());
        assertEquals(400.0, both.requestsPerSecond(), 1e-9, "4,000 calls over the longer window of 10 s");
        assertEquals(4_000, both.latencyMicros().getTotalCount());
        assertEquals(1.0, both.percentileMillis(50), 0.01, "three calls in four took 1 ms");
        assertEquals(5.0, both.percentileMillis(99), 0.01);
        assertEquals(1 + 2, both.errors(), "one non-2xx and a connection error on each");
        assertEquals(4, both.cacheHits());
        assertEquals(3_000, one.latencyMicros().getTotalCount(), "the parts are left as they were");
    }
}
