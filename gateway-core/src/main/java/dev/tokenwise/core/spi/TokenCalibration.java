package dev.tokenwise.core.spi;

/**
 * Scales local token estimates of models without an exact tokenizer to what their providers bill, from
 * ratios learnt on calls where both were known. Used when a provider reports no usage (a stream cut short,
 * a provider that sends none), so such calls are charged closer to the truth.
 */
public interface TokenCalibration {

    /** No learnt ratios: estimates are used as they are. */
    TokenCalibration NONE = new TokenCalibration() {
        @Override
        public long input(String model, long estimatedTokens) {
            return estimatedTokens;
        }

        @Override
        public long output(String model, long estimatedTokens) {
            return estimatedTokens;
        }
    };

    long input(String model, long estimatedTokens);

    long output(String model, long estimatedTokens);
}
