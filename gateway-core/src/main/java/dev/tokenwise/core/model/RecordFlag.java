package dev.tokenwise.core.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Something unusual about how a call was billed, carried by its {@link UsageRecord} as one bit of
 * {@link UsageRecord#flags()}, stored in the ledger's {@code flags} column and listed by name in the record API.
 * A flag never changes what a call cost; it says why the figure deserves a second look.
 */
public enum RecordFlag {
    /** The provider's usage was impossible (negative, absurd or not an integer): billed on the local count. */
    USAGE_REJECTED,
    /** The actual cost came out above what was reserved for the call before it was forwarded. */
    RESERVATION_EXCEEDED,
    /** A response observer failed while reading the answer: usage came from the local count. */
    OBSERVER_ERROR,
    /** Part of the text was too pathological to tokenize exactly and was counted by a safe upper bound. */
    COUNT_BOUNDED,
    /** The upstream answered with a content encoding the gateway could not read: usage from the local count. */
    UPSTREAM_ENCODED,
    /** The provider keeps context the gateway did not see (a stored response or conversation): reserved at a ceiling. */
    STORED_CONTEXT,
    /** The model has no price and was allowed by {@code pricing.allow_unpriced}: reserved at a ceiling, cost 0. */
    UNPRICED,
    /**
     * The answer ended before the provider's final usage (a stream cut short or broken off): the provider's running
     * figure and the local count of what was relayed were compared, and the larger output billed.
     */
    PARTIAL_USAGE;

    private final String label = name().toLowerCase(Locale.ROOT);

    /** The flag's bit in {@link UsageRecord#flags()}. */
    public int bit() {
        return 1 << ordinal();
    }

    /** The name in lower case, as the record API writes it. */
    public String label() {
        return label;
    }

    /** {@code true} when {@code flags} has this flag. */
    public boolean in(int flags) {
        return (flags & bit()) != 0;
    }

    /** The flags set in {@code flags}, in declaration order. */
    public static List<RecordFlag> of(int flags) {
        List<RecordFlag> set = new ArrayList<>(2);
        for (RecordFlag f : values()) {
            if (f.in(flags)) {
                set.add(f);
            }
        }
        return set;
    }
}
