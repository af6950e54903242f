package dev.tokenwise.core.config;

import java.time.Duration;

/** Argument checks for configuration records, in the style {@code "key: value (expected: ...)"}. */
public final class Checks {
    private Checks() {
    }

    public static long checkPositive(long value, String key) {
        if (value <= 0) {
            throw new ConfigException(key + ": " + value + " (expected: > 0)");
        }
        return value;
    }

    public static long checkNonNegative(long value, String key) {
        if (value < 0) {
            throw new ConfigException(key + ": " + value + " (expected: >= 0)");
        }
        return value;
    }

    public static Duration checkPositive(Duration value, String key) {
        if (value == null || value.isNegative() || value.isZero()) {
            throw new ConfigException(key + ": " + value + " (expected: a positive duration)");
        }
        return value;
    }

    public static String checkNotBlank(String value, String key) {
        if (value == null || value.isBlank()) {
            throw new ConfigException(key + ": missing (expected: a non-empty string)");
        }
        return value;
    }
}
