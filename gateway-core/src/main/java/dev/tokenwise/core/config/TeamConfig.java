package dev.tokenwise.core.config;

import static dev.tokenwise.core.config.Checks.checkNotBlank;

import java.util.List;

/**
 * A team: a budget holder with one or more virtual keys.
 *
 * @param name unique team name
 * @param budget its budget, or {@code null} for none
 * @param keys its keys
 */
public record TeamConfig(String name, BudgetConfig budget, List<KeyConfig> keys) {

    public TeamConfig {
        checkNotBlank(name, "teams[].name");
        keys = keys == null ? List.of() : List.copyOf(keys);
    }
}
