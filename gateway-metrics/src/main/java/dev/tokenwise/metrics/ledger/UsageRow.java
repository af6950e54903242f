package dev.tokenwise.metrics.ledger;

/**
 * One group of {@link SqliteLedger#usage}: the grouping fields (the others are {@code null}) and the sums.
 *
 * @param team the team, for {@link GroupBy#TEAM} and {@link GroupBy#KEY}
 * @param keyId the key's id, for {@link GroupBy#KEY}
 * @param model the model, for {@link GroupBy#MODEL}
 * @param day the UTC date {@code yyyy-MM-dd}, for {@link GroupBy#DAY}
 * @param requests the number of calls
 * @param costNanos their cost in nano-USD
 * @param cacheHits the calls answered from the response cache
 * @param cacheSavedNanos what those answers cost when they were first bought, in nano-USD
 * @param promptCacheSavedNanos what the providers' prompt caches saved, in nano-USD
 */
public record UsageRow(String team, String keyId, String model, String day, long requests, long inputTokens,
                       long outputTokens, long cachedInputTokens, long reasoningTokens, long costNanos, long cacheHits,
                       long cacheSavedNanos, long promptCacheSavedNanos) {

    /** A row without cache figures. */
    public UsageRow(String team, String keyId, String model, String day, long requests, long inputTokens,
                    long outputTokens, long cachedInputTokens, long reasoningTokens, long costNanos) {
        this(team, keyId, model, day, requests, inputTokens, outputTokens, cachedInputTokens, reasoningTokens, costNanos,
                0, 0, 0);
    }
}
