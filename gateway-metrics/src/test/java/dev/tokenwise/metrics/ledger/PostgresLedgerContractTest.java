package dev.tokenwise.metrics.ledger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenwise.core.spi.TeamStore.StoredTeam;
import dev.tokenwise.core.testing.PostgresServer;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The ledger contract on a real PostgreSQL: one server for the class, a new database per test. */
class PostgresLedgerContractTest extends LedgerContractTest {
    @RegisterExtension
    static final PostgresServer.PerClass postgres = new PostgresServer.PerClass();

    @Test
    void savesAdminChangesOutcomesAndTheAuditRightAfterPostgresComesBack() {
        try (Ledger ledger = openLedger()) {
            // Each store's own connection is opened and kept.
            ledger.saveTeam(new StoredTeam("t", null, 1));
            ledger.tasks().saveOutcome(new TaskOutcome("t", "task", null, true, null, null, 1));
            ledger.audit().save(List.of(), List.of(), 0, 1);
            postgres.server().stop();
            postgres.server().startAgain();
            ledger.saveTeam(new StoredTeam("t", null, 2));
            ledger.tasks().saveOutcome(new TaskOutcome("t", "task", null, false, null, null, 2));
            ledger.audit().save(List.of(), List.of(new AuditStore.InflationRow("m", 1, 1, 1, 1, 1, 1, 1)), 0, 2);
            assertEquals(List.of(new StoredTeam("t", null, 2)), ledger.teams());
            assertFalse(ledger.tasks().outcome("t", "task").orElseThrow().success());
            assertEquals(1, ledger.audit().inflation(0).size());
        }
    }

    @Test
    void refusesToOpenSayingWhyWhenTheDatabaseCannotBeReached() throws Exception {
        int closedPort;
        try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }
        String url = "jdbc:postgresql://127.0.0.1:" + closedPort + "/tokenwise?user=tokenwise&password=hunter2";
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> PostgresLedger.open(url, SqliteLedger.Sync.NORMAL));
        assertTrue(e.getMessage().startsWith("cannot open ledger jdbc:postgresql://127.0.0.1:" + closedPort
                + "/tokenwise?user=tokenwise&password=***: "), e.getMessage());
        assertFalse(e.getMessage().contains("hunter2"), "no password in the message: " + e.getMessage());
    }

    @Override
    Ledger openLedger() {
        return PostgresLedger.open(postgres.server().createDatabase(), SqliteLedger.Sync.NORMAL);
    }
}
