package dev.tokenwise.core.model;

import java.util.Locale;

/**
 * What the exact response cache did with a call, as its {@link UsageRecord} and its {@code X-Tokenwise-Cache}
 * response header say it.
 */
public enum CacheStatus {
    /** Answered from the cache: nothing went upstream, nothing was charged. */
    HIT,
    /** Looked up and not found (or asked to refresh): forwarded, and its answer stored when it can be. */
    MISS,
    /** Neither read nor written: the client said so, the mode does not cache it, or the endpoint is not cached. */
    SKIP;

    private final String label = name().toLowerCase(Locale.ROOT);

    /** The name in lower case, as the header, the ledger and the record API write it. */
    public String label() {
        return label;
    }

    /** The status a label names, or {@code null} for {@code null} or an unknown label. */
    public static CacheStatus ofLabel(String label) {
        if (label == null) {
            return null;
        }
        for (CacheStatus s : values()) {
            if (s.label.equals(label)) {
                return s;
            }
        }
        return null;
    }
}
