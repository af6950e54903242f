package dev.tokenwise.metrics.ledger;

import dev.tokenwise.core.model.UsageRecord;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.util.Arrays;

/**
 * Rows of {@code usage_records} in the binary format of {@code COPY ... FROM STDIN (FORMAT binary)}: the
 * {@code PGCOPY} header, then per record a field count and each column of {@link PostgresBatchInserter#COLUMNS} as
 * its length and its value (big-endian {@code int8} for {@code BIGINT}, {@code int4} for {@code INTEGER}, UTF-8 for
 * {@code TEXT}), NULL as length -1, then the trailer: the server parses no digits and unescapes nothing. Measured
 * against the writer's {@link PostgresCopyText} by {@link PostgresInsertTiming}; no cheaper for the server (a row's
 * cost is its heap tuple, WAL and index entries, not its parsing), so the writer keeps the text format.
 */
final class PostgresCopyBinary implements UsageRecordRows.ColumnSink {
    private static final byte[] HEADER = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', (byte) 0xff, '\r', '\n', 0,
            0, 0, 0, 0, // flags: no OIDs
            0, 0, 0, 0}; // header extension: none
    /** The columns of a row: those of {@link UsageRecordRows#columns} and {@code retry}. */
    private static final int FIELDS = UsageRecordRows.COLUMN_COUNT + 1;

    private final Bytes out = new Bytes(64 * 1024);
    private int rows;

    PostgresCopyBinary() {
        clear();
    }

    /** Starts a new set of rows. */
    void clear() {
        out.reset();
        out.write(HEADER, 0, HEADER.length);
        rows = 0;
    }

    /** Appends the row of {@code record}, whose {@code retry} flag is {@code retry}. */
    void add(UsageRecord record, boolean retry) throws SQLException {
        out.int16(FIELDS);
        UsageRecordRows.columns(record, this);
        integer(retry ? 1 : 0);
        rows++;
    }

    /** Rows added since {@link #clear}. */
    int rows() {
        return rows;
    }

    /** The header, the rows added since {@link #clear} and the trailer. */
    byte[] bytes() {
        byte[] bytes = Arrays.copyOf(out.array(), out.size() + 2);
        bytes[bytes.length - 2] = (byte) 0xff; // the trailer: a field count of -1
        bytes[bytes.length - 1] = (byte) 0xff;
        return bytes;
    }

    @Override
    public void name(String value) {
        text(value);
    }

    @Override
    public void text(String value) {
        if (value == null) {
            out.int32(-1);
            return;
        }
        byte[] utf8 = value.getBytes(StandardCharsets.UTF_8);
        out.int32(utf8.length);
        out.write(utf8, 0, utf8.length);
    }

    @Override
    public void bigint(long value) {
        out.int32(8);
        out.int32((int) (value >>> 32));
        out.int32((int) value);
    }

    @Override
    public void integer(int value) {
        out.int32(4);
        out.int32(value);
    }

    @Override
    public void nullInteger() {
        out.int32(-1);
    }

    /** A byte buffer that writes big-endian integers and hands out its array. */
    private static final class Bytes extends ByteArrayOutputStream {
        Bytes(int size) {
            super(size);
        }

        byte[] array() {
            return buf;
        }

        void int16(int v) {
            write(v >>> 8);
            write(v);
        }

        void int32(int v) {
            write(v >>> 24);
            write(v >>> 16);
            write(v >>> 8);
            write(v);
        }
    }
}
