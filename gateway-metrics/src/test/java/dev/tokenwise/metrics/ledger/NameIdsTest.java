package dev.tokenwise.metrics.ledger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NameIdsTest {
    @TempDir
    Path dir;

    @Test
    void givesEachTextOneIdAndRemembersABoundedNumberOfThem() throws Exception {
        Path file = dir.resolve("names.db");
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file)) {
            LedgerSchema.ensure(c, file);
            c.setAutoCommit(false);
            NameIds names = new NameIds();
            names.use(c);
            assertNull(names.id(null));
            long first = names.id("team-a");
            assertEquals(first, names.id("team-a"));
            assertNotEquals(first, names.id("team-b"));
            for (int i = 0; i < NameIds.MAX_REMEMBERED + 5; i++) {
                names.id("model-" + i);
                assertTrue(names.remembered() <= NameIds.MAX_REMEMBERED, "remembered " + names.remembered());
            }
            // Forgotten, then found again in the table under the same id.
            assertEquals(first, names.id("team-a"));
            c.commit();
            names.forget();
            assertEquals(0, names.remembered());
        }
    }
}
