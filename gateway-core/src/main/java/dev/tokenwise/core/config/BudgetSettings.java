package dev.tokenwise.core.config;

import static dev.tokenwise.core.config.Checks.checkPositive;

import java.time.Duration;
import java.time.ZoneId;
import java.util.Objects;

/**
 * How budgets are enforced.
 *
 * @param zone the time zone periods are aligned to (UTC by default)
 * @param softThresholdPercent share of a limit whose crossing raises an alert once per period
 * @param defaultMaxOutputTokens output tokens reserved for a call that names no maximum and whose model has no known cap
 * @param reservationTimeout how long a reservation may stay open before it is reclaimed
 */
public record BudgetSettings(ZoneId zone, int softThresholdPercent, long defaultMaxOutputTokens,
                             Duration reservationTimeout) {

    public BudgetSettings {
        Objects.requireNonNull(zone, "budgets.zone");
        if (softThresholdPercent < 1 || softThresholdPercent > 100) {
            throw new ConfigException("budgets.soft_threshold_percent: " + softThresholdPercent + " (expected: 1..100)");
        }
        checkPositive(defaultMaxOutputTokens, "budgets.default_max_output_tokens");
        checkPositive(reservationTimeout, "budgets.reservation_timeout_ms");
    }

    public static BudgetSettings defaults() {
        return new BudgetSettings(ZoneId.of("UTC"), 80, 4096, Duration.ofMinutes(15));
    }
}
