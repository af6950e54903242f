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
 * @param auditWindow the billing audit keeps the last this many per-call differences of each model, side and
 *     group of request features
 * @param auditMinCalls the fewest calls in a window before a discrepancy is raised
 * @param auditThreshold the shift of the median relative difference ({@code (provider − local) ÷ local}) that
 *     opens a {@code billing_discrepancy} (0.02: 2 %); the alert closes below half of it
 * @param calibrationAlpha the weight of each new call in the EWMA of provider/local token ratios of models
 *     without an exact tokenizer
 * @param auditShareShift the rise of the share of calls whose count differs that opens a
 *     {@code billing_discrepancy} (0.05: five points), judged on the share's lower confidence bound
 * @param auditBaselineCalls the calls of an estimated group (images, unproven tools, ...) whose differences become
 *     that group's baseline: only a shift from it is a finding
 */
public record EfficiencySettings(Duration taskIdle, Duration taskRetention, int maxTasks, int auditWindow,
                                 int auditMinCalls, double auditThreshold, double calibrationAlpha,
                                 double auditShareShift, int auditBaselineCalls) {

    public static final EfficiencySettings DEFAULTS = new EfficiencySettings(Duration.ofHours(1), Duration.ofHours(24),
            100_000, 1_000, 10, 0.02, 0.05, 0.05, 200);

    /** Settings with the default share shift (0.05) and baseline (200 calls, at most the window). */
    public EfficiencySettings(Duration taskIdle, Duration taskRetention, int maxTasks, int auditWindow,
                              int auditMinCalls, double auditThreshold, double calibrationAlpha) {
        this(taskIdle, taskRetention, maxTasks, auditWindow, auditMinCalls, auditThreshold, calibrationAlpha, 0.05,
                Math.min(200, auditWindow));
    }

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
        if (!(auditShareShift > 0 && auditShareShift < 1)) {
            throw new IllegalArgumentException("auditShareShift: " + auditShareShift + " (expected: > 0 and < 1)");
        }
        if (auditBaselineCalls < auditMinCalls || auditBaselineCalls > auditWindow) {
            throw new IllegalArgumentException("auditBaselineCalls: " + auditBaselineCalls + " (expected: auditMinCalls "
                    + auditMinCalls + " to auditWindow " + auditWindow + ")");
        }
    }

    /** These settings with another idle time (and a retention at least as long). */
    public EfficiencySettings withTaskIdle(Duration idle) {
        Duration retention = taskRetention.compareTo(idle) < 0 ? idle : taskRetention;
        return new EfficiencySettings(idle, retention, maxTasks, auditWindow, auditMinCalls, auditThreshold,
                calibrationAlpha, auditShareShift, auditBaselineCalls);
    }
}
