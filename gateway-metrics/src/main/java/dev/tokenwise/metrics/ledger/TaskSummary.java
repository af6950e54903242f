package dev.tokenwise.metrics.ledger;

import java.util.List;

/**
 * The calls of one task (a team's {@code X-Task-Id}) added up, with its outcome.
 *
 * @param calls the task's calls
 * @param retries those flagged as retries
 * @param truncated those that ended because the output limit was reached (finish reason {@code length})
 * @param costNanos their cost in nano-USD
 * @param models the models called, in the order of their first call
 * @param keyIds the keys that made the calls, in the order of their first call
 * @param lastModel the model of the last call: the one whose answer the outcome judges
 * @param firstAtMillis when the first call arrived, epoch ms
 * @param lastAtMillis when the last call arrived, epoch ms
 * @param outcome the reported outcome, {@code null} while there is none
 */
public record TaskSummary(String team, String taskId, long calls, long retries, long truncated, long inputTokens,
                          long outputTokens, long costNanos, List<String> models, List<String> keyIds,
                          String lastModel, long firstAtMillis, long lastAtMillis, TaskOutcome outcome) {

    public TaskSummary {
        models = List.copyOf(models);
        keyIds = List.copyOf(keyIds);
    }

    public TaskSummary withOutcome(TaskOutcome newOutcome) {
        return new TaskSummary(team, taskId, calls, retries, truncated, inputTokens, outputTokens, costNanos, models,
                keyIds, lastModel, firstAtMillis, lastAtMillis, newOutcome);
    }
}
