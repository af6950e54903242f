package dev.tokenwise.core.config;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * The rate limits the config file sets ({@code rate_limits:} of teams, keys and models), and how long a call may be
 * held for a provider that announced its own limit was reached.
 *
 * @param teams limits by team name
 * @param keys limits by key id
 * @param models limits by model name (all teams together)
 * @param upstreamMaxWait the longest a call waits for a provider's announced reset (its 429, or its
 *     {@code x-ratelimit-remaining-*} at zero); a longer reset answers 429 at once
 */
public record RateLimitConfig(Map<String, RateLimits> teams, Map<String, RateLimits> keys,
                              Map<String, RateLimits> models, Duration upstreamMaxWait) {
    /** No limits; calls wait up to 2 s for a provider's reset. */
    public static final RateLimitConfig NONE = new RateLimitConfig(Map.of(), Map.of(), Map.of(), Duration.ofSeconds(2));

    public RateLimitConfig {
        teams = Map.copyOf(teams);
        keys = Map.copyOf(keys);
        models = Map.copyOf(models);
        Objects.requireNonNull(upstreamMaxWait, "rate_limits.upstream_max_wait_ms");
        if (upstreamMaxWait.isNegative()) {
            throw new ConfigException("rate_limits.upstream_max_wait_ms: " + upstreamMaxWait.toMillis() + " (expected: >= 0)");
        }
    }
}
