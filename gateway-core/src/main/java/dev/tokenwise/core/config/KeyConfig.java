package dev.tokenwise.core.config;

import static dev.tokenwise.core.config.Checks.checkNotBlank;

import java.util.List;

/**
 * A virtual key of a team, as given in the config (plain text, from an environment variable).
 *
 * @param key the secret; the gateway keeps only its hash in memory after start-up
 * @param name a label shown in records and APIs instead of the key; derived from the hash when absent
 * @param models models this key may call; empty means all
 * @param budget the key's own budget (besides its team's), or {@code null}
 */
public record KeyConfig(String key, String name, List<String> models, BudgetConfig budget) {

    public KeyConfig(String key, String name, List<String> models) {
        this(key, name, models, null);
    }

    public KeyConfig {
        checkNotBlank(key, "teams[].keys[].key");
        models = models == null ? List.of() : List.copyOf(models);
    }

    @Override
    public String toString() {
        return "KeyConfig[name=" + name + ", models=" + models + "]";
    }
}
