package dev.tokenwise.server;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.tokenwise.core.config.LoggingConfig;
import dev.tokenwise.core.model.RecordFlag;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.spi.UsageSink;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The access log: one line per finished call, written to standard output (the gateway's own messages go to standard
 * error), either as words a person reads or, with {@code logging.format: json}, as one JSON object per line for log
 * pipelines. A line carries the call's ids, team, models, outcome, tokens, cost, latency, cache status, attempts and
 * flags: never a key (only its id), a prompt or an answer.
 *
 * <p>The dispatcher thread that hands records to every {@link UsageSink} only offers the record to a bounded queue,
 * without waking anyone. A thread of its own wakes every {@link #FLUSH_MILLIS} ms (sooner when the queue is a quarter
 * full), formats what is queued into one reused buffer and writes it with one write per batch: a line reaches standard
 * output within about {@value #FLUSH_MILLIS} ms of its call's booking, and a busy gateway pays neither a thread wake-up
 * nor a system call per line. A standard output that blocks (a terminal paused, a log collector that stopped reading)
 * never holds up the dispatcher, whose stall would stop the ledger and make the gateway refuse calls: past
 * {@link #QUEUE_LINES} waiting lines, further lines are dropped and counted ({@link #dropped}).
 *
 * <pre>
 * 2026-12-07T10:15:02.114Z call req_4Tq2 team=demo key=k_1 model=gpt-4o-mini status=ok http=200 in=12 out=48 cost=$0.0000306 latency_ms=412.5 cache=- attempts=1 flags=-
 * {"time":"2026-12-07T10:15:02.114Z","request_id":"req_4Tq2","team":"demo","key_id":"k_1","model":"gpt-4o-mini",...}
 * </pre>
 */
final class AccessLog implements UsageSink {
    private static final Logger log = LoggerFactory.getLogger(AccessLog.class);
    private static final JsonFactory JSON = new JsonFactory();
    /** Lines waiting to be written before new ones are dropped: a few MiB at most. */
    static final int QUEUE_LINES = 16_384;
    /** How long a line may wait for its write, at most, when the gateway is not busy. */
    static final long FLUSH_MILLIS = 100;
    /** Lines formatted into one write, at most. */
    private static final int BATCH_LINES = 1024;

    private final LoggingConfig.Format format;
    private final PrintStream out;
    private final BlockingQueue<UsageRecord> records;
    /** The queue's length past which a new record wakes the writer before its time. */
    private final int wakeAt;
    private final LongAdder dropped = new LongAdder();
    private final Thread writer;
    private volatile boolean closing;

    AccessLog(LoggingConfig.Format format, PrintStream out) {
        this(format, out, QUEUE_LINES);
    }

    AccessLog(LoggingConfig.Format format, PrintStream out, int queueLines) {
        this.format = format;
        this.out = out;
        this.records = new ArrayBlockingQueue<>(queueLines);
        this.wakeAt = Math.max(1, queueLines / 4);
        this.writer = new Thread(this::writeLines, "tokenwise-access-log");
        writer.setDaemon(true);
        writer.start();
    }

    @Override
    public void accept(UsageRecord record) {
        if (!records.offer(record)) {
            dropped.increment();
        } else if (records.size() >= wakeAt) {
            LockSupport.unpark(writer);
        }
    }

    /** Lines dropped so far: standard output did not keep up, or (a bug) a batch could not be formatted. */
    long dropped() {
        return dropped.sum();
    }

    private void writeLines() {
        List<UsageRecord> batch = new ArrayList<>(BATCH_LINES);
        Lines lines = new Lines(format);
        boolean failedBefore = false;
        while (true) {
            boolean last = closing; // read before draining: what was queued before close() is written
            records.drainTo(batch, BATCH_LINES);
            if (!batch.isEmpty()) {
                try {
                    for (UsageRecord record : batch) {
                        lines.append(record);
                    }
                    lines.writeTo(out);
                } catch (RuntimeException e) {
                    // One record the formatter cannot take costs its batch (counted as dropped), never the log: the
                    // half-written buffers are thrown away and the next batch starts clean.
                    dropped.add(batch.size());
                    lines = new Lines(format);
                    if (!failedBefore) {
                        failedBefore = true;
                        log.error("Access log: a batch of {} lines could not be written; they are dropped",
                                batch.size(), e);
                    }
                }
                batch.clear();
            }
            if (last && records.isEmpty()) {
                return;
            }
            if (records.size() < wakeAt) {
                LockSupport.parkNanos(this, TimeUnit.MILLISECONDS.toNanos(FLUSH_MILLIS));
            }
            if (Thread.interrupted()) {
                return;
            }
        }
    }

    /** One human-readable line, ending with a line break. */
    static String text(UsageRecord r) {
        StringBuilder b = new StringBuilder(200);
        appendText(r, b, new StringBuilder(24), new Clock());
        return b.toString();
    }

    /** One JSON object on one line, ending with a line break. */
    static String json(UsageRecord r) {
        Lines lines = new Lines(LoggingConfig.Format.JSON);
        lines.append(r);
        return lines.drain();
    }

    private static void appendText(UsageRecord r, StringBuilder b, StringBuilder scratch, Clock clock) {
        clock.appendIso(r.createdAtMillis(), b);
        b.append(" call ").append(r.id())
                .append(" team=").append(r.team())
                .append(" key=").append(r.keyId())
                .append(" model=").append(r.model());
        if (!r.requestedModel().equals(r.model())) {
            b.append(" requested=").append(r.requestedModel());
        }
        b.append(" status=").append(r.status() == null ? "-" : r.status().label())
                .append(" http=").append(r.httpStatus())
                .append(" in=").append(r.usage() == null ? 0 : r.usage().inputTokens())
                .append(" out=").append(r.usage() == null ? 0 : r.usage().outputTokens())
                .append(" cost=$");
        appendUsd(r.costNanos(), 2, b, scratch);
        b.append(" latency_ms=");
        appendMillis(r.latencyMicros(), b);
        b.append(" cache=").append(r.cache() == null ? "-" : r.cache().name().toLowerCase(Locale.ROOT))
                .append(" attempts=").append(r.attempts())
                .append(" flags=");
        if (r.flags() == 0) {
            b.append('-');
        } else {
            boolean first = true;
            for (RecordFlag flag : RecordFlag.values()) {
                if (flag.in(r.flags())) {
                    b.append(first ? "" : ",").append(flag.label());
                    first = false;
                }
            }
        }
        b.append('\n');
    }

    /**
     * Appends {@code nanos} nano-USD as an exact decimal with at least {@code minFractionDigits} digits after the
     * point and no trailing zeros beyond them: {@code 30_600} is {@code 0.0000306}, {@code 0} is {@code 0.00} (two
     * digits) or {@code 0} (none), as {@link dev.tokenwise.core.model.Money} writes them.
     */
    static void appendUsd(long nanos, int minFractionDigits, StringBuilder b, StringBuilder scratch) {
        if (nanos < 0) {
            b.append('-');
            if (nanos == Long.MIN_VALUE) { // its negation does not fit: 9223372036.854775808
                b.append("9223372036.854775808");
                return;
            }
            nanos = -nanos;
        }
        b.append(nanos / 1_000_000_000L);
        long fraction = nanos % 1_000_000_000L;
        int digits = 9;
        while (digits > minFractionDigits && fraction % 10 == 0) {
            fraction /= 10;
            digits--;
        }
        if (digits == 0) {
            return;
        }
        scratch.setLength(0);
        scratch.append(fraction);
        b.append('.');
        for (int pad = digits - scratch.length(); pad > 0; pad--) {
            b.append('0');
        }
        b.append(scratch);
    }

    /** Microseconds as milliseconds with one decimal, e.g. {@code 412.5}. */
    private static void appendMillis(long micros, StringBuilder b) {
        b.append(micros / 1000).append('.').append((micros % 1000) / 100);
    }

    /** Writes what is queued (waiting up to 2 s for standard output), then stops the writer. */
    @Override
    public void close() {
        closing = true;
        LockSupport.unpark(writer);
        try {
            writer.join(2_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        writer.interrupt();
    }

    /**
     * The writer's reused buffers: records are formatted into one character buffer, encoded into one byte buffer
     * and written with one {@code write}. Used by one thread at a time.
     */
    private static final class Lines {
        private final LoggingConfig.Format format;
        private final StringBuilder text = new StringBuilder(BATCH_LINES * 200);
        private final StringBuilder scratch = new StringBuilder(24);
        private final Clock clock = new Clock();
        private final Bytes bytes = new Bytes(BATCH_LINES * 200);
        private final JsonGenerator json;

        Lines(LoggingConfig.Format format) {
            this.format = format;
            try {
                this.json = format == LoggingConfig.Format.JSON ? JSON.createGenerator(bytes) : null;
            } catch (IOException e) {
                throw new UncheckedIOException(e); // a stream in memory does not fail
            }
            if (json != null) {
                json.setRootValueSeparator(null); // each object ends its own line
            }
        }

        void append(UsageRecord r) {
            if (format == LoggingConfig.Format.JSON) {
                appendJson(r);
            } else {
                appendText(r, text, scratch, clock);
                if (text.length() >= 32 * 1024) {
                    encodeText();
                }
            }
        }

        /** Writes the formatted lines to {@code out}, as one write, and empties the buffers. */
        void writeTo(PrintStream out) {
            flush();
            out.write(bytes.buffer(), 0, bytes.size());
            out.flush();
            bytes.reset();
        }

        /** The formatted lines as a string; empties the buffers. */
        String drain() {
            flush();
            String s = bytes.toString(StandardCharsets.UTF_8);
            bytes.reset();
            return s;
        }

        private void flush() {
            if (json != null) {
                try {
                    json.flush();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
            encodeText();
        }

        /** UTF-8 of the text buffer into the byte buffer, byte by byte for ASCII (what nearly every line is). */
        private void encodeText() {
            int n = text.length();
            if (n == 0) {
                return;
            }
            bytes.ensure(n);
            byte[] buf = bytes.buffer();
            int at = bytes.size();
            for (int i = 0; i < n; i++) {
                char c = text.charAt(i);
                if (c >= 0x80) {
                    bytes.setSize(at);
                    byte[] rest = text.substring(i).getBytes(StandardCharsets.UTF_8);
                    bytes.write(rest, 0, rest.length);
                    text.setLength(0);
                    return;
                }
                buf[at++] = (byte) c;
            }
            bytes.setSize(at);
            text.setLength(0);
        }

        private void appendJson(UsageRecord r) {
            JsonGenerator g = json;
            try {
                g.writeStartObject();
                text.setLength(0);
                clock.appendIso(r.createdAtMillis(), text);
                g.writeStringField("time", text.toString());
                text.setLength(0);
                g.writeStringField("request_id", r.id());
                g.writeStringField("team", r.team());
                g.writeStringField("key_id", r.keyId());
                g.writeStringField("model", r.model());
                g.writeStringField("requested_model", r.requestedModel());
                g.writeStringField("provider", r.provider());
                g.writeStringField("endpoint", r.endpoint() == null ? null : r.endpoint().clientPath());
                g.writeBooleanField("stream", r.stream());
                g.writeStringField("status", r.status() == null ? null : r.status().label());
                g.writeNumberField("http_status", r.httpStatus());
                g.writeNumberField("input_tokens", r.usage() == null ? 0 : r.usage().inputTokens());
                g.writeNumberField("output_tokens", r.usage() == null ? 0 : r.usage().outputTokens());
                g.writeFieldName("cost_usd");
                appendUsd(r.costNanos(), 0, text, scratch);
                g.writeNumber(text.toString());
                text.setLength(0);
                g.writeFieldName("latency_ms");
                appendMillis(r.latencyMicros(), text);
                g.writeNumber(text.toString());
                text.setLength(0);
                g.writeFieldName("ttft_ms");
                appendMillis(r.ttftMicros(), text);
                g.writeNumber(text.toString());
                text.setLength(0);
                g.writeStringField("cache", r.cache() == null ? null : r.cache().name().toLowerCase(Locale.ROOT));
                g.writeNumberField("attempts", r.attempts());
                g.writeStringField("task_id", r.taskId());
                g.writeStringField("finish_reason", r.finishReason());
                g.writeStringField("instance_id", r.instance());
                g.writeArrayFieldStart("flags");
                for (RecordFlag flag : RecordFlag.values()) {
                    if (flag.in(r.flags())) {
                        g.writeString(flag.label());
                    }
                }
                g.writeEndArray();
                g.writeEndObject();
                g.writeRaw('\n');
            } catch (IOException e) {
                throw new UncheckedIOException(e); // a stream in memory does not fail
            }
        }
    }

    /** A byte buffer whose array the writer hands to {@code write} without a copy. */
    private static final class Bytes extends ByteArrayOutputStream {
        Bytes(int size) {
            super(size);
        }

        byte[] buffer() {
            return buf;
        }

        void setSize(int size) {
            count = size;
        }

        void ensure(int more) {
            if (count + more > buf.length) {
                buf = java.util.Arrays.copyOf(buf, Math.max(buf.length * 2, count + more));
            }
        }
    }

    /** ISO-8601 UTC times to the millisecond, as {@link Instant#toString()} writes them, reusing the last second's. */
    private static final class Clock {
        private long second = Long.MIN_VALUE;
        private String secondText = "";

        void appendIso(long epochMillis, StringBuilder b) {
            long s = Math.floorDiv(epochMillis, 1000);
            int millis = (int) Math.floorMod(epochMillis, 1000);
            if (s != second) {
                String full = Instant.ofEpochSecond(s).toString(); // e.g. 2026-12-07T10:15:02Z
                secondText = full.substring(0, full.length() - 1);
                second = s;
            }
            b.append(secondText);
            if (millis != 0) {
                b.append('.');
                if (millis < 100) {
                    b.append('0');
                }
                if (millis < 10) {
                    b.append('0');
                }
                b.append(millis);
            }
            b.append('Z');
        }
    }
}
