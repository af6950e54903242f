package dev.tokenwise.core.accounting;

import static dev.tokenwise.core.accounting.AccountingCoreTest.record;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.spi.UsageSink;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
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
    void aSinkThatThrowsOnARecordDoesNotStopTheRecordsAfterIt() throws Exception {
        List<String> seen = new CopyOnWriteArrayList<>();
        List<String> sent = new ArrayList<>();
        UsageSink throwing = r -> {
            switch (r.id()) {
                case "req_3" -> throw new IllegalStateException("a broken record");
                case "req_5" -> throw new OutOfMemoryError("Java heap space");
                case "req_7" -> throw new StackOverflowError();
                case "req_9" -> throw new NoClassDefFoundError("a sink's missing class");
                default -> {
                }
            }
        };
        try (RecordDispatcher dispatcher = new RecordDispatcher(List.of(throwing, r -> seen.add(r.id())), 16,
                TimeUnit.MILLISECONDS.toNanos(1))) {
            for (int i = 0; i < 12; i++) {
                sent.add("req_" + i);
                dispatcher.offer(record("req_" + i, "demo", "m", 1, 1, 1));
            }
            assertTrue(dispatcher.awaitDrained(5, TimeUnit.SECONDS), "every record was handed on");
            assertEquals(sent, seen, "the other sink got every record, in order");
            assertEquals(4, dispatcher.sinkFailures());
            assertNull(dispatcher.stoppedReason(), "records still flow");
        }
    }

    @Test
    void anErrorThatLeavesTheJvmInDoubtStopsTheDispatcherAndSaysSo() throws Exception {
        List<String> seen = new CopyOnWriteArrayList<>();
        UsageSink broken = r -> {
            if (r.id().equals("req_1")) {
                throw new InternalError("the JVM is in trouble");
            }
            seen.add(r.id());
        };
        try (RecordDispatcher dispatcher = new RecordDispatcher(List.of(broken), 16, TimeUnit.MILLISECONDS.toNanos(1))) {
            assertNull(dispatcher.stoppedReason());
            dispatcher.offer(record("req_0", "demo", "m", 1, 1, 1));
            dispatcher.offer(record("req_1", "demo", "m", 1, 1, 1));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (dispatcher.stoppedReason() == null && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            String reason = dispatcher.stoppedReason();
            assertNotNull(reason, "a dead dispatcher is reported at once");
            assertTrue(reason.contains("the JVM is in trouble"), reason);
            dispatcher.offer(record("req_2", "demo", "m", 1, 1, 1));
            assertFalse(dispatcher.awaitDrained(100, TimeUnit.MILLISECONDS), "nothing is handed on any more");
            assertEquals(List.of("req_0"), seen);
            assertEquals(1, dispatcher.depth(), "the record offered after is still queued");
        }
    }

    @Test
    void aSinkStuckOnOneRecordIsReportedOnceItHasHeldTheDispatcherTooLong() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        UsageSink stuck = r -> {
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
        long stallNanos = TimeUnit.MILLISECONDS.toNanos(200);
        try (RecordDispatcher dispatcher = new RecordDispatcher(List.of(stuck), 16, TimeUnit.MILLISECONDS.toNanos(1),
                stallNanos)) {
            dispatcher.offer(record("req_0", "demo", "m", 1, 1, 1));
            dispatcher.offer(record("req_1", "demo", "m", 1, 1, 1));
            Thread.sleep(50);
            assertNull(dispatcher.stoppedReason(), "a sink may take a while");
            Thread.sleep(300);
            String reason = dispatcher.stoppedReason();
            assertNotNull(reason, "held for longer than the stall limit");
            assertTrue(reason.contains("req_0"), reason);
            release.countDown();
            assertTrue(dispatcher.awaitDrained(5, TimeUnit.SECONDS));
            assertNull(dispatcher.stoppedReason(), "records flow again");
        }
    }

    @Test
    void refusesANapShorterThanTenMicrosecondsOrLongerThanFiftyMilliseconds() {
        assertThrows(IllegalArgumentException.class, () -> new RecordDispatcher(List.of(), 16, 9_999));
        assertThrows(IllegalArgumentException.class,
                () -> new RecordDispatcher(List.of(), 16, TimeUnit.MILLISECONDS.toNanos(51)));
    }
}
