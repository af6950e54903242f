package dev.tokenwise.core.model;

/**
 * A local token count.
 *
 * @param tokens the count
 * @param estimated {@code true} when no exact tokenizer was available, or parts (images, audio) were estimated
 * @param contentHash a 64-bit hash of what was counted (for a prompt: its messages, in order), {@code 0} when
 *     not computed; equal prompts have equal hashes, so analytics can recognise a repeated request
 */
public record TokenCount(long tokens, boolean estimated, long contentHash) {
    public static final TokenCount ZERO = new TokenCount(0, false, 0);

    public TokenCount(long tokens, boolean estimated) {
        this(tokens, estimated, 0);
    }

    public TokenCount {
        if (tokens < 0) {
            throw new IllegalArgumentException("tokens: " + tokens + " (expected: >= 0)");
        }
    }

    public TokenCount plus(TokenCount other) {
        return new TokenCount(tokens + other.tokens, estimated || other.estimated, contentHash);
    }
}
