package dev.tokenwise.server;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.tokenwise.core.config.LoggingConfig;
import dev.tokenwise.core.model.Money;
import dev.tokenwise.core.model.RecordFlag;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.spi.UsageSink;
import java.io.IOException;
import java.io.PrintStream;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * The access log: one line per finished call, written to standard output (the gateway's own messages go to standard
 * error), either as words a person reads or, with {@code logging.format: json}, as one JSON object per line for log
 * pipelines. A line carries the call's ids, team, models, outcome, tokens, cost, latency, cache status, attempts and
 * flags: never a key (only its id), a prompt or an answer.
 *
 * <p>The dispatcher thread that hands records to every {@link UsageSink} only formats the line and offers it to a
 * bounded queue; a thread of its own writes the queued lines, many per write. A standard output that blocks (a
 * terminal paused, a log collector that stopped reading) therefore never holds up the dispatcher, whose stall would
 * stop the ledger and make the gateway refuse calls: past {@link #QUEUE_LINES} waiting lines, further lines are
 * dropped and counted ({@link #dropped}).
 *
 * <pre>
 * 2026-12-07T10:15:02.114Z call req_4Tq2 team=demo key=k_1 model=gpt-4o-mini status=ok http=200 in=12 out=48 cost=$0.0000306 latency_ms=412.5 cache=- attempts=1 flags=-
 * {"time":"2026-12-07T10:15:02.114Z","request_id":"req_4Tq2","team":"demo","key_id":"k_1","model":"gpt-4o-mini",...}
 * </pre>
 */
final class AccessLog implements UsageSink {
    private static final JsonFactory JSON = new JsonFactory();
    /** Lines waiting to be written before new ones are dropped: a few MiB at most. */
    static final int QUEUE_LINES = 16_384;
    /** Lines joined into one write. */
    private static final int BATCH_LINES = 256;
    private static final String END = new String("end of the access log"); // compared by identity

    private final LoggingConfig.Format format;
    private final PrintStream out;
    private final BlockingQueue<String> lines;
    private final LongAdder dropped = new LongAdder();
    private final Thread writer;

    AccessLog(LoggingConfig.Format format, PrintStream out) {
        this(format, out, QUEUE_LINES);
    }

    AccessLog(LoggingConfig.Format format, PrintStream out, int queueLines) {
        this.format = format;
        this.out = out;
        this.lines = new ArrayBlockingQueue<>(queueLines);
        this.writer = new Thread(this::writeLines, "tokenwise-access-log");
        writer.setDaemon(true);
        writer.start();
    }

    @Override
    public void accept(UsageRecord record) {
        if (!lines.offer(format == LoggingConfig.Format.JSON ? json(record) : text(record))) {
            dropped.increment();
        }
    }

    /** Lines dropped so far because standard output did not keep up. */
    long dropped() {
        return dropped.sum();
    }

    private void writeLines() {
        List<String> batch = new ArrayList<>(BATCH_LINES);
        StringBuilder text = new StringBuilder(BATCH_LINES * 256);
        try {
            while (true) {
                batch.add(lines.take());
                lines.drainTo(batch, BATCH_LINES - 1);
                boolean end = false;
                for (String line : batch) {
                    if (line == END) {
                        end = true;
                    } else {
                        text.append(line);
                    }
                }
                out.print(text);
                out.flush();
                batch.clear();
                text.setLength(0);
                if (end) {
                    return;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** One human-readable line, ending with a line break. */
    static String text(UsageRecord r) {
        StringBuilder b = new StringBuilder(200);
        b.append(Instant.ofEpochMilli(r.createdAtMillis())).append(" call ").append(r.id())
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
                .append(" cost=").append(Money.format(r.costNanos()))
                .append(" latency_ms=").append(millis(r.latencyMicros()))
                .append(" cache=").append(r.cache() == null ? "-" : r.cache().name().toLowerCase(Locale.ROOT))
                .append(" attempts=").append(r.attempts())
                .append(" flags=");
        List<RecordFlag> flags = RecordFlag.of(r.flags());
        if (flags.isEmpty()) {
            b.append('-');
        } else {
            for (int i = 0; i < flags.size(); i++) {
                b.append(i == 0 ? "" : ",").append(flags.get(i).label());
            }
        }
        return b.append('\n').toString();
    }

    /** One JSON object on one line, ending with a line break. */
    static String json(UsageRecord r) {
        StringWriter w = new StringWriter(400);
        try (JsonGenerator g = JSON.createGenerator(w)) {
            g.writeStartObject();
            g.writeStringField("time", Instant.ofEpochMilli(r.createdAtMillis()).toString());
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
            g.writeNumber(Money.toUsd(r.costNanos()).toPlainString());
            g.writeFieldName("latency_ms");
            g.writeNumber(millis(r.latencyMicros()));
            g.writeFieldName("ttft_ms");
            g.writeNumber(millis(r.ttftMicros()));
            g.writeStringField("cache", r.cache() == null ? null : r.cache().name().toLowerCase(Locale.ROOT));
            g.writeNumberField("attempts", r.attempts());
            g.writeStringField("task_id", r.taskId());
            g.writeStringField("finish_reason", r.finishReason());
            g.writeArrayFieldStart("flags");
            for (RecordFlag flag : RecordFlag.of(r.flags())) {
                g.writeString(flag.label());
            }
            g.writeEndArray();
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a StringWriter does not fail
        }
        return w.append('\n').toString();
    }

    /** Microseconds as milliseconds with one decimal, e.g. {@code 412.5}. */
    private static String millis(long micros) {
        return (micros / 1000) + "." + (micros % 1000) / 100;
    }

    /** Writes what is queued (waiting up to 2 s for standard output), then stops the writer. */
    @Override
    public void close() {
        try {
            if (lines.offer(END, 2, TimeUnit.SECONDS)) {
                writer.join(2_000);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        writer.interrupt();
    }
}
