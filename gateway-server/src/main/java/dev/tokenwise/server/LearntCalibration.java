package dev.tokenwise.server;

import dev.tokenwise.core.spi.TokenCalibration;
import dev.tokenwise.metrics.efficiency.EfficiencyTracker;

/**
 * Calibrates local estimates with the provider/local token ratios the billing audit learns per model.
 * A ratio outside {@code [0.5, 2]} is treated as not learnt yet (an outlier, or too few samples).
 */
final class LearntCalibration implements TokenCalibration {
    private final EfficiencyTracker efficiency;

    LearntCalibration(EfficiencyTracker efficiency) {
        this.efficiency = efficiency;
    }

    @Override
    public long input(String model, long estimatedTokens) {
        return efficiency.calibration(model).map(c -> scale(estimatedTokens, c.inputRatio())).orElse(estimatedTokens);
    }

    @Override
    public long output(String model, long estimatedTokens) {
        return efficiency.calibration(model).map(c -> scale(estimatedTokens, c.outputRatio())).orElse(estimatedTokens);
    }

    static long scale(long tokens, double ratio) {
        if (!(ratio >= 0.5 && ratio <= 2.0)) {
            return tokens;
        }
        return Math.round(tokens * ratio);
    }
}
