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
 * @param prefixHash for a prompt of at least {@link #PREFIX_BYTES} bytes of text: a hash of its first
 *     {@link #PREFIX_BYTES} bytes with every ASCII digit read as {@code 0} (so a timestamp or a counter near the start
 *     does not change it), else {@code 0}. Prompts with equal prefix hashes repeat a prefix long enough for a
 *     provider's prompt cache (at least 1,024 tokens); analytics count them to find savings the cache could make
 */
public record TokenCount(long tokens, boolean estimated, long contentHash, boolean bounded, long prefixHash) {
    /**
     * The bytes of a prompt's text its {@link #prefixHash} covers: about 1,024 tokens (four bytes a token), the least
     * a provider's prompt cache keeps (OpenAI, Anthropic).
     */
    public static final int PREFIX_BYTES = 4096;

    public static final TokenCount ZERO = new TokenCount(0, false, 0);

    /** A count without a prefix hash. */
    public TokenCount(long tokens, boolean estimated, long contentHash, boolean bounded) {
        this(tokens, estimated, contentHash, bounded, 0);
    }

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
                bounded || other.bounded, prefixHash);
    }
}
