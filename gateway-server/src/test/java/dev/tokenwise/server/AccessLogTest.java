package dev.tokenwise.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenwise.core.config.LoggingConfig;
import dev.tokenwise.core.model.CacheStatus;
import dev.tokenwise.core.model.CallStatus;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.Money;
import dev.tokenwise.core.model.RecordFlag;
import dev.tokenwise.core.model.TokenUsage;
import dev.tokenwise.core.model.UsageRecord;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class AccessLogTest {
    private static final UsageRecord FALLBACK = UsageRecord.builder().id("req_abc").team("demo").keyId("k_1")
            .model("gpt-4o-mini").requestedModel("gpt-4o").provider("openai").endpoint(Endpoint.CHAT_COMPLETIONS)
            .status(CallStatus.OK).httpStatus(200).usage(TokenUsage.of(12, 48)).costNanos(30_600)
            .createdAtMillis(1_765_102_502_114L).latencyMicros(412_537).ttftMicros(80_000).attempts(2)
            .cache(CacheStatus.MISS).taskId("t-9").finishReason("stop")
            .flags(RecordFlag.USAGE_REJECTED.bit()).build();

    @Test
    void writesOneWordyLineAPersonReads() {
        assertEquals("2025-12-07T10:15:02.114Z call req_abc team=demo key=k_1 model=gpt-4o-mini requested=gpt-4o"
                + " status=ok http=200 in=12 out=48 cost=$0.0000306 latency_ms=412.5 cache=miss attempts=2"
                + " flags=usage_rejected\n", AccessLog.text(FALLBACK));
    }

    @Test
    void writesEachCallAsOneJsonObjectOnOneLine() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        AccessLog log = new AccessLog(LoggingConfig.Format.JSON, new PrintStream(bytes, true, StandardCharsets.UTF_8));
        log.accept(FALLBACK);
        log.accept(FALLBACK.toBuilder().id("req_def").usage(null).cache(null).flags(0).build());
        log.close(); // the lines are written by the log's own thread: close waits for them
        String[] lines = bytes.toString(StandardCharsets.UTF_8).split("\n");
        assertEquals(2, lines.length);
        JsonNode n = new ObjectMapper().readTree(lines[0]);
        assertEquals("2025-12-07T10:15:02.114Z", n.get("time").asText());
        assertEquals("req_abc", n.get("request_id").asText());
        assertEquals("k_1", n.get("key_id").asText());
        assertEquals("gpt-4o", n.get("requested_model").asText());
        assertEquals("/v1/chat/completions", n.get("endpoint").asText());
        assertEquals("0.0000306", n.get("cost_usd").decimalValue().toPlainString());
        assertEquals(412.5, n.get("latency_ms").asDouble());
        assertEquals(80.0, n.get("ttft_ms").asDouble());
        assertEquals("miss", n.get("cache").asText());
        assertEquals(2, n.get("attempts").asInt());
        assertEquals("usage_rejected", n.get("flags").get(0).asText());
        JsonNode bare = new ObjectMapper().readTree(lines[1]);
        assertEquals(0, bare.get("input_tokens").asLong());
        assertEquals(true, bare.get("cache").isNull());
        assertEquals(0, bare.get("flags").size());
    }

    @Test
    void aStandardOutputThatBlocksNeitherHoldsUpTheRecordsNorLosesCountOfTheLinesDropped() throws Exception {
        CountDownLatch unblock = new CountDownLatch(1);
        ByteArrayOutputStream written = new ByteArrayOutputStream();
        OutputStream stuck = new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                try {
                    unblock.await();
                } catch (InterruptedException e) {
                    throw new IOException(e);
                }
                synchronized (written) {
                    written.write(b, off, len);
                }
            }
        };
        AccessLog log = new AccessLog(LoggingConfig.Format.TEXT, new PrintStream(stuck, false, StandardCharsets.UTF_8), 4);
        long started = System.nanoTime();
        for (int i = 0; i < 100; i++) {
            log.accept(FALLBACK.toBuilder().id("req_" + i).build());
        }
        assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started) < 1_000, "the records were held up");
        // The writer holds one batch (the first line and the 4 queued with it, at most) and the queue 4 more.
        assertTrue(log.dropped() >= 100 - 9, "dropped " + log.dropped());
        unblock.countDown();
        log.close();
        String out;
        synchronized (written) {
            out = written.toString(StandardCharsets.UTF_8);
        }
        long lines = out.lines().count();
        assertEquals(100, lines + log.dropped(), out);
        assertTrue(out.lines().allMatch(l -> l.contains(" call req_") && l.endsWith("flags=usage_rejected")), out);
    }

    @Test
    void writesCostsAndTimesExactlyAsMoneyAndInstantDo() {
        long[] costs = {0, 1, 9, 10, 100, 30_600, 999_999_999, 1_000_000_000, 1_000_000_001, 1_500_000_000,
                10_000_000_000L, 123_456_789_000L, Long.MAX_VALUE, -30_600, Long.MIN_VALUE};
        for (long nanos : costs) {
            StringBuilder text = new StringBuilder();
            AccessLog.appendUsd(nanos, 2, text, new StringBuilder());
            assertEquals(Money.format(nanos), "$" + text, "text of " + nanos);
            StringBuilder json = new StringBuilder();
            AccessLog.appendUsd(nanos, 0, json, new StringBuilder());
            assertEquals(Money.toUsd(nanos).toPlainString(), json.toString(), "json of " + nanos);
        }
        for (long millis : new long[] {1_765_102_502_000L, 1_765_102_502_001L, 1_765_102_502_010L,
                1_765_102_502_100L, 1_765_102_502_999L, 0, -1}) {
            String line = AccessLog.text(FALLBACK.toBuilder().createdAtMillis(millis).build());
            assertEquals(Instant.ofEpochMilli(millis) + " call", line.substring(0, line.indexOf(" call") + 5));
        }
    }

    @Test
    void aLineReachesTheOutputSoonWithoutWaitingForMoreOrForClose() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        AccessLog log = new AccessLog(LoggingConfig.Format.TEXT, new PrintStream(bytes, true, StandardCharsets.UTF_8));
        try {
            log.accept(FALLBACK);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (bytes.size() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertEquals(AccessLog.text(FALLBACK), bytes.toString(StandardCharsets.UTF_8));
        } finally {
            log.close();
        }
    }

    @Test
    void linesQueuedTogetherGoOutInOneWriteRatherThanOnePerLine() {
        AtomicInteger writes = new AtomicInteger();
        ByteArrayOutputStream written = new ByteArrayOutputStream();
        OutputStream counting = new OutputStream() {
            @Override
            public void write(int b) {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public synchronized void write(byte[] b, int off, int len) {
                writes.incrementAndGet();
                written.write(b, off, len);
            }
        };
        AccessLog log = new AccessLog(LoggingConfig.Format.TEXT, new PrintStream(counting, false, StandardCharsets.UTF_8));
        long started = System.nanoTime();
        for (int i = 0; i < 500; i++) {
            log.accept(FALLBACK.toBuilder().id("req_" + i).build());
        }
        long offeringMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        log.close();
        String out;
        synchronized (counting) {
            out = written.toString(StandardCharsets.UTF_8);
        }
        assertEquals(500, out.lines().count());
        // About 100 KB: one write per flush interval that passed while they were queued, and the last at close.
        long allowed = 2 + offeringMillis / AccessLog.FLUSH_MILLIS;
        assertTrue(writes.get() <= allowed, writes.get() + " writes for 500 lines (expected: at most " + allowed + ")");
    }
}
