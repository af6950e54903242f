package dev.tokenwise.metrics.ledger;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** How {@link SqliteLedger#usage} groups records: by team, model, key (with its team) or UTC day. */
public enum GroupBy {
    TEAM, MODEL, KEY, DAY;

    /** The word used in the API, e.g. {@code team}. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The labels of all values, e.g. {@code team, model, key, day}. */
    public static String labels() {
        return Arrays.stream(values()).map(GroupBy::label).collect(Collectors.joining(", "));
    }

    /** The value a label names, or {@code null}. */
    public static GroupBy ofLabel(String label) {
        for (GroupBy g : values()) {
            if (g.label().equals(label)) {
                return g;
            }
        }
        return null;
    }
}
