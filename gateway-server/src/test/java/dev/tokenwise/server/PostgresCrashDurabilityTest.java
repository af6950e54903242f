package dev.tokenwise.server;

import dev.tokenwise.core.testing.PostgresServer;
import dev.tokenwise.metrics.ledger.PostgresLedger;
import dev.tokenwise.metrics.ledger.SqliteLedger;
import java.nio.file.Path;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A gateway process on a real PostgreSQL ledger, killed with SIGKILL under load: every call completed more than
 * 100 ms before ({@code sync: normal}), or before at all ({@code sync: strict}), is in PostgreSQL, and a restarted
 * gateway restores the team's spend from it.
 */
class PostgresCrashDurabilityTest {
    @RegisterExtension
    static final PostgresServer.PerClass postgres = new PostgresServer.PerClass();

    @ParameterizedTest(name = "storage.sync {0}")
    @ValueSource(strings = {"normal", "strict"})
    @Timeout(120)
    void keepsEveryCallCompletedBeforeAKillNineInPostgres(String sync, @TempDir Path dir) throws Exception {
        String url = postgres.server().createDatabase();
        CrashDurabilityTest.killNineUnderLoad(sync, dir, "url: \"" + url + "\"",
                () -> PostgresLedger.open(url, SqliteLedger.Sync.NORMAL));
    }
}
