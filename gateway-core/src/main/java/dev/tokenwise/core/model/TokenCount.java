package dev.tokenwise.core.model;

/**
 * A local token count.
 *
 * @param tokens the count
 * @param estimated {@code true} when no exact tokenizer was available, or parts (images, audio) were estimated
 * @param contentHash a 64-bit hash of what was counted (for a prompt: its messages, in order), {@code 0} when
 *     not computed; equal prompts have equal hashes, so analytics can recognise a repeated request
 * @param features the {@link RequestFeature}s of the request counted, as a bitset ({@code 0} for output text)
 * @param textBytes for a prompt, the UTF-8 bytes of the text that was tokenized (roles, names, contents, rendered tool
 *     definitions): known for every provider, also those without a local tokenizer, so that tokens per byte can
 *     be followed over time; {@code 0} for output text
 */
public record TokenCount(long tokens, boolean estimated, long contentHash, int features, long textBytes) {
    public static final TokenCount ZERO = new TokenCount(0, false, 0);

    public TokenCount(long tokens, boolean estimated) {
        this(tokens, estimated, 0);
    }

    public TokenCount(long tokens, boolean estimated, long contentHash) {
        this(tokens, estimated, contentHash, 0, 0);
    }

    public TokenCount {
        if (tokens < 0) {
            throw new IllegalArgumentException("tokens: " + tokens + " (expected: >= 0)");
        }
        if (textBytes < 0) {
            throw new IllegalArgumentException("textBytes: " + textBytes + " (expected: >= 0)");
        }
    }

    public TokenCount plus(TokenCount other) {
        return new TokenCount(tokens + other.tokens, estimated || other.estimated, contentHash,
                features | other.features, textBytes + other.textBytes);
    }

    /** {@code true} when the count has {@code feature}. */
    public boolean has(RequestFeature feature) {
        return feature.in(features);
    }
}
