package dev.tokenwise.metrics.efficiency;

/**
 * One figure of one model compared between the baseline and the recent window by the {@link DriftDetector}.
 *
 * @param type the alert it raises when flagged: {@link AlertType#QUALITY_DRIFT} or
 *     {@link AlertType#EFFECTIVE_PRICE_DRIFT}
 * @param metric {@code success_rate}, {@code retry_rate}, {@code truncation_rate}, {@code mean_output_tokens},
 *     {@code tokens_per_success} or {@code cost_per_success} (nano-USD)
 * @param baseline the figure over the baseline window; NaN when undefined
 * @param recent the figure over the recent window; NaN when undefined
 * @param threshold the level the recent figure had to pass (in the direction of the change)
 * @param baselineSamples tasks or calls behind {@code baseline}
 * @param recentSamples tasks or calls behind {@code recent}
 * @param pValue the two-sided p-value of the test; 1 when not tested
 * @param tested {@code false} when a window had too few samples (or, for the price, no list price)
 * @param flagged {@code true} when the change passed the threshold with {@code p} below the level (and, for
 *     the price, the per-token prices stayed put)
 * @param message one sentence for people
 */
public record DriftFinding(String model, AlertType type, String metric, double baseline, double recent,
                           double threshold, long baselineSamples, long recentSamples, double pValue,
                           boolean tested, boolean flagged, String message) {
}
