package dev.tokenwise.core.testing;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.PooledByteBufAllocator;
import java.util.List;
import org.junit.jupiter.api.Test;

class LeakDetectionTest {
    @Test
    void reportsABufferThatWasNeverReleased() throws Exception {
        assertTrue(LeakDetection.installed(), "the session listener installs leak detection before tests run");
        LeakDetection.collectLeaks();
        leakOne();
        List<String> leaks = LeakDetection.collectLeaks();
        assertFalse(leaks.isEmpty(), "a dropped, unreleased buffer must be reported");
    }

    private static void leakOne() {
        PooledByteBufAllocator.DEFAULT.directBuffer(64).writeLong(42);
    }
}
