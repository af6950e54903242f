package dev.tokenwise.metrics.ledger;

import dev.tokenwise.core.model.UsageRecord;
import java.nio.charset.StandardCharsets;

/**
 * Rows of {@code usage_records} in the text format of {@code COPY ... FROM STDIN}: one line per record, its columns
 * in the order of {@link PostgresBatchInserter#COLUMNS} (those of {@link UsageRecordRows#columns}, then
 * {@code retry}) separated by tabs, NULL as {@code \N}, and in a text a backslash, tab, newline or carriage return
 * escaped with a backslash, so any text comes back as it was. Reused from one batch to the next by the writer thread.
 */
final class PostgresCopyText implements UsageRecordRows.ColumnSink {
    private final StringBuilder text = new StringBuilder(64 * 1024);
    private boolean lineStarted;

    /** Starts a new set of rows. */
    void clear() {
        text.setLength(0);
        lineStarted = false;
    }

    /** Appends the line of {@code record}, whose {@code retry} flag is {@code retry}. */
    void add(UsageRecord record, boolean retry) throws java.sql.SQLException {
        UsageRecordRows.columns(record, this);
        integer(retry ? 1 : 0);
        text.append('\n');
        lineStarted = false;
    }

    /** The lines added since {@link #clear}, in UTF-8 (the client encoding pgjdbc sets). */
    byte[] bytes() {
        return text.toString().getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public void name(String value) {
        text(value);
    }

    @Override
    public void text(String value) {
        separate();
        if (value == null) {
            text.append("\\N");
            return;
        }
        for (int i = 0, n = value.length(); i < n; i++) {
            char c = value.charAt(i);
            switch (c) {
                case '\\' -> text.append("\\\\");
                case '\t' -> text.append("\\t");
                case '\n' -> text.append("\\n");
                case '\r' -> text.append("\\r");
                default -> text.append(c);
            }
        }
    }

    @Override
    public void bigint(long value) {
        separate();
        text.append(value);
    }

    @Override
    public void integer(int value) {
        separate();
        text.append(value);
    }

    @Override
    public void nullInteger() {
        separate();
        text.append("\\N");
    }

    private void separate() {
        if (lineStarted) {
            text.append('\t');
        }
        lineStarted = true;
    }
}
