package dev.tokenwise.metrics.efficiency;

/**
 * One-sided CUSUM of log-likelihood-ratio increments (Page, 1954) with a ceiling, opened on persistence and
 * closed with hysteresis. Not thread-safe: its owner feeds and checks it from one thread.
 *
 * <p>The statistic is {@code S = min(ceiling, max(0, S + w))} over the increments {@code w} of the observations
 * in time order; with log-likelihood-ratio increments of an alternative against the pinned reference it is the
 * optimal detector of a lasting change of that size (Lorden, 1971; Moustakides, 1986). The observations since
 * {@code S} was last 0 are the <em>segment</em>: the maximum-likelihood estimate of when the change began, and
 * what messages report as "recent". The statistic is capped at twice the threshold.
 *
 * <p>An alarm opens when the statistic is above the threshold {@code h} at {@code k} of the last {@code n}
 * checks that saw new observations (persistence). It closes on evidence that the model is back, not on the
 * mere fading of the evidence that it changed (hysteresis): from the opening on, a second CUSUM
 * {@code R = max(0, R − w)} accumulates the reverse ratio (the reference against the alternative), and the alarm
 * closes when {@code R} is above {@code h} at {@code k} of the last {@code n} checks; both statistics then start
 * over. While the model stays worse {@code R} drifts down and stays near 0, so a lasting change stays alarmed,
 * once, however long it lasts; a run of good days does not close it.
 */
final class SequentialTest {
    /** What a {@link #check} decided. */
    enum Change { NONE, OPENED, CLOSED }

    private final double threshold;
    private final double ceiling;
    private final int persistK;
    private final int persistN;
    private final boolean[] above;
    private final boolean[] below;
    private int ring;
    private int checks;
    private double statistic;
    private double recovery;
    private boolean alarmed;
    private long observations;
    private long sinceLastCheck;
    private long segmentCount;
    private double segmentSum;
    private double segmentExtra;

    SequentialTest(double threshold, int persistK, int persistN) {
        if (!(threshold > 0)) {
            throw new IllegalArgumentException("threshold: " + threshold + " (expected: > 0)");
        }
        if (persistK < 1 || persistN < persistK) {
            throw new IllegalArgumentException("persistence: " + persistK + " of " + persistN
                    + " (expected: 1 <= k <= n)");
        }
        this.threshold = threshold;
        this.ceiling = 2 * threshold;
        this.persistK = persistK;
        this.persistN = persistN;
        this.above = new boolean[persistN];
        this.below = new boolean[persistN];
    }

    /**
     * One observation.
     *
     * @param increment its log-likelihood ratio, already divided by the dispersion
     * @param value what it measured (0 or 1 for a rate, the log value for a size), for the segment's mean
     * @param extra a second quantity summed over the segment (e.g. the task's tokens), 0 when unused
     */
    void add(double increment, double value, double extra) {
        if (!Double.isFinite(increment)) {
            return;
        }
        statistic = Math.min(ceiling, Math.max(0, statistic + increment));
        if (alarmed) {
            recovery = Math.min(ceiling, Math.max(0, recovery - increment));
        }
        observations++;
        sinceLastCheck++;
        if (statistic == 0) {
            segmentCount = 0;
            segmentSum = 0;
            segmentExtra = 0;
        } else {
            segmentCount++;
            segmentSum += value;
            segmentExtra += extra;
        }
    }

    /**
     * Records a check if observations arrived since the last one and opens or closes the alarm.
     *
     * @param allowed whether the alarm may open now (e.g. the per-token prices stayed put), asked only when it
     *     would; an open alarm still closes
     */
    Change check(java.util.function.BooleanSupplier allowed) {
        if (sinceLastCheck == 0) {
            return Change.NONE;
        }
        sinceLastCheck = 0;
        above[ring] = statistic > threshold;
        below[ring] = alarmed && recovery > threshold;
        ring = (ring + 1) % persistN;
        checks = Math.min(persistN, checks + 1);
        if (!alarmed && count(above) >= persistK && allowed.getAsBoolean()) {
            alarmed = true;
            recovery = 0;
            java.util.Arrays.fill(below, false);
            return Change.OPENED;
        }
        if (alarmed && count(below) >= persistK) {
            alarmed = false;
            statistic = 0;
            recovery = 0;
            segmentCount = 0;
            segmentSum = 0;
            segmentExtra = 0;
            java.util.Arrays.fill(above, false);
            java.util.Arrays.fill(below, false);
            return Change.CLOSED;
        }
        return Change.NONE;
    }

    private int count(boolean[] flags) {
        int n = 0;
        for (int i = 0; i < checks; i++) {
            if (flags[i]) {
                n++;
            }
        }
        return n;
    }

    boolean alarmed() {
        return alarmed;
    }

    double statistic() {
        return statistic;
    }

    double threshold() {
        return threshold;
    }

    /** The recovery statistic (0 unless alarmed). */
    double recovery() {
        return recovery;
    }

    long observations() {
        return observations;
    }

    /** Observations since the statistic was last 0. */
    long segmentCount() {
        return segmentCount;
    }

    /** Mean of the segment's values; NaN for an empty segment. */
    double segmentMean() {
        return segmentCount == 0 ? Double.NaN : segmentSum / segmentCount;
    }

    double segmentSum() {
        return segmentSum;
    }

    double segmentExtra() {
        return segmentExtra;
    }

    /** Solve {@code e^h - h - 1 = target}: Siegmund's approximation {@code ARL0 ≈ (e^h - h - 1) / KL} inverted. */
    static double threshold(double inControlRunLength, double klPerObservation) {
        double target = Math.max(1, inControlRunLength * klPerObservation);
        double h = Math.log(target + 1) + 1;
        for (int i = 0; i < 100; i++) {
            double f = Math.exp(h) - h - 1 - target;
            double step = f / (Math.exp(h) - 1);
            h -= step;
            if (Math.abs(step) < 1e-12) {
                break;
            }
        }
        return Math.max(1, h);
    }

    /** Kullback–Leibler divergence of Bernoulli({@code p}) from Bernoulli({@code q}). */
    static double klBernoulli(double p, double q) {
        return p * Math.log(p / q) + (1 - p) * Math.log((1 - p) / (1 - q));
    }
}
