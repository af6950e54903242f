package dev.tokenwise.metrics.ledger;

import java.util.Objects;

/**
 * The outcome of a task as its client reported it ({@code POST /api/v1/tasks/{id}/outcome}); one per task,
 * a later one replaces it.
 *
 * @param team the team the task belongs to
 * @param taskId the client's {@code X-Task-Id}
 * @param keyId the key that reported it, {@code null} for the admin key
 * @param success whether the task succeeded
 * @param score an optional grade from 0 to 1, {@code null} when none was sent
 * @param note an optional free text, {@code null} when none was sent
 * @param atMillis when it was reported, epoch milliseconds
 */
public record TaskOutcome(String team, String taskId, String keyId, boolean success, Double score, String note,
                          long atMillis) {

    public TaskOutcome {
        Objects.requireNonNull(team, "team");
        Objects.requireNonNull(taskId, "taskId");
        if (score != null && !(score >= 0 && score <= 1)) {
            throw new IllegalArgumentException("score: " + score + " (expected: from 0 to 1)");
        }
    }
}
