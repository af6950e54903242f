package dev.tokenwise.metrics.ledger;

/**
 * The sums behind the efficiency figures of one group (a model or a team): every task of the group with
 * all of its calls. Definitions in {@code docs/efficiency.md}.
 *
 * @param group the model or team
 * @param tasks the tasks: {@code succeeded + failed + unknown + pending}
 * @param unknown tasks without an outcome whose last call is older than the idle time
 * @param pending tasks without an outcome that are not idle yet
 * @param calls the calls of all the tasks
 * @param truncated calls that ended at the output limit
 * @param judgedTokens input plus output tokens of the tasks with an outcome
 * @param judgedCostNanos the cost of the tasks with an outcome
 * @param wastedCostNanos the cost of the failed tasks
 * @param costNanos the cost of all the tasks
 */
public record EfficiencyTotals(String group, long tasks, long succeeded, long failed, long unknown, long pending,
                               long calls, long retries, long truncated, long inputTokens, long outputTokens,
                               long judgedTokens, long judgedCostNanos, long wastedCostNanos, long costNanos) {
}
