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
 * @param storedContextTokens input tokens reserved, on top of the request's own, for context the provider keeps
 *     and bills ({@code previous_response_id} or {@code conversation} on {@code /v1/responses})
 * @param allowUnpriced {@code true} lets calls to a model without a price through ({@code pricing.allow_unpriced});
 *     {@code false} refuses them with {@code model_not_priced}
 * @param unpricedReserveNanos what an allowed call to a model without a price reserves from budgets
 */
public record BudgetSettings(ZoneId zone, int softThresholdPercent, long defaultMaxOutputTokens,
                             Duration reservationTimeout, long storedContextTokens, boolean allowUnpriced,
                             long unpricedReserveNanos) {

    /** Output tokens reserved when neither the request nor the model's catalog entry names a cap. */
    public static final long DEFAULT_MAX_OUTPUT_TOKENS = 65_536;
    /** Stored context reserved by default: the largest context window of the models people call today. */
    public static final long DEFAULT_STORED_CONTEXT_TOKENS = 1_000_000;
    /** $1.00: what an allowed call to a model without a price reserves by default. */
    public static final long DEFAULT_UNPRICED_RESERVE_NANOS = 1_000_000_000L;

    public BudgetSettings {
        Objects.requireNonNull(zone, "budgets.zone");
        if (softThresholdPercent < 1 || softThresholdPercent > 100) {
            throw new ConfigException("budgets.soft_threshold_percent: " + softThresholdPercent + " (expected: 1..100)");
        }
        checkPositive(defaultMaxOutputTokens, "budgets.default_max_output_tokens");
        checkPositive(reservationTimeout, "budgets.reservation_timeout_ms");
        checkPositive(storedContextTokens, "budgets.stored_context_tokens");
        checkPositive(unpricedReserveNanos, "pricing.unpriced_reserve_usd");
    }

    /** Settings with the default stored-context ceiling and unpriced models refused. */
    public BudgetSettings(ZoneId zone, int softThresholdPercent, long defaultMaxOutputTokens,
                          Duration reservationTimeout) {
        this(zone, softThresholdPercent, defaultMaxOutputTokens, reservationTimeout, DEFAULT_STORED_CONTEXT_TOKENS,
                false, DEFAULT_UNPRICED_RESERVE_NANOS);
    }

    public static BudgetSettings defaults() {
        return new BudgetSettings(ZoneId.of("UTC"), 80, DEFAULT_MAX_OUTPUT_TOKENS, Duration.ofMinutes(15));
    }
}
