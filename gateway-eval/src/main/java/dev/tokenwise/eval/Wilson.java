package dev.tokenwise.eval;

/**
 * The Wilson score interval of a proportion: unlike the normal ("Wald") interval it stays inside [0, 1] and keeps
 * close to its nominal coverage for small samples and rates near 0 or 1 (Brown, Cai and DasGupta, 2001).
 */
public final class Wilson {
    /** The two-sided 95 % normal quantile. */
    public static final double Z95 = 1.959963984540054;

    private Wilson() {
    }

    /** {@code [low, high]}. */
    public record Interval(double low, double high) {
    }

    /** The 95 % interval of {@code successes} out of {@code trials}; {@code [0, 1]} without trials. */
    public static Interval interval95(long successes, long trials) {
        return interval(successes, trials, Z95);
    }

    public static Interval interval(long successes, long trials, double z) {
        if (successes < 0 || trials < 0 || successes > trials) {
            throw new IllegalArgumentException("successes: " + successes + ", trials: " + trials
                    + " (expected: 0 <= successes <= trials)");
        }
        if (trials == 0) {
            return new Interval(0, 1);
        }
        double n = trials;
        double p = successes / n;
        double z2 = z * z;
        double centre = (p + z2 / (2 * n)) / (1 + z2 / n);
        double half = z / (1 + z2 / n) * Math.sqrt(p * (1 - p) / n + z2 / (4 * n * n));
        // Exact at the edges, where rounding could leave 0 or 1 just outside.
        double low = successes == 0 ? 0 : Math.max(0, centre - half);
        double high = successes == trials ? 1 : Math.min(1, centre + half);
        return new Interval(low, high);
    }
}
