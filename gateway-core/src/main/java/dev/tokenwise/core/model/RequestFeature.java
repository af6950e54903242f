package dev.tokenwise.core.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What a request used besides plain text messages, as one bit of {@link TokenCount#features()} and
 * {@link UsageRecord#requestFeatures()}. Found by the token counter while it reads the prompt, so it costs no
 * second pass over the body. The billing audit splits its comparisons by these bits, so that a difference
 * between what a provider billed and what the gateway counted can be traced to the feature that causes it.
 */
public enum RequestFeature {
    /** Tool or function definitions ({@code tools}, {@code functions}). */
    TOOLS("tools"),
    /** Image parts (and Gemini's inline or file data). */
    IMAGES("images"),
    /** A system or developer prompt ({@code system} message, {@code instructions}, {@code systemInstruction}). */
    SYSTEM_PROMPT("system prompt"),
    /** A structured-output format ({@code response_format} JSON schema or JSON mode, {@code text.format}, ...). */
    JSON_SCHEMA("JSON schema"),
    /** Earlier tool calls or tool results in the conversation. */
    TOOL_HISTORY("tool history"),
    /** Audio parts. */
    AUDIO("audio"),
    /** File or document parts (PDFs). */
    FILES("files"),
    /** A tool the model must call ({@code tool_choice} naming a function, {@code required}, Anthropic {@code any}). */
    TOOL_CHOICE_FORCED("forced tool choice"),
    /** A predicted output ({@code prediction}): rejected prediction tokens are billed but not in the answer's text. */
    PREDICTION("prediction"),
    /** Several answers asked for ({@code n} above 1): each ends with a token of its own. */
    SEVERAL_CHOICES("several choices");

    private final String label;

    RequestFeature(String label) {
        this.label = label;
    }

    /** The bit in a feature bitset. */
    public int bit() {
        return 1 << ordinal();
    }

    /** {@code true} when {@code features} has this feature. */
    public boolean in(int features) {
        return (features & bit()) != 0;
    }

    /** A few words for people, e.g. {@code system prompt}. */
    public String label() {
        return label;
    }

    /** The name in lower case, e.g. {@code system_prompt}. */
    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The features set in {@code features}, in declaration order. */
    public static List<RequestFeature> of(int features) {
        List<RequestFeature> set = new ArrayList<>(4);
        for (RequestFeature f : values()) {
            if (f.in(features)) {
                set.add(f);
            }
        }
        return set;
    }

    /** The labels of {@code features} joined with commas, {@code plain text} for none. */
    public static String describe(int features) {
        List<RequestFeature> set = of(features);
        if (set.isEmpty()) {
            return "plain text";
        }
        StringBuilder s = new StringBuilder();
        for (RequestFeature f : set) {
            if (!s.isEmpty()) {
                s.append(", ");
            }
            s.append(f.label);
        }
        return s.toString();
    }
}
