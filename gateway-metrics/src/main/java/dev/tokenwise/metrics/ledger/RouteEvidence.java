package dev.tokenwise.metrics.ledger;

/**
 * One judged piece of evidence an efficiency route learns from, as the ledger keeps it: a task with an outcome
 * (judged by its last call's model), or a call to a route without a task (judged by how it ended).
 *
 * @param model the model judged
 * @param atMillis when it was judged: the outcome's time, or the call's
 * @param costNanos what the task (all its calls) or the call cost
 * @param success the outcome's {@code success}, or the call's implicit signal
 * @param score the outcome's score, {@code null} without one (always for a call)
 * @param route the route of the call (of the task's last call), {@code null} when a model was called directly
 * @param task {@code true} for a task with an outcome, {@code false} for a call without a task
 */
public record RouteEvidence(String model, long atMillis, long costNanos, boolean success, Double score, String route,
                            boolean task) {
}
