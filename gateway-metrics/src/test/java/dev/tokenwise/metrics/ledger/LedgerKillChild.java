package dev.tokenwise.metrics.ledger;

import java.nio.file.Path;

/**
 * The process {@link SqliteLedgerKillTest} kills: accepts a record about every 100 microseconds, forever,
 * and prints {@code accepted <n>} after every 100th, until it is killed.
 */
public final class LedgerKillChild {
    private LedgerKillChild() {
    }

    public static void main(String[] args) throws Exception {
        SqliteLedger ledger = SqliteLedger.open(Path.of(args[0]), SqliteLedger.Sync.valueOf(args[1]));
        System.out.println("open");
        System.out.flush();
        for (long n = 1; ; n++) {
            ledger.accept(TestRecords.record("req_" + n, "a", "a1", "m", n, 1));
            if (n % 100 == 0) {
                System.out.println("accepted " + n);
                System.out.flush();
                Thread.sleep(10);
            }
        }
    }
}
