package dev.tokenwise.metrics.efficiency;

import java.time.Duration;
import java.util.Objects;

/**
 * Tuning of the {@link EfficiencyTracker} and its {@link BillingAudit}.
 *
 * @param taskIdle a task without an outcome whose last call is older than this counts as {@code unknown}
 *     (before, as {@code pending})
 * @param taskRetention how long a task stays in memory after its last call (for live figures and retry flags)
 * @param maxTasks the most tasks kept in memory; the least recently used leave first
 * @param auditWindow the billing audit compares the last this many calls of each exactly tokenized model
 * @param auditMinCalls the fewest calls in the audit window before a discrepancy is raised
 * @param auditThreshold the relative excess of provider tokens over local counts that opens a
 *     {@code billing_discrepancy} (0.02: 2 %); the alert closes below half of it
 * @param calibrationAlpha the weight of each new call in the EWMA of provider/local token ratios of models
 *     without an exact tokenizer
 */
public record EfficiencySettings(Duration taskIdle, Duration taskRetention, int maxTasks, int auditWindow,
                                 int auditMinCalls, double auditThreshold, double calibrationAlpha) {

    public static final EfficiencySettings DEFAULTS = new EfficiencySettings(Duration.ofHours(1), Duration.ofHours(24),
            100_000, 1_000, 10, 0.02, 0.05);

    public EfficiencySettings {
        Objects.requireNonNull(taskIdle, "taskIdle");
        Objects.requireNonNull(taskRetention, "taskRetention");
        if (taskIdle.isNegative() || taskIdle.isZero()) {
            throw new IllegalArgumentException("taskIdle: " + taskIdle + " (expected: > 0)");
        }
        if (taskRetention.compareTo(taskIdle) < 0) {
            throw new IllegalArgumentException("taskRetention: " + taskRetention + " (expected: >= taskIdle " + taskIdle + ")");
        }
        if (maxTasks <= 0) {
            throw new IllegalArgumentException("maxTasks: " + maxTasks + " (expected: > 0)");
        }
        if (auditWindow <= 0) {
            throw new IllegalArgumentException("auditWindow: " + auditWindow + " (expected: > 0)");
        }
        if (auditMinCalls <= 0 || auditMinCalls > auditWindow) {
            throw new IllegalArgumentException("auditMinCalls: " + auditMinCalls + " (expected: 1 to auditWindow " + auditWindow + ")");
        }
        if (!(auditThreshold > 0)) {
            throw new IllegalArgumentException("auditThreshold: " + auditThreshold + " (expected: > 0)");
        }
        if (!(calibrationAlpha > 0 && calibrationAlpha <= 1)) {
            throw new IllegalArgumentException("calibrationAlpha: " + calibrationAlpha + " (expected: > 0 and <= 1)");
        }
    }

    /** These settings with another idle time (and a retention at least as long). */
    public EfficiencySettings withTaskIdle(Duration idle) {
        Duration retention = taskRetention.compareTo(idle) < 0 ? idle : taskRetention;
        return new EfficiencySettings(idle, retention, maxTasks, auditWindow, auditMinCalls, auditThreshold,
                calibrationAlpha);
    }
}
