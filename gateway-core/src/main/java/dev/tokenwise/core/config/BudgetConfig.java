package dev.tokenwise.core.config;

import static dev.tokenwise.core.config.Checks.checkNonNegative;

import java.util.Objects;

/**
 * A spending limit for one period.
 *
 * @param limitNanos the limit in nano-USD
 * @param period the calendar period the limit applies to
 */
public record BudgetConfig(long limitNanos, BudgetPeriod period) {

    public BudgetConfig {
        checkNonNegative(limitNanos, "budget.limit_usd");
        Objects.requireNonNull(period, "budget.period");
    }
}
