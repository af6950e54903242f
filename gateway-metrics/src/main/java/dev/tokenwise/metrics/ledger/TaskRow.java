package dev.tokenwise.metrics.ledger;

/**
 * One task with its calls added up, for the drift detector and the probes: the unit they test, since calls of
 * one task are not independent.
 *
 * @param model the model of the task's last call
 * @param lastAtMillis when its last call arrived
 * @param retries its calls flagged retry
 * @param truncated its calls cut by the output limit
 * @param inputTokens billed input tokens of all its calls
 * @param outputTokens billed output tokens of all its calls
 * @param success its latest outcome, or {@code null} without one
 */
public record TaskRow(String team, String taskId, String model, long lastAtMillis, long calls, long retries,
                      long truncated, long inputTokens, long outputTokens, long costNanos, Boolean success) {
}
