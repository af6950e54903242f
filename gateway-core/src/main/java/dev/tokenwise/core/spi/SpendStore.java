package dev.tokenwise.core.spi;

/** Restores the spend of the current budget period at start-up, from the durable ledger. */
public interface SpendStore {

    /** Total cost in nano-USD of the team's calls created at or after {@code fromMillis}. */
    long teamSpentNanos(String team, long fromMillis);

    /** Total cost in nano-USD of the key's calls created at or after {@code fromMillis}. */
    long keySpentNanos(String keyId, long fromMillis);
}
