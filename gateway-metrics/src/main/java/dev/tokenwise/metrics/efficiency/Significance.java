package dev.tokenwise.metrics.efficiency;

/**
 * The significance tests of the drift detector, from sufficient statistics (counts, sums, sums of squares).
 * All p-values are two-sided.
 *
 * <ul>
 *   <li>Rates: the two-proportion z-test with a pooled proportion.</li>
 *   <li>Means: Welch's t-test (unequal variances, Welch–Satterthwaite degrees of freedom).</li>
 *   <li>Ratios of sums (tokens or cost per success): a Welch-type z-test whose variances come from the delta
 *       method (linearisation of {@code ΣY / ΣS}).</li>
 * </ul>
 *
 * <p>Implementation note: the normal tail is the regularised upper incomplete gamma function
 * {@code Q(1/2, z²/2)}, Student's t tail the regularised incomplete beta function
 * {@code I(df/(df+t²); df/2, 1/2)}; both are evaluated with the series and continued fractions of Numerical
 * Recipes (§6.2, §6.4), to about 1e-12 relative, far finer than the 0.01 level they are compared with.
 */
final class Significance {
    private static final int MAX_ITERATIONS = 500;
    private static final double EPSILON = 1e-14;
    private static final double TINY = 1e-300;

    private Significance() {
    }

