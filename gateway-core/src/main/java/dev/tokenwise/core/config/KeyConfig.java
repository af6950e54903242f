package dev.tokenwise.core.config;

import static dev.tokenwise.core.config.Checks.checkNotBlank;

import java.util.List;

/**
 * A virtual key of a team, as given in the config. The secret itself is hashed as soon as the file is read: the
 * parsed config never holds it, so no heap dump, log line or {@code toString} of the config can show it.
 *
 * @param keyHash the SHA-256 of the secret, in lower-case hex ({@link dev.tokenwise.core.auth.KeyHashes#sha256Hex})
 * @param name a label shown in records and APIs instead of the key; derived from the hash when absent
 * @param models models this key may call; empty means all
 * @param budget the key's own budget (besides its team's), or {@code null}
 */
public record KeyConfig(String keyHash, String name, List<String> models, BudgetConfig budget) {

    public KeyConfig(String keyHash, String name, List<String> models) {
        this(keyHash, name, models, null);
    }

    public KeyConfig {
        checkNotBlank(keyHash, "teams[].keys[].key");
        if (!keyHash.matches("[0-9a-f]{64}")) {
            throw new ConfigException("teams[].keys[]: a key must be given as its SHA-256 hash here (64 hex digits)");
        }
        models = models == null ? List.of() : List.copyOf(models);
    }

    @Override
    public String toString() {
        return "KeyConfig[name=" + name + ", models=" + models + "]";
    }
}
