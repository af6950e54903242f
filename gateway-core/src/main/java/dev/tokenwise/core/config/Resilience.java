package dev.tokenwise.core.config;

import static dev.tokenwise.core.config.Checks.checkNonNegative;
import static dev.tokenwise.core.config.Checks.checkPositive;

import java.time.Duration;

/**
 * How the gateway copes with a failing provider.
 *
 * @param maxRetries retries of one call on this provider after a connect error, 429 or 5xx, made only while
 *     nothing has been sent to the client
 * @param retryBackoff the base of the exponential backoff (with full jitter) between retries
 * @param retryBudgetPercent retries may add at most this share of the provider's calls, so retries cannot
 *     multiply an outage
 * @param breakerFailures consecutive failures that open the provider's circuit breaker
 * @param breakerCooldown how long an open breaker refuses calls before one probe is let through
 * @param firstByteTimeout longest wait for the first byte of an answer; {@code null} means the read timeout
 * @param totalTimeout longest a whole call may take upstream; {@link Duration#ZERO} means no limit
 */
public record Resilience(int maxRetries, Duration retryBackoff, int retryBudgetPercent, int breakerFailures,
                         Duration breakerCooldown, Duration firstByteTimeout, Duration totalTimeout) {

    public static final Resilience DEFAULTS = new Resilience(2, Duration.ofMillis(100), 20, 5, Duration.ofSeconds(30),
            null, Duration.ZERO);

    public Resilience {
        checkNonNegative(maxRetries, "max_retries");
        checkPositive(retryBackoff, "retry_backoff_ms");
        if (retryBudgetPercent < 0 || retryBudgetPercent > 100) {
            throw new ConfigException("retry_budget_percent: " + retryBudgetPercent + " (expected: 0..100)");
        }
        checkPositive(breakerFailures, "breaker_failures");
        checkPositive(breakerCooldown, "breaker_cooldown_ms");
        if (firstByteTimeout != null) {
            checkPositive(firstByteTimeout, "first_byte_timeout_ms");
        }
        if (totalTimeout == null || totalTimeout.isNegative()) {
            throw new ConfigException("total_timeout_ms: " + totalTimeout + " (expected: >= 0, 0 for no limit)");
        }
    }
}
