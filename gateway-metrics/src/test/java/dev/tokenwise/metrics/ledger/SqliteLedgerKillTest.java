package dev.tokenwise.metrics.ledger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Kills a process that writes to a ledger with SIGKILL and checks what the file kept. */
class SqliteLedgerKillTest {
    private static final long SETTLE_MILLIS = 100;

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(SqliteLedger.Sync.class)
    void keepsEveryRecordAcceptedMoreThan100MillisBeforeAKill(SqliteLedger.Sync sync) throws Exception {
        Path file = dir.resolve("ledger.db");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(List.of(java, "-cp", System.getProperty("java.class.path"),
                LedgerKillChild.class.getName(), file.toString(), sync.name()))
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        long durable;
        try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            assertEquals("open", out.readLine());
            long seenAtNanos = 0;
            long seen = 0;
            durable = 0;
            String line;
            // Read the child's progress for a while; remember the last count seen at least 100 ms before the kill.
            while ((line = out.readLine()) != null) {
                long accepted = Long.parseLong(line.substring("accepted ".length()));
                long now = System.nanoTime();
                if (seen == 0) {
                    seen = accepted;
                    seenAtNanos = now;
                } else if (now - seenAtNanos >= TimeUnit.MILLISECONDS.toNanos(SETTLE_MILLIS)) {
                    durable = seen;
                    if (durable >= 5_000) {
                        break;
                    }
                    seen = accepted;
                    seenAtNanos = now;
                }
            }
            child.destroyForcibly(); // SIGKILL: no shutdown hook, no close()
            assertTrue(child.waitFor(10, TimeUnit.SECONDS));
        } finally {
            child.destroyForcibly();
        }
        assertTrue(durable >= 5_000, "the child did not get far enough: " + durable);
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery("PRAGMA integrity_check")) {
                rs.next();
                assertEquals("ok", rs.getString(1));
            }
            try (ResultSet rs = s.executeQuery("SELECT count(*), max(created_at) FROM usage_records WHERE created_at <= "
                    + durable)) {
                rs.next();
                assertEquals(durable, rs.getLong(1), "records accepted >= 100 ms before the kill must be in the ledger");
            }
        }
    }
}
