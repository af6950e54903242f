package dev.tokenwise.metrics.efficiency;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The pinned in-control model of a size (tokens, cost) on the log scale, for a Gaussian CUSUM on standardised
 * logs: per stratum (team) the mean {@code μ} and standard deviation {@code σ} of the reference's log values, the
 * shift {@code ln(1 + change)} the test is tuned to detect, and the dispersion {@code φ}. Token counts are skewed
 * and their spread grows with their size; their logarithms are close to symmetric with a stable spread, and a
 * relative change is a shift of the log. Standardised values are clipped at ±4 so that one freak answer moves the
 * statistic by a bounded step; the tests compare with each stratum's mean moved by one standard error of the
 * whole reference's mean ({@code σ · sqrt(φ / n)}) towards the alternative. Strata and dispersion as in {@link RateReference}: {@code φ = max(1, Σ Z_g² / n_g /
 * (groups − strata))} with {@code Z_g} the sum of a group's standardised values.
 */
final class LogReference {
    private static final double MIN_SIGMA = 0.05;
    private static final double CLIP = 4;

    private final Map<String, double[]> strata; // stratum -> {mu, sigma, d}
    private final Set<String> own;
    private final double phi;
    private final double mean;
    private final long samples;
    private final double klPerObservation;

    private LogReference(Map<String, double[]> strata, Set<String> own, double phi, double mean, long samples,
                         double kl) {
        this.strata = strata;
        this.own = own;
        this.phi = phi;
        this.mean = mean;
        this.samples = samples;
        this.klPerObservation = kl;
    }

    /**
     * @param shift the change of the log to detect, signed ({@code ln(1.25)}: 25 % more)
     * @return {@code null} when no stratum has {@code minStratum} observations
     */
    static LogReference fit(List<Observation> points, double shift, int minStratum) {
        Map<String, double[]> sums = new HashMap<>(); // n, sum, sum of squares
        for (Observation o : points) {
            double[] s = sums.computeIfAbsent(o.stratum(), k -> new double[3]);
            s[0]++;
            s[1] += o.value();
            s[2] += o.value() * o.value();
        }
        Set<String> own = new HashSet<>();
        double[] other = new double[3];
        for (Map.Entry<String, double[]> e : sums.entrySet()) {
            if (e.getValue()[0] >= minStratum && !e.getKey().equals(RateReference.OTHER)) {
                own.add(e.getKey());
            } else {
                for (int i = 0; i < 3; i++) {
                    other[i] += e.getValue()[i];
                }
            }
        }
        Map<String, double[]> strata = new HashMap<>();
        for (String s : own) {
            strata.put(s, parameters(sums.get(s), shift));
        }
        if (other[0] >= minStratum) {
            strata.put(RateReference.OTHER, parameters(other, shift));
        }
        if (strata.isEmpty()) {
            return null;
        }
        Map<Long, double[]> groups = new HashMap<>(); // group -> {n, Z}
        double kl = 0;
        double total = 0;
        long n = 0;
        for (Observation o : points) {
            double[] p = own.contains(o.stratum()) ? strata.get(o.stratum()) : strata.get(RateReference.OTHER);
            if (p == null) {
                continue;
            }
            double[] g = groups.computeIfAbsent(o.group(), k -> new double[2]);
            g[0]++;
            g[1] += clip((o.value() - p[0]) / p[1]);
            kl += p[2] * p[2] / 2;
            total += o.value();
            n++;
        }
        double spread = 0;
        for (double[] g : groups.values()) {
            spread += g[1] * g[1] / g[0];
        }
        double phi = RateReference.dispersion(spread, groups.size() - strata.size());
        // The tests compare with the mean moved one standard error towards the alternative, as for rates.
        for (double[] p : strata.values()) {
            p[0] += Math.signum(shift) * p[1] * Math.sqrt(phi / Math.max(1, n));
        }
        return new LogReference(strata, own, phi, n == 0 ? Double.NaN : total / n, n, n == 0 ? 0 : kl / n / phi);
    }

    private static double[] parameters(double[] s, double shift) {
        double n = s[0];
        double mu = s[1] / n;
        double variance = n > 1 ? Math.max(0, (s[2] - n * mu * mu) / (n - 1)) : 0;
        double sigma = Math.max(MIN_SIGMA, Math.sqrt(variance));
        return new double[] {mu, sigma, shift / sigma};
    }

    private static double clip(double z) {
        return Math.max(-CLIP, Math.min(CLIP, z));
    }

    /** The increment of one log value, divided by {@code φ}; NaN when its stratum is left out. */
    double increment(String stratum, double value) {
        double[] p = own.contains(stratum) ? strata.get(stratum) : strata.get(RateReference.OTHER);
        if (p == null) {
            return Double.NaN;
        }
        double z = clip((value - p[0]) / p[1]);
        return (p[2] * z - p[2] * p[2] / 2) / phi;
    }

    double phi() {
        return phi;
    }

    /** The mean log value over the reference's kept observations. */
    double mean() {
        return mean;
    }

    long samples() {
        return samples;
    }

    double klPerObservation() {
        return klPerObservation;
    }
}
