package dev.tokenwise.metrics.efficiency;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The pinned in-control model of a rate (success, retry, truncation) for a quasi-binomial, risk-adjusted
 * Bernoulli CUSUM (Steiner et al., 2000): per stratum (team) its rate {@code p0} in the reference, the rate
 * {@code p1 = p0 + delta} the test is tuned to detect, and the dispersion {@code φ}.
 *
 * <ul>
 *   <li>Strata: a team with at least {@code minStratum} reference tasks has its own rate; smaller teams share one
 *       ("other"), kept only if it has {@code minStratum} tasks itself; tasks of teams in neither are left out
 *       (a team that appears later is not compared with another team's history). Comparing each task with its
 *       own team's rate is what keeps a change in traffic mix from reading as a change of the model.</li>
 *   <li>Rates are smoothed ({@code (x + 1) / (n + 2)}), so a stratum with no failures still has finite
 *       increments, and the tests compare with each stratum's rate moved by one standard error of the whole
 *       reference's rate, {@code sqrt(φ p (1 − p) / n)}, towards the alternative (the worst the reference plausibly
 *       was): a reference of a few hundred tasks, like the probes', knows its rate only to a point or two, and a
 *       test tuned against an overestimate drifts towards a false alarm.</li>
 *   <li>Dispersion: Pearson's {@code X² = Σ (O − E)² / V} over the reference's groups (days or probe runs), with
 *       {@code E} and {@code V} from each task's stratum rate; {@code φ = max(1, X² / (groups − strata))}. Day-to-day
 *       variation and calls of one task sharing a fate both show up as {@code φ > 1}; dividing the increments by
 *       {@code φ} is the quasi-likelihood correction, which keeps {@code exp(S)} close to a martingale under the
 *       reference at the scale of a group.</li>
 * </ul>
 */
final class RateReference {
    static final String OTHER = "";

    private final Map<String, double[]> strata; // stratum -> {p0, p1, a, b}
    private final double phi;
    private final double rate;
    private final long samples;
    private final double klPerObservation;

    private RateReference(Map<String, double[]> strata, double phi, double rate, long samples, double kl) {
        this.strata = strata;
        this.phi = phi;
        this.rate = rate;
        this.samples = samples;
        this.klPerObservation = kl;
    }

    /**
     * @param delta the change to detect, signed (−0.10: a drop of ten points)
     * @return {@code null} when no stratum has {@code minStratum} observations
     */
    static RateReference fit(List<Observation> points, double delta, int minStratum) {
        Map<String, long[]> counts = new HashMap<>();
        for (Observation o : points) {
            long[] c = counts.computeIfAbsent(o.stratum(), s -> new long[2]);
            c[0]++;
            c[1] += o.value() > 0.5 ? 1 : 0;
        }
        Set<String> own = new HashSet<>();
        long[] other = new long[2];
        for (Map.Entry<String, long[]> e : counts.entrySet()) {
            if (e.getValue()[0] >= minStratum && !e.getKey().equals(OTHER)) {
                own.add(e.getKey());
            } else {
                other[0] += e.getValue()[0];
                other[1] += e.getValue()[1];
            }
        }
        Map<String, long[]> kept = new HashMap<>();
        for (String s : own) {
            kept.put(s, counts.get(s));
        }
        if (other[0] >= minStratum) {
            kept.put(OTHER, other);
        }
        if (kept.isEmpty()) {
            return null;
        }
        // Dispersion over the groups, from each observation's stratum rate.
        Map<String, double[]> rates = new HashMap<>();
        kept.forEach((s, c) -> rates.put(s, parameters(c, delta, 0)));
        Map<Long, double[]> groups = new HashMap<>(); // group -> {O, E, V}
        long n = 0;
        long x = 0;
        for (Observation o : points) {
            double[] p = stratum(rates, own, o.stratum());
            if (p == null) {
                continue;
            }
            double[] g = groups.computeIfAbsent(o.group(), k -> new double[3]);
            g[0] += o.value();
            g[1] += p[0];
            g[2] += p[0] * (1 - p[0]);
            n++;
            x += o.value() > 0.5 ? 1 : 0;
        }
        double chi2 = 0;
        for (double[] g : groups.values()) {
            if (g[2] > 0) {
                chi2 += (g[0] - g[1]) * (g[0] - g[1]) / g[2];
            }
        }
        double phi = dispersion(chi2, groups.size() - kept.size());
        // The tests compare with the reference rate moved one standard error of the whole reference's rate
        // towards the alternative.
        double pooled = n == 0 ? 0.5 : (double) x / n;
        double se = n == 0 ? 0 : Math.sqrt(phi * pooled * (1 - pooled) / n);
        Map<String, double[]> strata = new HashMap<>();
        kept.forEach((s, c) -> strata.put(s, parameters(c, delta, se)));
        double kl = 0;
        for (Observation o : points) {
            double[] p = stratum(strata, own, o.stratum());
            if (p != null) {
                kl += SequentialTest.klBernoulli(p[0], p[1]);
            }
        }
        return new RateReference(strata, phi, n == 0 ? Double.NaN : (double) x / n, n, n == 0 ? 0 : kl / n / phi);
    }

