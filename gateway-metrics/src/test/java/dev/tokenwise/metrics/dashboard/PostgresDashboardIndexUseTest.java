package dev.tokenwise.metrics.dashboard;

import dev.tokenwise.core.testing.PostgresServer;
import dev.tokenwise.metrics.ledger.Ledger;
import dev.tokenwise.metrics.ledger.PostgresLedger;
import dev.tokenwise.metrics.ledger.PostgresPlans;
import dev.tokenwise.metrics.ledger.SqliteLedger;
import java.time.Instant;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The dashboard's queries on a PostgreSQL ledger of 300,000 rows over 30 days read {@code usage_records} through an
 * index for its last-day view and its recent calls (a 30-day view reads the whole table, as it must).
 */
class PostgresDashboardIndexUseTest {
    static final long NOW = Instant.parse("2026-11-28T10:00:00Z").toEpochMilli();
    @RegisterExtension
    static final PostgresServer.PerClass postgres = new PostgresServer.PerClass();
    static String url;

    @BeforeAll
    static void fill() throws Exception {
        url = PostgresPlans.filledDatabase(postgres.server(), 300_000, NOW);
    }

    @Test
    void readsTheLastDayAndTheRecentCallsThroughAnIndex() throws Exception {
        int logFrom = postgres.server().log().length();
        try (Ledger ledger = PostgresLedger.open(url, SqliteLedger.Sync.NORMAL)) {
            LedgerReader reader = new LedgerReader(ledger::openReadConnection);
            long dayAgo = NOW - 86_400_000L;
            for (String team : new String[] {null, "team-3"}) {
                reader.totals(false, dayAgo, team);
                reader.totals(true, dayAgo, team);
                reader.spendOverTime(dayAgo, 3_600_000, team);
                reader.savingsOverTime(dayAgo, 3_600_000, team);
                reader.hitRates(false, dayAgo, team);
                reader.hitRates(true, dayAgo, team);
            }
            reader.recent(50, null, null, null);
            reader.recent(50, "team-3", null, null);
            reader.recent(50, "team-3", "key-3", "model-3");
            LedgerReader.Page page = reader.recentPage(50, null, null, null);
            reader.following(page.cursor(), 50, null, null, null);
            reader.following(0, 50, null, null, null); // from the first transaction on
            reader.following(0, 50, "team-3", null, null);
        }
        PostgresPlans.assertNoSequentialScanOfRecords(postgres.server().log().substring(logFrom), 15);
    }
}
