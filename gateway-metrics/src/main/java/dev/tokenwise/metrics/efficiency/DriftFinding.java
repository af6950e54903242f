package dev.tokenwise.metrics.efficiency;

/**
 * The state of one sequential test of one model after a check, for alerts, {@code GET /api/v1/drift} and tests.
 *
 * @param source {@code traffic} or {@code probe}
 * @param type the alert it raises: {@link AlertType#QUALITY_DRIFT} or {@link AlertType#EFFECTIVE_PRICE_DRIFT}
 * @param metric e.g. {@code success_rate}, {@code output_tokens_up}, {@code probe_pass_rate}
 * @param reference the figure over the pinned reference
 * @param recent the figure over the segment (the tasks since the statistic was last 0); NaN when empty
 * @param threshold the level the test is tuned to detect (reference ± the change)
 * @param statistic the CUSUM statistic
 * @param limit the statistic's threshold {@code h}
 * @param samples tasks in the segment
 * @param alarmed whether its alarm is open
 * @param opened whether this check opened the alarm
 * @param closed whether this check closed it
 * @param message one sentence for people
 */
public record DriftFinding(String model, String source, AlertType type, String metric, double reference, double recent,
                           double threshold, double statistic, double limit, long samples, boolean alarmed,
                           boolean opened, boolean closed, String message) {
}