    /**
     * {@code {p0, p1, ln(p1/p0), ln((1−p1)/(1−p0))}} of a stratum's counts: {@code p0} its smoothed rate, moved by
     * {@code shift} towards the alternative, and {@code p1 = p0 + delta}.
     */
    private static double[] parameters(long[] c, double delta, double shift) {
        double p0 = (c[1] + 1.0) / (c[0] + 2.0);
        if (shift > 0) {
            p0 += Math.signum(delta) * shift;
            p0 = Math.min(0.999, Math.max(0.001, p0));
        }
        double p1 = Math.min(0.999, Math.max(0.001, p0 + delta));
        return new double[] {p0, p1, Math.log(p1 / p0), Math.log((1 - p1) / (1 - p0))};
    }

    private static double[] stratum(Map<String, double[]> strata, Set<String> own, String s) {
        return own.contains(s) ? strata.get(s) : strata.get(OTHER);
    }

    /** The increment of one observation, divided by {@code φ}; NaN when its stratum is left out. */
    double increment(String stratum, boolean x) {
        double[] p = strata.containsKey(stratum) && !stratum.equals(OTHER) ? strata.get(stratum) : strata.get(OTHER);
        if (p == null) {
            return Double.NaN;
        }
        return (x ? p[2] : p[3]) / phi;
    }

    /**
     * The dispersion from a Pearson statistic on {@code df} degrees of freedom: not its point estimate
     * {@code X² / df} but an upper confidence bound {@code X² / χ²_df(0.25)} (at least 1). With a reference of four
     * weeks {@code df} is about 25, and {@code X² / df} is then off by ±28 %; an underestimate raises the false
     * alarms exponentially, an overestimate only slows detection in proportion, so the bound errs on the safe
     * side. Without a degree of freedom the dispersion cannot be measured and is taken as 2.
     */
    static double dispersion(double pearson, int df) {
        if (df < 1) {
            return 2;
        }
        return Math.max(1, pearson / Significance.chiSquareQuantile(DISPERSION_QUANTILE, df));
    }

    /** The lower quantile of chi-square that the dispersion's upper bound divides by. */
    static final double DISPERSION_QUANTILE = 0.25;

    double phi() {
        return phi;
    }

    /** The rate over the reference's kept observations. */
    double rate() {
        return rate;
    }

    long samples() {
        return samples;
    }

    /** {@code KL(p0 ‖ p1) / φ} averaged over the reference's observations: the in-control drift per observation. */
    double klPerObservation() {
        return klPerObservation;
    }

    int strata() {
        return strata.size();
    }
}
