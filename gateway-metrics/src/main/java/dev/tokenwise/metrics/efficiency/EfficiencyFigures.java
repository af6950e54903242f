package dev.tokenwise.metrics.efficiency;

import dev.tokenwise.core.model.Money;
import dev.tokenwise.metrics.ledger.EfficiencyTotals;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Objects;

/**
 * The efficiency figures of one group, derived from its {@link EfficiencyTotals} exactly as
 * {@code docs/efficiency.md} defines them. A ratio whose denominator is zero is {@code NaN} (JSON
 * {@code null}); money is exact, in USD.
 */
public record EfficiencyFigures(EfficiencyTotals totals) {

    public EfficiencyFigures {
        Objects.requireNonNull(totals, "totals");
    }

    /** {@code succeeded ÷ (succeeded + failed)}: unknown and pending tasks are left out. */
    public double successRate() {
        return ratio(totals.succeeded(), totals.succeeded() + totals.failed());
    }

    public double callsPerTask() {
        return ratio(totals.calls(), totals.tasks());
    }

    /** {@code retries ÷ calls}. */
    public double retryRate() {
        return ratio(totals.retries(), totals.calls());
    }

    /** Input plus output tokens of all tasks with an outcome, divided by the succeeded tasks. */
    public double tokensPerSuccess() {
        return ratio(totals.judgedTokens(), totals.succeeded());
    }

    /** The cost of all tasks with an outcome divided by the succeeded tasks, in USD (9 decimals); {@code null} without a success. */
    public BigDecimal costPerSuccessUsd() {
        if (totals.succeeded() == 0) {
            return null;
        }
        return BigDecimal.valueOf(totals.judgedCostNanos(), 9)
                .divide(BigDecimal.valueOf(totals.succeeded()), 9, RoundingMode.HALF_UP).stripTrailingZeros();
    }

    /** The cost of the failed tasks, in USD. */
    public BigDecimal wastedCostUsd() {
        return Money.toUsd(totals.wastedCostNanos());
    }

    public BigDecimal costUsd() {
        return Money.toUsd(totals.costNanos());
    }

    /** {@code truncated calls ÷ calls}. */
    public double truncationRate() {
        return ratio(totals.truncated(), totals.calls());
    }

    /** {@code output tokens ÷ calls}. */
    public double meanOutputTokens() {
        return ratio(totals.outputTokens(), totals.calls());
    }

    private static double ratio(long numerator, long denominator) {
        return denominator == 0 ? Double.NaN : (double) numerator / denominator;
    }
}
