package dev.tokenwise.core.model;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;

/**
 * Prices of one model in nano-USD per million tokens (so {@code $0.15 / Mtok} is {@code 150_000_000}).
 * Keeping the per-million unit makes every published price an exact integer; the cost of a call is
 * computed in one integer sum and rounded once, half up, to whole nano-USD.
 *
 * @param inputNanosPerMtok uncached prompt tokens
 * @param outputNanosPerMtok completion tokens that are not reasoning
 * @param cachedInputNanosPerMtok prompt tokens read from cache
 * @param cacheWriteNanosPerMtok prompt tokens written to cache
 * @param reasoningNanosPerMtok reasoning tokens
 * @param maxOutputTokens the model's output cap, {@code 0} when unknown
 */
public record ModelPrice(long inputNanosPerMtok, long outputNanosPerMtok, long cachedInputNanosPerMtok,
                         long cacheWriteNanosPerMtok, long reasoningNanosPerMtok, long maxOutputTokens) {

    private static final long MTOK = 1_000_000L;

    public ModelPrice {
        if (inputNanosPerMtok < 0 || outputNanosPerMtok < 0 || cachedInputNanosPerMtok < 0
                || cacheWriteNanosPerMtok < 0 || reasoningNanosPerMtok < 0 || maxOutputTokens < 0) {
            throw new IllegalArgumentException("prices must be >= 0");
        }
    }

    /** Input and output prices only; cached input and cache writes at the input price, reasoning at the output price. */
    public static ModelPrice of(long inputNanosPerMtok, long outputNanosPerMtok) {
        return new ModelPrice(inputNanosPerMtok, outputNanosPerMtok, inputNanosPerMtok, inputNanosPerMtok,
                outputNanosPerMtok, 0);
    }

    /**
     * Converts a price in USD per million tokens (as written in configs and catalogs) to nano-USD per
     * million tokens, exactly; a price with more than nine decimals is rejected.
     */
    public static long usdPerMtokToNanos(BigDecimal usdPerMtok) {
        if (usdPerMtok.signum() < 0) {
            throw new IllegalArgumentException("price: " + usdPerMtok + " (expected: >= 0)");
        }
        try {
            return usdPerMtok.movePointRight(9).setScale(0, RoundingMode.UNNECESSARY).longValueExact();
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("price: " + usdPerMtok + " (expected: at most 9 decimals, below 9e9)");
        }
    }

    /**
     * The cost of {@code usage} in nano-USD, rounded half up once. The sum is taken in a {@code long} when it fits
     * there (every ordinary call) and otherwise exactly in a {@link BigInteger}, so the result is right whenever
     * it fits a {@code long}.
     *
     * @throws ArithmeticException when the cost itself does not fit a {@code long} (over $9.2 billion)
     */
    public long costNanos(TokenUsage usage) {
        long uncachedInput = usage.inputTokens() - usage.cachedInputTokens() - usage.cacheWriteTokens();
        long plainOutput = usage.outputTokens() - usage.reasoningTokens();
        try {
            long nanoMtok = Math.multiplyExact(uncachedInput, inputNanosPerMtok);
            nanoMtok = Math.addExact(nanoMtok, Math.multiplyExact(usage.cachedInputTokens(), cachedInputNanosPerMtok));
            nanoMtok = Math.addExact(nanoMtok, Math.multiplyExact(usage.cacheWriteTokens(), cacheWriteNanosPerMtok));
            nanoMtok = Math.addExact(nanoMtok, Math.multiplyExact(plainOutput, outputNanosPerMtok));
            nanoMtok = Math.addExact(nanoMtok, Math.multiplyExact(usage.reasoningTokens(), reasoningNanosPerMtok));
            return Math.addExact(nanoMtok, MTOK / 2) / MTOK;
        } catch (ArithmeticException beyondLong) {
            BigInteger nanoMtok = BigInteger.valueOf(uncachedInput).multiply(BigInteger.valueOf(inputNanosPerMtok))
                    .add(BigInteger.valueOf(usage.cachedInputTokens()).multiply(BigInteger.valueOf(cachedInputNanosPerMtok)))
                    .add(BigInteger.valueOf(usage.cacheWriteTokens()).multiply(BigInteger.valueOf(cacheWriteNanosPerMtok)))
                    .add(BigInteger.valueOf(plainOutput).multiply(BigInteger.valueOf(outputNanosPerMtok)))
                    .add(BigInteger.valueOf(usage.reasoningTokens()).multiply(BigInteger.valueOf(reasoningNanosPerMtok)));
            return nanoMtok.add(BigInteger.valueOf(MTOK / 2)).divide(BigInteger.valueOf(MTOK)).longValueExact();
        }
    }

    /**
     * What the provider's prompt cache saved on {@code usage}: its cached input tokens at the input price minus the
     * same tokens at the cached-input price, in nano-USD, rounded half up once; {@code 0} when nothing was cached or
     * cached input is not cheaper. Saturates at {@code Long.MAX_VALUE} (no call saves that much).
     */
    public long promptCacheSavedNanos(TokenUsage usage) {
        long discount = inputNanosPerMtok - cachedInputNanosPerMtok;
        if (usage.cachedInputTokens() == 0 || discount <= 0) {
            return 0;
        }
        try {
            return Math.addExact(Math.multiplyExact(usage.cachedInputTokens(), discount), MTOK / 2) / MTOK;
        } catch (ArithmeticException beyondLong) {
            return Long.MAX_VALUE;
        }
    }

    /**
     * The most {@code inputTokens} in and {@code outputTokens} out can cost: every input token at the
     * dearer of the input and cache-write rates, every output token at the dearer of the output and
     * reasoning rates. Used to reserve budget before a call.
     */
    public long worstCaseNanos(long inputTokens, long outputTokens) {
        long nanoMtok = Math.addExact(Math.multiplyExact(inputTokens, Math.max(inputNanosPerMtok, cacheWriteNanosPerMtok)),
                Math.multiplyExact(outputTokens, Math.max(outputNanosPerMtok, reasoningNanosPerMtok)));
        return (nanoMtok + MTOK - 1) / MTOK;
    }
}
