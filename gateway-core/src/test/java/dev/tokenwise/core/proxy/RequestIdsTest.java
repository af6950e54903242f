package dev.tokenwise.core.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RequestIdsTest {

    @Test
    void writesTheMillisecondThenTheRandomBitsInFixedWidthHex() {
        assertEquals("req_019ac9a3b2c0" + "0000000000ff", RequestIds.of(0x019ac9a3b2c0L, 0xffL));
        assertEquals("req_000000000000" + "ffffffffffff", RequestIds.of(0, -1L));
    }

    @Test
    void laterIdsSortAfterEarlierOnes() {
        String earlier = RequestIds.of(1_764_000_000_000L, -1L);
        String later = RequestIds.of(1_764_000_000_001L, 0);
        assertTrue(earlier.compareTo(later) < 0);
        String now = RequestIds.next();
        assertTrue(now.matches("req_[0-9a-f]{24}"), now);
        assertTrue(earlier.compareTo(now) < 0);
    }

    @Test
    void idsOfTheSameMillisecondDiffer() {
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < 100_000; i++) {
            ids.add(RequestIds.next());
        }
        assertEquals(100_000, ids.size());
    }
}
