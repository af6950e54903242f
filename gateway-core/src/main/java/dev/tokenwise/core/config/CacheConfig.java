package dev.tokenwise.core.config;

import java.time.Duration;
import java.util.Locale;
import java.util.Objects;

/**
 * The exact response cache ({@code cache:}): off unless enabled.
 *
 * @param enabled whether calls are looked up in and stored into the cache
 * @param ttl how long a stored answer is served after it was stored
 * @param maxBytes the most bytes the cache holds (requests' normalised bodies and answers); past it, the entries
 *     least worth keeping are evicted
 * @param mode which calls are cached
 * @param scope who shares an answer
 */
public record CacheConfig(boolean enabled, Duration ttl, long maxBytes, Mode mode, Scope scope) {
    /** The cache off, with the defaults it has once enabled: 600 s, 256 MiB, deterministic, per team. */
    public static final CacheConfig DISABLED = new CacheConfig(false, Duration.ofSeconds(600), 256L << 20,
            Mode.DETERMINISTIC, Scope.TEAM);

    /** Which calls the cache takes. */
    public enum Mode {
        /** Chat calls that ask for determinism ({@code temperature: 0}, or a {@code seed}), and every embeddings call. */
        DETERMINISTIC,
        /** Every chat and embeddings call. */
        ALL;

        public static Mode parse(String value, String key) {
            try {
                return valueOf(value.trim().toUpperCase(Locale.ROOT));
            } catch (RuntimeException e) {
                throw new ConfigException(key + ": '" + value + "' (expected: deterministic or all)");
            }
        }
    }

    /** Who may be answered with an answer stored for a call. */
    public enum Scope {
        /** Only calls of the same team (the default): one team never sees another's answers. */
        TEAM,
        /** Every team. */
        GLOBAL;

        public static Scope parse(String value, String key) {
            try {
                return valueOf(value.trim().toUpperCase(Locale.ROOT));
            } catch (RuntimeException e) {
                throw new ConfigException(key + ": '" + value + "' (expected: team or global)");
            }
        }
    }

    public CacheConfig {
        Checks.checkPositive(ttl, "cache.ttl_seconds");
        Checks.checkPositive(maxBytes, "cache.max_mib");
        Objects.requireNonNull(mode, "cache.mode");
        Objects.requireNonNull(scope, "cache.scope");
    }
}
