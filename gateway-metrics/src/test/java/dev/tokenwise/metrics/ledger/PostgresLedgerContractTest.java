package dev.tokenwise.metrics.ledger;

import dev.tokenwise.core.testing.PostgresServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The ledger contract on a real PostgreSQL: one server for the class, a new database per test. */
class PostgresLedgerContractTest extends LedgerContractTest {
    static PostgresServer server;

    @BeforeAll
    static void startServer() {
        server = PostgresServer.start();
    }

    @AfterAll
    static void stopServer() {
        if (server != null) {
            server.close();
        }
    }

    @Override
    Ledger openLedger() {
        return PostgresLedger.open(server.createDatabase(), SqliteLedger.Sync.NORMAL);
    }
}
