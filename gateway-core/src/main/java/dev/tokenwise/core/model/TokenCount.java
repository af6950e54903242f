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
 * @param features the {@link RequestFeature}s of the request counted, as a bitset ({@code 0} for output text)
 * @param textBytes for a prompt, the UTF-8 bytes of the text that was tokenized (roles, names, contents, rendered tool
 *     definitions): known for every provider, also those without a local tokenizer, so that tokens per byte can
 *     be followed over time; {@code 0} for output text
 * @param prefixHash for a prompt of at least {@link #PREFIX_BYTES} bytes of text: a hash of its first
 *     {@link #PREFIX_BYTES} bytes with every ASCII digit read as {@code 0} (so a timestamp or a counter near the start
 *     does not change it), else {@code 0}. Prompts with equal prefix hashes repeat a prefix long enough for a
 *     provider's prompt cache (at least 1,024 tokens); analytics count them to find savings the cache could make
 */
public record TokenCount(long tokens, boolean estimated, long contentHash, boolean bounded, int features,
                         long textBytes, long prefixHash) {
    public static final TokenCount ZERO = new TokenCount(0, false, 0);
    /**
     * The bytes of a prompt's text its {@link #prefixHash} covers: about 1,024 tokens (four bytes a token), the least
     * a provider's prompt cache keeps (OpenAI, Anthropic).
     */
    public static final int PREFIX_BYTES = 4096;

    public TokenCount(long tokens, boolean estimated) {
        this(tokens, estimated, 0);
    }

    /** A count that bounded nothing. */
    public TokenCount(long tokens, boolean estimated, long contentHash) {
        this(tokens, estimated, contentHash, false);
    }

    /** A count without a prefix hash. */
    public TokenCount(long tokens, boolean estimated, long contentHash, boolean bounded, int features, long textBytes) {
        this(tokens, estimated, contentHash, bounded, features, textBytes, 0);
    }

    /** A count without request features or text bytes (output text). */
    public TokenCount(long tokens, boolean estimated, long contentHash, boolean bounded) {
        this(tokens, estimated, contentHash, bounded, 0, 0);
    }

    public TokenCount {
        if (tokens < 0) {
            throw new IllegalArgumentException("tokens: " + tokens + " (expected: >= 0)");
        }
        if (bounded && !estimated) {
            throw new IllegalArgumentException("a bounded count is an estimate (bounded: true, estimated: false)");
        }
        if (textBytes < 0) {
            throw new IllegalArgumentException("textBytes: " + textBytes + " (expected: >= 0)");
        }
    }

    public TokenCount plus(TokenCount other) {
        return new TokenCount(tokens + other.tokens, estimated || other.estimated, contentHash,
                bounded || other.bounded, features | other.features, textBytes + other.textBytes, prefixHash);
    }

    /** {@code true} when the count has {@code feature}. */
    public boolean has(RequestFeature feature) {
        return feature.in(features);
    }
}
