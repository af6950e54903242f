package dev.tokenwise.providers.tokenizer;

/**
 * The byte-pair merging one count may do, and whether it had to bound a piece instead.
 *
 * <p>Merging is what costs in a BPE count: jtokkit merges a piece in time that grows faster than its length and,
 * past 500 bytes, allocates about 480 bytes for each of its characters (a 4 MB word, one piece, needs about 2 GB).
 * Ordinary text is made of short pieces, most of them cached; a hostile text is one huge piece, or many long
 * distinct ones. So a count merges no piece longer than {@link PieceCounter#MAX_MERGED_PIECE_CHARS}, and at most
 * {@link #PER_COUNT_MERGED_CHARS} characters of uncached pieces in all; any other piece is counted by its UTF-8
 * length, which is never below its exact count (every byte is a token of the encoding, and each merge only joins
 * two tokens into one). The result is then an upper bound, and the count says it is
 * {@linkplain dev.tokenwise.core.model.TokenCount#estimated() estimated}.
 *
 * <p>One budget serves one count on one thread; it is not thread-safe.
 */
final class CountBudget {
    /**
     * Characters of uncached pieces one count may merge: at most about half a second of a worker's time on the
     * costliest pieces (about 0.5 µs a character), far more than the distinct pieces of any real prompt or answer.
     */
    static final long PER_COUNT_MERGED_CHARS = 1 << 20;

    private long mergeCharsLeft;
    private int boundedPieces;

    /** A budget of {@link #PER_COUNT_MERGED_CHARS}. */
    CountBudget() {
        this(PER_COUNT_MERGED_CHARS);
    }

    /** @param mergeChars characters of uncached pieces this count may merge, {@code >= 0} */
    CountBudget(long mergeChars) {
        if (mergeChars < 0) {
            throw new IllegalArgumentException("mergeChars: " + mergeChars + " (expected: >= 0)");
        }
        this.mergeCharsLeft = mergeChars;
    }

    /** Takes {@code chars} characters of merging; {@code false} (and nothing taken) when fewer are left. */
    boolean take(int chars) {
        if (chars > mergeCharsLeft) {
            return false;
        }
        mergeCharsLeft -= chars;
        return true;
    }

    /** Notes a piece counted by its bound instead of merged. */
    void bounded() {
        boundedPieces++;
    }

    /** Pieces counted by their bound so far: the count is an upper bound when this is above 0. */
    int boundedPieces() {
        return boundedPieces;
    }

    /** Characters of merging left. */
    long mergeCharsLeft() {
        return mergeCharsLeft;
    }
}
