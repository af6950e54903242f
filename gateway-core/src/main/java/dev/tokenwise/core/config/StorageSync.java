package dev.tokenwise.core.config;

import java.util.Locale;

/** How durable a call's record is when its response completes ({@code storage.sync}). */
public enum StorageSync {
    /** Records are committed within milliseconds of a call's end, in batches; a process kill loses at most those. */
    NORMAL,
    /** The final bytes of a response are released only after its record is committed (fsync'd). */
    STRICT;

    public static StorageSync parse(String value, String key) {
        try {
            return valueOf(value.trim().toUpperCase(Locale.ROOT));
        } catch (RuntimeException e) {
            throw new ConfigException(key + ": '" + value + "' (expected: normal or strict)");
        }
    }
}
