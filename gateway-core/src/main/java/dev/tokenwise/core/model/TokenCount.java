package dev.tokenwise.core.model;

/**
 * A local token count.
 *
 * @param tokens the count
 * @param estimated {@code true} when no exact tokenizer was available, or parts (images, audio) were estimated
 * @param contentHash a 64-bit hash of what was counted (for a prompt: its messages, in order), {@code 0} when
 *     not computed; equal prompts have equal hashes, so analytics can recognise a repeated request
 * @param bounded {@code true} when part of the text was too pathological to tokenize exactly (a piece of
 *     thousands of characters, or more merging than a count may do) and was counted by a safe upper bound; the
 *     count is then {@code estimated} too, and never below the exact count
 */
public record TokenCount(long tokens, boolean estimated, long contentHash, boolean bounded) {
    public static final TokenCount ZERO = new TokenCount(0, false, 0);

    public TokenCount(long tokens, boolean estimated) {
        this(tokens, estimated, 0);
    }

    /** A count that bounded nothing. */
    public TokenCount(long tokens, boolean estimated, long contentHash) {
        this(tokens, estimated, contentHash, false);
    }

    public TokenCount {
        if (tokens < 0) {
            throw new IllegalArgumentException("tokens: " + tokens + " (expected: >= 0)");
        }
        if (bounded && !estimated) {
            throw new IllegalArgumentException("a bounded count is an estimate (bounded: true, estimated: false)");
        }
    }

    public TokenCount plus(TokenCount other) {
        return new TokenCount(tokens + other.tokens, estimated || other.estimated, contentHash,
                bounded || other.bounded);
    }
}
