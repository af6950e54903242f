package dev.tokenwise.metrics.dashboard;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tokenwise.core.testing.PostgresServer;
import dev.tokenwise.metrics.ledger.Ledger;
import dev.tokenwise.metrics.ledger.PostgresLedger;
import dev.tokenwise.metrics.ledger.SqliteLedger;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The live feed on a PostgreSQL ledger several instances write: a batch that took lower row ids but commits after one
 * with higher ids is still followed, once, in pages of any size.
 */
class PostgresFeedTest {
    @RegisterExtension
    static final PostgresServer.PerClass postgres = new PostgresServer.PerClass();

    private static void insert(Connection c, String id, String team) throws Exception {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO usage_records (id, created_at, team, key_id, model, "
                + "provider, endpoint, stream, status, http_status, input_tokens, cached_input_tokens, cache_write_tokens, "
                + "output_tokens, reasoning_tokens, usage_from_provider, local_input_tokens, local_output_tokens, "
                + "local_estimated, cost_nanos, latency_micros, upstream_latency_micros, ttft_micros, prompt_hash, "
                + "attempts, flags) VALUES (?, 1, ?, 'k', 'm', 'sim', '/v1/chat/completions', 0, 'ok', 200, 1, 0, 0, 1, "
                + "0, 1, 1, 1, 0, 10, 1, 1, 0, 0, 1, 0)")) {
            ps.setString(1, id);
            ps.setString(2, team);
            ps.executeUpdate();
        }
    }

    private static List<String> follow(LedgerReader reader, long[] cursor, int limit, String team) throws Exception {
        List<String> ids = new ArrayList<>();
        while (true) {
            LedgerReader.Page page = reader.following(cursor[0], limit, team, null, null);
            cursor[0] = page.cursor();
            page.calls().forEach(call -> ids.add(call.id()));
            if (page.calls().size() < limit) {
                return ids;
            }
        }
    }

    @Test
    void followsABatchThatCommitsAfterALaterOneOnceWhateverThePageSize() throws Exception {
        String url = postgres.server().createDatabase();
        try (Ledger ledger = PostgresLedger.open(url, SqliteLedger.Sync.NORMAL);
             Connection slow = DriverManager.getConnection(url); Connection fast = DriverManager.getConnection(url)) {
            LedgerReader reader = new LedgerReader(ledger::openReadConnection);
            long[] small = {reader.recentPage(2, null, null, null).cursor()};
            long[] large = {small[0]};
            long[] ofTeam = {small[0]};

            slow.setAutoCommit(false);
            fast.setAutoCommit(false);
            for (int i = 0; i < 3; i++) {
                insert(slow, "slow-" + i, i == 1 ? "b" : "a"); // the lower row ids, in a batch still open
            }
            for (int i = 0; i < 3; i++) {
                insert(fast, "fast-" + i, i == 1 ? "b" : "a");
            }
            fast.commit();
            // The open batch holds the feed back: reading past it would step over its rows for good.
            assertEquals(List.of(), follow(reader, small, 2, null));
            assertEquals(List.of(), follow(reader, large, 100, null));
            assertEquals(List.of(), follow(reader, ofTeam, 1, "b"));

            slow.commit();
            // Both batches, each once, in the order their transactions began (the slow one first), any page size.
            List<String> all = List.of("slow-0", "slow-1", "slow-2", "fast-0", "fast-1", "fast-2");
            assertEquals(all, follow(reader, small, 2, null));
            assertEquals(all, follow(reader, large, 100, null));
            assertEquals(List.of("slow-1", "fast-1"), follow(reader, ofTeam, 1, "b"));

            try (Connection later = DriverManager.getConnection(url)) {
                insert(later, "later", "a");
            }
            assertEquals(List.of("later"), follow(reader, small, 2, null));
            assertEquals(List.of("later"), follow(reader, large, 100, null));
            assertEquals(List.of(), follow(reader, ofTeam, 1, "b"));
        }
    }
}
