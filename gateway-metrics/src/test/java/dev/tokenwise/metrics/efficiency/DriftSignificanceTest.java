package dev.tokenwise.metrics.efficiency;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** The tests behind {@link DriftDetector}, against textbook values and brute-force computations. */
class DriftSignificanceTest {

    @Test
    void normalTailMatchesTheTables() {
        assertEquals(1.0, Significance.normalTwoSided(0), 1e-12);
        assertEquals(0.05, Significance.normalTwoSided(1.959963985), 1e-9);
        assertEquals(0.01, Significance.normalTwoSided(-2.575829304), 1e-9);
        assertEquals(0.3173105079, Significance.normalTwoSided(1), 1e-9);
        assertEquals(5.733031e-7, Significance.normalTwoSided(5), 1e-12);
    }

    @Test
    void studentTailMatchesTheTablesAndTheCauchyDistribution() {
        assertEquals(0.05, Significance.studentTwoSided(2.228138852, 10), 1e-8);
        assertEquals(0.01, Significance.studentTwoSided(3.169272673, 10), 1e-8);
        assertEquals(0.05, Significance.studentTwoSided(2.042272456, 30), 1e-8);
        for (double t : new double[] {0.1, 1, 3, 30}) {
            // df = 1 is the Cauchy distribution: P(|T| >= t) = 1 - 2 atan(t) / pi
            assertEquals(1 - 2 * Math.atan(t) / Math.PI, Significance.studentTwoSided(t, 1), 1e-10);
        }
        assertEquals(Significance.normalTwoSided(2.5), Significance.studentTwoSided(2.5, 1e7), 1e-6);
    }

    @Test
    void logGammaMatchesFactorials() {
        assertEquals(Math.log(24), Significance.logGamma(5), 1e-12);
        assertEquals(Math.log(Math.sqrt(Math.PI)), Significance.logGamma(0.5), 1e-12);
        assertEquals(Math.log(362_880), Significance.logGamma(10), 1e-10);
    }

    @Test
    void twoProportionTestMatchesAHandComputation() {
        // 50/56 vs 8/12: pooled 58/68, z = (8/12 - 50/56) / sqrt(p(1-p)(1/56 + 1/12))
        double pooled = 58.0 / 68;
        double z = (8.0 / 12 - 50.0 / 56) / Math.sqrt(pooled * (1 - pooled) * (1.0 / 56 + 1.0 / 12));
        assertEquals(Significance.normalTwoSided(z), Significance.twoProportions(50, 56, 8, 12), 1e-15);
        assertEquals(1.0, Significance.twoProportions(10, 10, 5, 5), 0, "all successes on both sides");
        assertEquals(1.0, Significance.twoProportions(0, 0, 5, 5), 0);
    }

    @Test
    void welchTestMatchesABruteForceComputation() {
        Random random = new Random(1);
        double[] a = new double[40];
        double[] b = new double[15];
        for (int i = 0; i < a.length; i++) {
            a[i] = 300 + random.nextGaussian() * 50;
        }
        for (int i = 0; i < b.length; i++) {
            b[i] = 340 + random.nextGaussian() * 90;
        }
        double ma = mean(a);
        double mb = mean(b);
        double va = variance(a, ma) / a.length;
        double vb = variance(b, mb) / b.length;
        double t = (mb - ma) / Math.sqrt(va + vb);
        double df = (va + vb) * (va + vb) / (va * va / (a.length - 1) + vb * vb / (b.length - 1));
        assertEquals(Significance.studentTwoSided(t, df),
                Significance.welch(a.length, sum(a), squares(a), b.length, sum(b), squares(b)), 1e-9);
    }

    @Test
    void ratioVarianceMatchesTheDeltaMethodComputedPerUnit() {
        Random random = new Random(3);
        int n = 200;
        double[] y = new double[n];
        double[] s = new double[n];
        double sumY = 0;
        double sumS = 0;
        double sumYY = 0;
        double sumYS = 0;
        for (int i = 0; i < n; i++) {
            y[i] = 500 + random.nextGaussian() * 100;
            s[i] = random.nextDouble() < 0.8 ? 1 : 0;
            sumY += y[i];
            sumS += s[i];
            sumYY += y[i] * y[i];
            sumYS += y[i] * s[i];
        }
        double r = sumY / sumS;
        double residuals = 0;
        for (int i = 0; i < n; i++) {
            residuals += (y[i] - r * s[i]) * (y[i] - r * s[i]);
        }
        double sBar = sumS / n;
        double expected = residuals / (n - 1) / (n * sBar * sBar);
        assertEquals(expected, Significance.ratioVariance(n, sumY, sumYY, sumYS, sumS, sumS), expected * 1e-9);
    }

    private static double sum(double[] x) {
        double s = 0;
        for (double v : x) {
            s += v;
        }
        return s;
    }

    private static double squares(double[] x) {
        double s = 0;
        for (double v : x) {
            s += v * v;
        }
        return s;
    }

    private static double mean(double[] x) {
        return sum(x) / x.length;
    }

    private static double variance(double[] x, double mean) {
        double s = 0;
        for (double v : x) {
            s += (v - mean) * (v - mean);
        }
        return s / (x.length - 1);
    }
}
