package dev.tokenwise.metrics.routing;

import java.util.random.RandomGenerator;

/**
 * Draws from a Beta distribution as {@code X / (X + Y)} with {@code X ~ Gamma(a)}, {@code Y ~ Gamma(b)}; Gamma by
 * Marsaglia and Tsang's method (2000), with the {@code a < 1} boost {@code Gamma(a) = Gamma(a + 1) U^(1/a)}.
 */
final class BetaSampler {
    private BetaSampler() {
    }

    static double sample(double a, double b, RandomGenerator random) {
        double x = gamma(a, random);
        double y = gamma(b, random);
        return x / (x + y);
    }

    static double gamma(double shape, RandomGenerator random) {
        if (shape < 1) {
            return gamma(shape + 1, random) * Math.pow(random.nextDouble(), 1 / shape);
        }
        double d = shape - 1.0 / 3;
        double c = 1 / Math.sqrt(9 * d);
        while (true) {
            double z = random.nextGaussian();
            double v = 1 + c * z;
            if (v <= 0) {
                continue;
            }
            v = v * v * v;
            double u = random.nextDouble();
            if (Math.log(u) < 0.5 * z * z + d - d * v + d * Math.log(v)) {
                return d * v;
            }
        }
    }
}
