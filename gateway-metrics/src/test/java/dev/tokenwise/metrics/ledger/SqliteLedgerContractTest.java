package dev.tokenwise.metrics.ledger;

import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** The ledger contract on SQLite: a new file per test. */
class SqliteLedgerContractTest extends LedgerContractTest {
    @TempDir
    Path dir;

    @Override
    Ledger openLedger() {
        return SqliteLedger.open(dir.resolve("ledger-" + System.nanoTime() + ".db"), SqliteLedger.Sync.NORMAL);
    }
}