    /** Two-sided p of the difference between {@code x1/n1} and {@code x2/n2}; 1 when it cannot be told apart. */
    static double twoProportions(long x1, long n1, long x2, long n2) {
        if (n1 <= 0 || n2 <= 0) {
            return 1;
        }
        double p1 = (double) x1 / n1;
        double p2 = (double) x2 / n2;
        double pooled = (double) (x1 + x2) / (n1 + n2);
        double se = Math.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2));
        if (se == 0) {
            return 1; // both all 0 or all 1: no difference
        }
        return normalTwoSided((p2 - p1) / se);
    }

    /**
     * Welch's t-test: two-sided p of the difference between two means, each given by its count, sum and sum
     * of squares; 1 with fewer than two samples on a side.
     */
    static double welch(long n1, double sum1, double squares1, long n2, double sum2, double squares2) {
        if (n1 < 2 || n2 < 2) {
            return 1;
        }
        double m1 = sum1 / n1;
        double m2 = sum2 / n2;
        double v1 = Math.max(0, (squares1 - n1 * m1 * m1) / (n1 - 1)) / n1;
        double v2 = Math.max(0, (squares2 - n2 * m2 * m2) / (n2 - 1)) / n2;
        double se2 = v1 + v2;
        if (se2 == 0) {
            return m1 == m2 ? 1 : 0;
        }
        double t = (m2 - m1) / Math.sqrt(se2);
        double df = se2 * se2 / (v1 * v1 / (n1 - 1) + v2 * v2 / (n2 - 1));
        return studentTwoSided(t, df);
    }

    /**
     * The variance of the ratio estimator {@code R = ΣY / ΣS} over {@code n} units by the delta method:
     * {@code n · Σ(y − R·s)² / ((n − 1) · (ΣS)²)}, where {@code Σ(y − R·s)² = ΣY² − 2R·ΣYS + R²·ΣS²}.
     * NaN when it is undefined.
     */
    static double ratioVariance(long n, double sumY, double sumYSquared, double sumYS, double sumS,
                                double sumSSquared) {
        if (n < 2 || sumS <= 0) {
            return Double.NaN;
        }
        double r = sumY / sumS;
        double residual = Math.max(0, sumYSquared - 2 * r * sumYS + r * r * sumSSquared);
        return n * residual / ((n - 1) * sumS * sumS);
    }

    /** Two-sided p of the difference between two estimates with these variances (normal approximation). */
    static double zTest(double estimate1, double variance1, double estimate2, double variance2) {
        double se2 = variance1 + variance2;
        if (Double.isNaN(se2)) {
            return 1;
        }
        if (se2 == 0) {
            return estimate1 == estimate2 ? 1 : 0;
        }
        return normalTwoSided((estimate2 - estimate1) / Math.sqrt(se2));
    }

    /** {@code P(|Z| ≥ |z|)} for a standard normal Z. */
    static double normalTwoSided(double z) {
        if (Double.isNaN(z)) {
            return 1;
        }
        return gammaQ(0.5, z * z / 2);
    }

    /** {@code P(|T| ≥ |t|)} for Student's t with {@code df} degrees of freedom. */
    static double studentTwoSided(double t, double df) {
        if (Double.isNaN(t) || !(df > 0)) {
            return 1;
        }
        if (Double.isInfinite(df)) {
            return normalTwoSided(t);
        }
        return incompleteBeta(df / 2, 0.5, df / (df + t * t));
    }

    /** The {@code q}-quantile of the chi-square distribution with {@code df} degrees of freedom (bisection). */
    static double chiSquareQuantile(double q, double df) {
        double lo = 0;
        double hi = Math.max(1, df);
        while (1 - gammaQ(df / 2, hi / 2) < q) {
            hi *= 2;
        }
        for (int i = 0; i < 200 && hi - lo > 1e-12 * hi; i++) {
            double mid = (lo + hi) / 2;
            if (1 - gammaQ(df / 2, mid / 2) < q) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        return (lo + hi) / 2;
    }

    /** The natural log of Γ(x), x > 0 (Lanczos, g = 7, n = 9). */
    static double logGamma(double x) {
        if (x < 0.5) {
            return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
        }
        double[] c = {0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
                -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
                1.5056327351493116e-7};
        x -= 1;
        double a = c[0];
        double t = x + 7.5;
        for (int i = 1; i < 9; i++) {
            a += c[i] / (x + i);
        }
        return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
    }

    /** The regularised upper incomplete gamma function Q(a, x). */
    static double gammaQ(double a, double x) {
        if (x <= 0) {
            return 1;
        }
        if (x < a + 1) {
            return 1 - gammaSeries(a, x);
        }
        return gammaContinuedFraction(a, x);
    }

    private static double gammaSeries(double a, double x) {
        double ap = a;
        double sum = 1 / a;
        double del = sum;
        for (int n = 0; n < MAX_ITERATIONS; n++) {
            ap++;
            del *= x / ap;
            sum += del;
            if (Math.abs(del) < Math.abs(sum) * EPSILON) {
                break;
            }
        }
        return sum * Math.exp(-x + a * Math.log(x) - logGamma(a));
    }

    private static double gammaContinuedFraction(double a, double x) {
        double b = x + 1 - a;
        double c = 1 / TINY;
        double d = 1 / b;
        double h = d;
        for (int i = 1; i < MAX_ITERATIONS; i++) {
            double an = -i * (i - a);
            b += 2;
            d = an * d + b;
            if (Math.abs(d) < TINY) {
                d = TINY;
            }
            c = b + an / c;
            if (Math.abs(c) < TINY) {
                c = TINY;
            }
            d = 1 / d;
            double del = d * c;
            h *= del;
            if (Math.abs(del - 1) < EPSILON) {
                break;
            }
        }
        return Math.exp(-x + a * Math.log(x) - logGamma(a)) * h;
    }

    /** The regularised incomplete beta function I_x(a, b). */
    static double incompleteBeta(double a, double b, double x) {
        if (x <= 0) {
            return 0;
        }
        if (x >= 1) {
            return 1;
        }
        double front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
        if (x < (a + 1) / (a + b + 2)) {
            return front * betaContinuedFraction(a, b, x) / a;
        }
        return 1 - front * betaContinuedFraction(b, a, 1 - x) / b;
    }

    private static double betaContinuedFraction(double a, double b, double x) {
        double qab = a + b;
        double qap = a + 1;
        double qam = a - 1;
        double c = 1;
        double d = 1 - qab * x / qap;
        if (Math.abs(d) < TINY) {
            d = TINY;
        }
        d = 1 / d;
        double h = d;
        for (int m = 1; m < MAX_ITERATIONS; m++) {
            int m2 = 2 * m;
            double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
            d = 1 + aa * d;
            if (Math.abs(d) < TINY) {
                d = TINY;
            }
            c = 1 + aa / c;
            if (Math.abs(c) < TINY) {
                c = TINY;
            }
            d = 1 / d;
            h *= d * c;
            aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
            d = 1 + aa * d;
            if (Math.abs(d) < TINY) {
                d = TINY;
            }
            c = 1 + aa / c;
            if (Math.abs(c) < TINY) {
                c = TINY;
            }
            d = 1 / d;
            double del = d * c;
            h *= del;
            if (Math.abs(del - 1) < EPSILON) {
                break;
            }
        }
        return h;
    }
}
