package dev.tokenwise.core.accounting;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.model.CallStatus;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.TokenUsage;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.spi.UsageSink;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class AccountingCoreTest {

    static UsageRecord record(String id, String team, String model, long in, long out, long costNanos) {
        return UsageRecord.builder().id(id).team(team).keyId("key-1").model(model).provider("sim")
                .endpoint(Endpoint.CHAT_COMPLETIONS).status(CallStatus.OK).httpStatus(200)
                .usage(TokenUsage.of(in, out)).usageFromProvider(true).localInputTokens(in).localOutputTokens(out)
                .costNanos(costNanos).finishReason("stop").latencyMicros(10).upstreamLatencyMicros(5).build();
    }

    @Test
    void answersALookupOfACallInFlightWhenItSettles() throws Exception {
        try (AccountingCore core = new AccountingCore(List.of(), 16, 100)) {
            core.begin("req_1");
            CompletableFuture<UsageRecord> pending = core.lookup("req_1");
            assertFalse(pending.isDone());
            UsageRecord r = record("req_1", "demo", "sim-small", 10, 20, 30);
            core.settle(r);
            assertSame(r, pending.get(1, TimeUnit.SECONDS));
            assertSame(r, core.lookup("req_1").getNow(null));
            assertNull(core.lookup("req_unknown"));
        }
    }

    @Test
    void aLookupRacingTheSettleOfItsCallAlwaysGetsTheRecord() throws Exception {
        try (AccountingCore core = new AccountingCore(List.of(), 1 << 14, 100)) {
            ExecutorService pool = Executors.newSingleThreadExecutor();
            try {
                for (int i = 0; i < 5_000; i++) {
                    String id = "req_" + i;
                    UsageRecord r = record(id, "demo", "sim-small", 1, 1, 1);
                    core.begin(id);
                    CountDownLatch go = new CountDownLatch(1);
                    var looked = pool.submit(() -> {
                        go.await();
                        return core.lookup(id);
                    });
                    go.countDown();
                    core.settle(r);
                    CompletableFuture<UsageRecord> answer = looked.get(5, TimeUnit.SECONDS);
                    assertSame(r, answer.get(5, TimeUnit.SECONDS), id);
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @Test
    void keepsTheMostRecentRecordsAndForgetsTheOldestFirst() {
        try (AccountingCore core = new AccountingCore(List.of(), 16, 3)) {
            for (int i = 1; i <= 5; i++) {
                core.begin("req_" + i);
                core.settle(record("req_" + i, "demo", "sim-small", 1, 1, 1));
            }
            assertNull(core.lookup("req_1"), "older calls are the ledger's to answer");
            assertNull(core.lookup("req_2"));
            for (int i = 3; i <= 5; i++) {
                assertEquals("req_" + i, core.lookup("req_" + i).getNow(null).id());
            }
        }
    }

    @Test
    void sumsConcurrentSettlementsExactly() throws Exception {
        List<UsageRecord> seen = new CopyOnWriteArrayList<>();
        UsageSink sink = seen::add;
        int threads = 4;
        int perThread = 5_000;
        try (AccountingCore core = new AccountingCore(List.of(sink), 64, 1000)) {
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            CountDownLatch go = new CountDownLatch(1);
            for (int t = 0; t < threads; t++) {
                int thread = t;
                pool.execute(() -> {
                    try {
                        go.await();
                    } catch (InterruptedException e) {
                        return;
                    }
                    for (int i = 0; i < perThread; i++) {
                        core.settle(record("req_" + thread + "_" + i, "demo", "sim-small", 3, 7, 11));
                    }
                });
            }
            go.countDown();
            pool.shutdown();
            assertTrue(pool.awaitTermination(30, TimeUnit.SECONDS));
            UsageTotals totals = core.totals().get(new AccountingCore.UsageKey("demo", "key-1", "sim-small"));
            long calls = (long) threads * perThread;
            assertEquals(calls, totals.calls());
            assertEquals(3 * calls, totals.inputTokens());
            assertEquals(7 * calls, totals.outputTokens());
            assertEquals(11 * calls, totals.costNanos());
            // The queue of 64 overflowed, and still every record reached the sink.
            assertTrue(core.dispatcher().awaitDrained(30, TimeUnit.SECONDS));
            assertEquals(calls, seen.size());
        }
    }

    @Test
    void keepsDeliveringToOtherSinksWhenOneThrows() throws Exception {
        List<UsageRecord> seen = new CopyOnWriteArrayList<>();
        UsageSink broken = r -> {
            throw new IllegalStateException("disk on fire");
        };
        try (AccountingCore core = new AccountingCore(List.of(broken, seen::add), 16, 100)) {
            core.settle(record("req_a", "demo", "m", 1, 1, 1));
            assertTrue(core.dispatcher().awaitDrained(5, TimeUnit.SECONDS));
            assertEquals(1, seen.size());
            assertEquals(1, core.dispatcher().sinkFailures());
        }
    }

    @Test
    void refusesNewCallsOnceASinkSaysItStoppedAndTakesThemAgainWhenItRecovers() {
        java.util.concurrent.atomic.AtomicReference<String> stopped = new java.util.concurrent.atomic.AtomicReference<>();
        UsageSink ledger = new UsageSink() {
            @Override
            public void accept(UsageRecord record) {
            }

            @Override
            public String stoppedReason() {
                return stopped.get();
            }
        };
        try (AccountingCore core = new AccountingCore(List.of(ledger), 16, 100)) {
            assertNull(core.recordingStopped());
            core.requireRecording();

            stopped.set("the ledger writer thread died");
            assertEquals("the ledger writer thread died", core.recordingStopped());
            GatewayException refused = assertThrows(GatewayException.class, core::requireRecording);
            assertEquals(ErrorType.UNAVAILABLE, refused.type());
            assertFalse(refused.getMessage().contains("ledger"), "the client is not told the gateway's insides");

            stopped.set(null);
            core.requireRecording();
        }
    }

    @Test
    void refusesNewCallsOnceTheDispatcherDied() throws Exception {
        UsageSink broken = r -> {
            throw new InternalError("the JVM is in trouble");
        };
        try (AccountingCore core = new AccountingCore(List.of(broken), 16, 100)) {
            core.settle(record("req_a", "demo", "m", 1, 1, 1));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (core.recordingStopped() == null && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            assertNotNull(core.recordingStopped());
            assertThrows(GatewayException.class, core::requireRecording);
        }
    }
}
