package dev.tokenwise.core.model;

/**
 * Token usage of one call, normalised to OpenAI's meaning: {@code inputTokens} includes cached and
 * cache-write tokens, {@code outputTokens} includes reasoning tokens. Adapters of providers that
 * report them separately (Anthropic) add them up.
 *
 * @param inputTokens all prompt tokens
 * @param cachedInputTokens prompt tokens read from the provider's cache (part of {@code inputTokens})
 * @param cacheWriteTokens prompt tokens written to the provider's cache (part of {@code inputTokens})
 * @param outputTokens all completion tokens
 * @param reasoningTokens hidden reasoning tokens (part of {@code outputTokens})
 * @param cacheWrite1hTokens prompt tokens written to cache for one hour (part of {@code cacheWriteTokens}; Anthropic's
 *     {@code cache_creation.ephemeral_1h_input_tokens}), billed at their own rate; the rest of the cache writes are of
 *     the default duration
 */
public record TokenUsage(long inputTokens, long cachedInputTokens, long cacheWriteTokens,
                         long outputTokens, long reasoningTokens, long cacheWrite1hTokens) {

    public static final TokenUsage ZERO = new TokenUsage(0, 0, 0, 0, 0);

    /** Usage without 1-hour cache writes. */
    public TokenUsage(long inputTokens, long cachedInputTokens, long cacheWriteTokens, long outputTokens,
                      long reasoningTokens) {
        this(inputTokens, cachedInputTokens, cacheWriteTokens, outputTokens, reasoningTokens, 0);
    }

    /**
     * The most tokens one call is believed to read, or to write: 10^9, a hundred times the largest context window
     * offered today. A provider's report above it is a fault (or an attack), not usage, and is not billed; below it
     * the cost of a call fits a {@code long} at any price below $4 million per million tokens.
     */
    public static final long MAX_PLAUSIBLE_TOKENS = 1_000_000_000L;

    public TokenUsage {
        if (inputTokens < 0 || cachedInputTokens < 0 || cacheWriteTokens < 0 || outputTokens < 0 || reasoningTokens < 0
                || cacheWrite1hTokens < 0) {
            throw new IllegalArgumentException("token counts must be >= 0");
        }
        if (cacheWrite1hTokens > cacheWriteTokens) {
            throw new IllegalArgumentException("1-hour cache-write tokens (" + cacheWrite1hTokens
                    + ") exceed cache-write tokens (" + cacheWriteTokens + ")");
        }
        if (cachedInputTokens > inputTokens - cacheWriteTokens) { // the sum could overflow; this difference cannot
            throw new IllegalArgumentException("cached + cache-write tokens (" + (cachedInputTokens + cacheWriteTokens)
                    + ") exceed input tokens (" + inputTokens + ")");
        }
        if (reasoningTokens > outputTokens) {
            throw new IllegalArgumentException("reasoning tokens (" + reasoningTokens
                    + ") exceed output tokens (" + outputTokens + ")");
        }
    }

    public static TokenUsage of(long inputTokens, long outputTokens) {
        return new TokenUsage(inputTokens, 0, 0, outputTokens, 0);
    }

    /**
     * {@code true} when neither side is above {@link #MAX_PLAUSIBLE_TOKENS} (the other counts are parts of these
     * two, so they are below it too).
     */
    public boolean plausible() {
        return inputTokens <= MAX_PLAUSIBLE_TOKENS && outputTokens <= MAX_PLAUSIBLE_TOKENS;
    }
}
