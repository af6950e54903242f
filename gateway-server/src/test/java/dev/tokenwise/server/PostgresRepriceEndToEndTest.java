package dev.tokenwise.server;

import dev.tokenwise.core.testing.PostgresServer;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@code tokenwise reprice} on a gateway whose ledger is on PostgreSQL ({@code storage.url}): the same behaviour. */
class PostgresRepriceEndToEndTest extends RepriceEndToEndTest {
    @RegisterExtension
    static final PostgresServer.PerClass postgres = new PostgresServer.PerClass();

    @Override
    String storage() {
        return "url: \"" + postgres.server().createDatabase() + "\"";
    }
}
