package dev.tokenwise.core.accounting;

import static dev.tokenwise.core.accounting.AccountingCoreTest.record;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenwise.core.model.UsageRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class RecordDispatcherTest {

    @Test
    void deliversRecordsThatTrickleInBetweenNapsAndSleepsInTheOrderTheyCame() throws Exception {
        List<String> seen = new CopyOnWriteArrayList<>();
        List<String> sent = new ArrayList<>();
        try (RecordDispatcher dispatcher = new RecordDispatcher(List.of(r -> seen.add(r.id())), 16,
                TimeUnit.MILLISECONDS.toNanos(5))) {
            for (int i = 0; i < 40; i++) {
                String id = "req_" + i;
                sent.add(id);
                dispatcher.offer(record(id, "demo", "m", 1, 1, 1));
                // Pauses shorter than a nap, about a nap, and longer than the dispatcher stays awake.
                Thread.sleep(i % 10 == 9 ? 80 : i % 3);
            }
            assertTrue(dispatcher.awaitDrained(5, TimeUnit.SECONDS));
            assertEquals(sent, seen);
        }
    }

    @Test
    void aRecordOfferedToASleepingDispatcherWakesIt() throws Exception {
        CopyOnWriteArrayList<UsageRecord> seen = new CopyOnWriteArrayList<>();
        try (RecordDispatcher dispatcher = new RecordDispatcher(List.of(seen::add), 16,
                TimeUnit.MILLISECONDS.toNanos(50))) {
            // Asleep after each pause (one empty nap of 50 ms is all it waits). Unwoken, a record would
            // wait for the end of a 50 ms sleep, so five quick deliveries in a row are not luck.
            for (int i = 1; i <= 5; i++) {
                Thread.sleep(200);
                long start = System.nanoTime();
                dispatcher.offer(record("req_" + i, "demo", "m", 1, 1, 1));
                assertTrue(dispatcher.awaitDrained(5, TimeUnit.SECONDS));
                long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                assertEquals(i, seen.size());
                assertTrue(tookMillis < 25, "record " + i + " took " + tookMillis + " ms");
            }
        }
    }

    @Test
    void refusesANapShorterThanTenMicrosecondsOrLongerThanFiftyMilliseconds() {
        assertThrows(IllegalArgumentException.class, () -> new RecordDispatcher(List.of(), 16, 9_999));
        assertThrows(IllegalArgumentException.class,
                () -> new RecordDispatcher(List.of(), 16, TimeUnit.MILLISECONDS.toNanos(51)));
    }
}
