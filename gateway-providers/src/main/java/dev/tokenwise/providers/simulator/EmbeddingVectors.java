package dev.tokenwise.providers.simulator;

import java.util.SplittableRandom;

/**
 * Deterministic unit-length embedding vectors. A vector is drawn from a Gaussian seeded with a hash of
 * the input, so directions are spread evenly over the sphere. The draws do not depend on the length, so a
 * shortened vector is the normalised prefix of the full one, as with OpenAI's {@code dimensions} parameter.
 */
final class EmbeddingVectors {

    private EmbeddingVectors() {
    }

    static float[] of(String input, int dimensions) {
        SplittableRandom random = new SplittableRandom(AnswerGenerator.fnv1a64(input));
        double[] values = new double[dimensions];
        double sumOfSquares = 0;
        for (int i = 0; i < dimensions; i++) {
            values[i] = random.nextGaussian();
            sumOfSquares += values[i] * values[i];
        }
        double norm = Math.sqrt(sumOfSquares);
        float[] vector = new float[dimensions];
        for (int i = 0; i < dimensions; i++) {
            vector[i] = (float) (values[i] / norm);
        }
        return vector;
    }
}
