package dev.tokenwise.metrics.ledger;

/**
 * The priced calls ({@code cost_nanos > 0}) of one model on one UTC day (of their arrival): what they cost
 * and their tokens by price class, so that the cost can be compared with a price list.
 *
 * @param uncachedInputTokens input tokens neither read from nor written to the cache
 * @param plainOutputTokens output tokens that are not reasoning tokens
 */
public record PriceBucket(String model, long epochDay, long calls, long costNanos, long uncachedInputTokens,
                          long cachedInputTokens, long cacheWriteTokens, long plainOutputTokens,
                          long reasoningTokens) {
}
