package dev.tokenwise.metrics.ledger;

/**
 * One model's tasks of one UTC day (the day of each task's last call), with the sums the drift detector's
 * tests need: counts for the rates, sums and sums of squares for the means and ratios. The squares are
 * {@code double}s (exact up to 2<sup>53</sup>, and they never overflow).
 *
 * @param epochDay days since 1970-01-01 (UTC)
 * @param judged tasks with an outcome
 * @param succeeded tasks whose outcome is a success
 * @param outputTokens output tokens of all calls
 * @param outputTokensSquared the sum over calls of output tokens squared
 * @param judgedTokens input plus output tokens of the judged tasks (one value per task)
 * @param judgedTokensSquared the sum over judged tasks of their tokens squared
 * @param succeededTokens the tokens of the succeeded tasks
 * @param judgedCostNanos the cost of the judged tasks
 * @param judgedCostSquared the sum over judged tasks of their cost squared
 * @param succeededCostNanos the cost of the succeeded tasks
 */
public record DriftBucket(String model, long epochDay, long tasks, long judged, long succeeded, long calls,
                          long retries, long truncated, long outputTokens, double outputTokensSquared,
                          double judgedTokens, double judgedTokensSquared, double succeededTokens,
                          double judgedCostNanos, double judgedCostSquared, double succeededCostNanos) {
}
