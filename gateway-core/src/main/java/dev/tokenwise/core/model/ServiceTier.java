package dev.tokenwise.core.model;

import java.util.Locale;

/**
 * The processing tier a provider served a call on, which decides its price as much as the model does: OpenAI's
 * {@code service_tier} ({@code default}, {@code flex}, {@code priority}, {@code scale}) and Anthropic's
 * {@code usage.service_tier} ({@code standard}, {@code priority}, {@code batch}).
 */
public enum ServiceTier {
    /** The list price: OpenAI's {@code default} (and {@code scale}, billed through reserved units), Anthropic's {@code standard}. */
    STANDARD,
    /** Slower, cheaper processing (OpenAI: half the standard price). */
    FLEX,
    /** Faster, dearer processing. */
    PRIORITY,
    /** Asynchronous batch processing (half the standard price at OpenAI, Anthropic and Google). */
    BATCH;

    private static final ServiceTier[] VALUES = values();

    private final String label = name().toLowerCase(Locale.ROOT);

    /** The name in lower case, as configs, price versions and the API write it. */
    public String label() {
        return label;
    }

    /** The tier with this {@link #label}, or {@code null}. */
    public static ServiceTier ofLabel(String label) {
        for (ServiceTier t : VALUES) {
            if (t.label.equals(label)) {
                return t;
            }
        }
        return null;
    }

    /**
     * The tier a provider says it served: {@code flex}, {@code priority} and {@code batch} are theirs; anything
     * else ({@code default}, {@code standard}, {@code scale}, {@code auto}, a value added later) is the list price.
     * {@code null} (the response did not say) is {@code null}.
     */
    public static ServiceTier served(String value) {
        if (value == null) {
            return null;
        }
        return switch (value) {
            case "flex" -> FLEX;
            case "priority" -> PRIORITY;
            case "batch" -> BATCH;
            default -> STANDARD;
        };
    }

    /**
     * The tier a request pins with its own {@code service_tier}, or {@code null} when the provider chooses (absent,
     * {@code auto}, or a value the gateway does not know): OpenAI's {@code default} and Anthropic's
     * {@code standard_only} pin the list price, {@code flex} and {@code priority} their tiers.
     */
    public static ServiceTier requested(String value) {
        if (value == null) {
            return null;
        }
        return switch (value) {
            case "default", "standard", "standard_only" -> STANDARD;
            case "flex" -> FLEX;
            case "priority" -> PRIORITY;
            default -> null;
        };
    }

    static ServiceTier at(int ordinal) {
        return VALUES[ordinal];
    }
}
