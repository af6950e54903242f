package dev.tokenwise.server;

import dev.tokenwise.core.testing.PostgresServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** {@code tokenwise reprice} on a gateway whose ledger is on PostgreSQL ({@code storage.url}): the same behaviour. */
class PostgresRepriceEndToEndTest extends RepriceEndToEndTest {
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
    String storage() {
        return "url: \"" + server.createDatabase() + "\"";
    }
}
