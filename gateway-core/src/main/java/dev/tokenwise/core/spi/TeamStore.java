package dev.tokenwise.core.spi;

import dev.tokenwise.core.config.BudgetConfig;
import dev.tokenwise.core.config.RateLimits;
import java.util.List;

/**
 * Durable teams, budgets, rate limits and virtual keys changed through the admin API. At start-up the gateway reads
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

    /**
     * The rate limits of a team or a key as stored.
     *
     * @param kind {@code team} or {@code key}
     * @param name the team's name or the key's id
     * @param limits its limits; {@link RateLimits#NONE} when they were removed
     */
    record StoredRateLimits(String kind, String name, RateLimits limits, long updatedAtMillis) {
        public static final String TEAM = "team";
        public static final String KEY = "key";
    }

    List<StoredTeam> teams();

    /** Every stored rate limit of teams and keys. */
    List<StoredRateLimits> rateLimits();

    /** Inserts or replaces the rate limits of a team or key (by kind and name). */
    void saveRateLimits(StoredRateLimits limits);

    List<StoredKey> keys();

    /** Inserts or replaces a team (by name). */
    void saveTeam(StoredTeam team);

    /** Inserts or replaces a key (by id). */
    void saveKey(StoredKey key);

    /**
     * Sets or removes ({@code null}) the budget of a valid key, leaving the rest of its row alone; returns {@code false}
     * when no such valid key exists.
     */
    boolean saveKeyBudget(String id, BudgetConfig budget);

    /** Marks a key revoked; returns {@code false} when no such valid key exists. */
    boolean revokeKey(String id, long atMillis);
}
