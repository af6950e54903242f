package dev.tokenwise.core.config;


/**
 * The rate limits of one holder (a team, a key or a model); {@code 0} means no limit of that kind.
 *
 * @param requestsPerMinute requests admitted per minute, GCRA: a full minute's worth may come at once, then one
 *     every {@code 60 s / limit}
 * @param tokensPerMinute input plus output tokens per minute, reserved at admission (input bound plus output cap)
 *     and settled to what the call really used
 * @param concurrentRequests calls in flight at once
 */
public record RateLimits(long requestsPerMinute, long tokensPerMinute, int concurrentRequests) {
    /** No limit at all. */
    public static final RateLimits NONE = new RateLimits(0, 0, 0);
    /** The largest per-minute figure accepted: one a nanosecond. */
    public static final long MAX_PER_MINUTE = 60_000_000_000L;

    public RateLimits {
        if (requestsPerMinute < 0 || requestsPerMinute > MAX_PER_MINUTE) {
            throw new ConfigException("rate_limits.requests_per_minute: " + requestsPerMinute
                    + " (expected: 1.." + MAX_PER_MINUTE + ", or absent)");
        }
        if (tokensPerMinute < 0 || tokensPerMinute > MAX_PER_MINUTE) {
            throw new ConfigException("rate_limits.tokens_per_minute: " + tokensPerMinute
                    + " (expected: 1.." + MAX_PER_MINUTE + ", or absent)");
        }
        if (concurrentRequests < 0) {
            throw new ConfigException("rate_limits.concurrent_requests: " + concurrentRequests + " (expected: >= 1, or absent)");
        }
    }

    /** {@code true} when no limit is set. */
    public boolean isNone() {
        return requestsPerMinute == 0 && tokensPerMinute == 0 && concurrentRequests == 0;
    }
}
