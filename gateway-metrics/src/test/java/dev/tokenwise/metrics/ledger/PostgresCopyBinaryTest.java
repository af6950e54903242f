package dev.tokenwise.metrics.ledger;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tokenwise.core.model.TokenUsage;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.testing.PostgresServer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.postgresql.PGConnection;

/**
 * The binary {@code COPY} rows that {@link PostgresInsertTiming} measures against the writer's text rows: every column
 * comes back from a real server as it was sent, NULLs, texts that are not ASCII or need escaping in text, and the
 * extremes of a long included, and the same as from the writer's text {@code COPY}.
 */
class PostgresCopyBinaryTest {
    @RegisterExtension
    static final PostgresServer.PerClass postgres = new PostgresServer.PerClass();

    static List<UsageRecord> records() {
        UsageRecord full = TestRecords.fullRecord("req_full", 1_700_000_000_123L);
        UsageRecord odd = full.toBuilder().id("req_odd_é").team("équipe-東京 🚀").keyId("key\twith\ttabs")
                .model("model\\with\\backslashes\nand a newline\r").instance("").priceVersion("v1")
                .routeReason("explore").route("route-ü").requestedModel("ask-ß").taskId(null).taskAttempt(0)
                .usage(new TokenUsage(Long.MAX_VALUE, 0, Long.MAX_VALUE, Long.MAX_VALUE, 0, Long.MAX_VALUE))
                .costNanos(Long.MAX_VALUE).promptHash(Long.MIN_VALUE).latencyMicros(Long.MAX_VALUE)
                .attempts(Integer.MAX_VALUE).flags(Integer.MIN_VALUE).build();
        UsageRecord bare = UsageRecord.builder().id("req_bare").usage(TokenUsage.ZERO).createdAtMillis(0).build();
        return List.of(full, odd, bare);
    }

    @Test
    void everyColumnComesBackAsSentWithNullsNonAsciiTextAndExtremeLongs() throws Exception {
        List<UsageRecord> records = records();
        String binaryUrl = write(records, true);
        String textUrl = write(records, false);
        for (UsageRecord record : records) {
            assertEquals(record, read(binaryUrl, record.id()), "read back from binary COPY");
            assertEquals(row(textUrl, record.id()), row(binaryUrl, record.id()), "the same row as text COPY writes");
        }
    }

    private static String write(List<UsageRecord> records, boolean binary) throws Exception {
        String url = postgres.server().createDatabase();
        PostgresLedger.open(url, SqliteLedger.Sync.NORMAL).close(); // the schema
        try (Connection c = DriverManager.getConnection(url)) {
            byte[] bytes;
            if (binary) {
                PostgresCopyBinary rows = new PostgresCopyBinary();
                for (UsageRecord r : records) {
                    rows.add(r, r == records.get(0));
                }
                bytes = rows.bytes();
            } else {
                PostgresCopyText rows = new PostgresCopyText();
                for (UsageRecord r : records) {
                    rows.add(r, r == records.get(0));
                }
                bytes = rows.bytes();
            }
            String sql = PostgresBatchInserter.COPY + (binary ? " (FORMAT binary)" : "");
            c.unwrap(PGConnection.class).getCopyAPI().copyIn(sql, new java.io.ByteArrayInputStream(bytes));
        }
        return url;
    }

    private static UsageRecord read(String url, String id) throws Exception {
        try (Connection c = DriverManager.getConnection(url);
             PreparedStatement ps = c.prepareStatement(UsageRecordRows.SELECT_BY_ID)) {
            ps.setString(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return UsageRecordRows.read(rs);
            }
        }
    }

    /** Every column sent, the retry flag included, as PostgreSQL prints it. */
    private static String row(String url, String id) throws Exception {
        try (Connection c = DriverManager.getConnection(url);
             PreparedStatement ps = c.prepareStatement("SELECT ROW(" + PostgresBatchInserter.COLUMNS
                     + ")::text FROM usage_records WHERE id = ?")) {
            ps.setString(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getString(1);
            }
        }
    }
}
