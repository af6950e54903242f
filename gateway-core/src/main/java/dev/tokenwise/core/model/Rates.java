package dev.tokenwise.core.model;

import java.math.BigInteger;
import java.math.RoundingMode;

/**
 * One set of per-token rates, in nano-USD per million tokens: what a model charges at one input size on one
 * service tier ({@link ModelPrice} chooses which set applies to a call).
 *
 * @param inputNanosPerMtok uncached prompt tokens
 * @param outputNanosPerMtok completion tokens that are not reasoning
 * @param cachedInputNanosPerMtok prompt tokens read from cache
 * @param cacheWriteNanosPerMtok prompt tokens written to cache for the default duration (Anthropic: 5 minutes)
 * @param cacheWrite1hNanosPerMtok prompt tokens written to cache for one hour (Anthropic's {@code ttl: 1h})
 * @param reasoningNanosPerMtok reasoning tokens
 */
public record Rates(long inputNanosPerMtok, long outputNanosPerMtok, long cachedInputNanosPerMtok,
                   long cacheWriteNanosPerMtok, long cacheWrite1hNanosPerMtok, long reasoningNanosPerMtok) {

    static final long MTOK = 1_000_000L;
    /** A multiplier of 1, in parts per million. */
    public static final long ONE_PPM = 1_000_000L;

    public Rates {
        if (inputNanosPerMtok < 0 || outputNanosPerMtok < 0 || cachedInputNanosPerMtok < 0
                || cacheWriteNanosPerMtok < 0 || cacheWrite1hNanosPerMtok < 0 || reasoningNanosPerMtok < 0) {
            throw new IllegalArgumentException("prices must be >= 0");
        }
    }

    /**
     * The cost of {@code usage} at these rates in nano-USD, rounded half up once. The sum is taken in a {@code long}
     * when it fits there (every ordinary call) and otherwise exactly in a {@link BigInteger}.
     *
     * @throws ArithmeticException when the cost itself does not fit a {@code long} (over $9.2 billion)
     */
    public long costNanos(TokenUsage usage) {
        long uncachedInput = usage.inputTokens() - usage.cachedInputTokens() - usage.cacheWriteTokens();
        long write1h = usage.cacheWrite1hTokens();
        long write5m = usage.cacheWriteTokens() - write1h;
        long plainOutput = usage.outputTokens() - usage.reasoningTokens();
        try {
            long nanoMtok = Math.multiplyExact(uncachedInput, inputNanosPerMtok);
            nanoMtok = Math.addExact(nanoMtok, Math.multiplyExact(usage.cachedInputTokens(), cachedInputNanosPerMtok));
            nanoMtok = Math.addExact(nanoMtok, Math.multiplyExact(write5m, cacheWriteNanosPerMtok));
            nanoMtok = Math.addExact(nanoMtok, Math.multiplyExact(write1h, cacheWrite1hNanosPerMtok));
            nanoMtok = Math.addExact(nanoMtok, Math.multiplyExact(plainOutput, outputNanosPerMtok));
            nanoMtok = Math.addExact(nanoMtok, Math.multiplyExact(usage.reasoningTokens(), reasoningNanosPerMtok));
            return Math.addExact(nanoMtok, MTOK / 2) / MTOK;
        } catch (ArithmeticException beyondLong) {
            BigInteger nanoMtok = big(uncachedInput).multiply(big(inputNanosPerMtok))
                    .add(big(usage.cachedInputTokens()).multiply(big(cachedInputNanosPerMtok)))
                    .add(big(write5m).multiply(big(cacheWriteNanosPerMtok)))
                    .add(big(write1h).multiply(big(cacheWrite1hNanosPerMtok)))
                    .add(big(plainOutput).multiply(big(outputNanosPerMtok)))
                    .add(big(usage.reasoningTokens()).multiply(big(reasoningNanosPerMtok)));
            return nanoMtok.add(big(MTOK / 2)).divide(big(MTOK)).longValueExact();
        }
    }

    /** The dearest rate an input token can be billed at (plain, or written to cache for either duration). */
    public long dearestInputNanosPerMtok() {
        return Math.max(inputNanosPerMtok, Math.max(cacheWriteNanosPerMtok, cacheWrite1hNanosPerMtok));
    }

    /** The dearest rate an output token can be billed at (plain or reasoning). */
    public long dearestOutputNanosPerMtok() {
        return Math.max(outputNanosPerMtok, reasoningNanosPerMtok);
    }

    /**
     * These rates times {@code multiplierPpm} parts per million, each rounded half up to a whole nano-USD per
     * million tokens (10^-15 USD a token): e.g. OpenAI's flex tier is {@code scaled(500_000)}.
     *
     * @throws ArithmeticException when a scaled rate does not fit a {@code long}
     */
    public Rates scaled(long multiplierPpm) {
        if (multiplierPpm < 0) {
            throw new IllegalArgumentException("multiplier: " + multiplierPpm + " ppm (expected: >= 0)");
        }
        if (multiplierPpm == ONE_PPM) {
            return this;
        }
        return new Rates(scale(inputNanosPerMtok, multiplierPpm), scale(outputNanosPerMtok, multiplierPpm),
                scale(cachedInputNanosPerMtok, multiplierPpm), scale(cacheWriteNanosPerMtok, multiplierPpm),
                scale(cacheWrite1hNanosPerMtok, multiplierPpm), scale(reasoningNanosPerMtok, multiplierPpm));
    }

    private static long scale(long nanosPerMtok, long ppm) {
        return new java.math.BigDecimal(big(nanosPerMtok).multiply(big(ppm)))
                .movePointLeft(6).setScale(0, RoundingMode.HALF_UP).longValueExact();
    }

    /** The canonical text of these rates, for {@link ModelPrice#id()}. */
    String canonical() {
        return inputNanosPerMtok + "/" + outputNanosPerMtok + "/" + cachedInputNanosPerMtok + "/"
                + cacheWriteNanosPerMtok + "/" + cacheWrite1hNanosPerMtok + "/" + reasoningNanosPerMtok;
    }

    private static BigInteger big(long value) {
        return BigInteger.valueOf(value);
    }
}
