package dev.tokenwise.core.spi;

import dev.tokenwise.core.config.BudgetConfig;
import java.util.List;

/**
 * Durable teams, budgets and virtual keys changed through the admin API. At start-up the gateway reads
 * them back; they win over the config file, which only seeds teams and keys the store does not know.
 * Keys are stored by the SHA-256 of their secret, never in plain text. Called off the event loops.
 */
public interface TeamStore {

    /**
     * A team as stored.
     *
     * @param budget its budget, or {@code null} for none
     */
    record StoredTeam(String name, BudgetConfig budget, long updatedAtMillis) {
    }

    /**
     * A virtual key as stored.
     *
     * @param id its public id
     * @param hashHex SHA-256 of the secret, hex
     * @param models models it may call; empty means all
     * @param budget its own budget, or {@code null}
     * @param revokedAtMillis when it was revoked, {@code 0} while it is valid
     */
    record StoredKey(String id, String team, String hashHex, List<String> models, BudgetConfig budget,
                     long createdAtMillis, long revokedAtMillis) {
        public StoredKey {
            models = List.copyOf(models);
        }

        public boolean revoked() {
            return revokedAtMillis != 0;
        }
    }

    List<StoredTeam> teams();

    List<StoredKey> keys();

    /** Inserts or replaces a team (by name). */
    void saveTeam(StoredTeam team);

    /** Inserts or replaces a key (by id). */
    void saveKey(StoredKey key);

    /** Marks a key revoked; returns {@code false} when no such valid key exists. */
    boolean revokeKey(String id, long atMillis);
}
