package dev.tokenwise.core.model;

/**
 * A local token count.
 *
 * @param tokens the count
 * @param estimated {@code true} when no exact tokenizer was available, or parts (images, audio) were estimated
 */
public record TokenCount(long tokens, boolean estimated) {
    public static final TokenCount ZERO = new TokenCount(0, false);

    public TokenCount {
        if (tokens < 0) {
            throw new IllegalArgumentException("tokens: " + tokens + " (expected: >= 0)");
        }
    }

    public TokenCount plus(TokenCount other) {
        return new TokenCount(tokens + other.tokens, estimated || other.estimated);
    }
}
