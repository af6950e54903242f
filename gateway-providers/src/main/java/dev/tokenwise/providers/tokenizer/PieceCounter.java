package dev.tokenwise.providers.tokenizer;

import com.knuddels.jtokkit.api.Encoding;
import java.lang.reflect.Field;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Counts tokens of ordinary text with a cache of the counts of pre-tokenized pieces.
 *
 * <p>Implementation note: a BPE tokenizer first splits text with its regular expression into pieces
 * (words with their leading space, numbers, punctuation runs, whitespace) and then merges bytes within
 * each piece independently; the token count of a text is the sum of its pieces' counts. Natural text
 * and code reuse a small vocabulary of pieces (Zipf), so the count of each piece is kept in a
 * table, and only pieces not seen before go through byte-pair merging. The table is open addressing over
 * immutable entries, looked up by a hash of the piece's characters in place: a hit allocates nothing (no
 * substring, no boxed count). A piece whose few probed slots are all taken is counted and not kept.
 *
 * <p>The split is the encoding's own: for {@code o200k_base}, {@link O200kSplitter} (the same pieces as its
 * regex, several times faster), used only when jtokkit's compiled pattern is the one it implements; for
 * {@code cl100k_base}, which jtokkit splits with a hand-written parser rather than its pattern,
 * {@link Cl100kSplitter} (the same pieces as that parser and as tiktoken's regex); for other regex-based
 * encodings, the compiled pattern read from jtokkit. Tests check the sums against jtokkit's whole-text counts
 * on prose, code, CJK, emoji, whitespace runs and random strings.
 * The table stops growing at {@code maxPieces} entries (pieces past that are counted directly), so a
 * stream of random text cannot grow it without bound. Readers and writers take no lock.
 *
 * <p>When the pattern of an encoding other than cl100k_base cannot be read (an encoding that is not
 * regex-based, or another jtokkit version), every count goes to jtokkit directly.
 */
final class PieceCounter {
    /** Pieces longer than this are counted directly: long pieces rarely repeat. */
    private static final int MAX_CACHED_PIECE_CHARS = 32;

    private final Encoding encoding;
    private final Pattern pattern;
    /** A hand-written split of the encoding's pieces, or {@code null} to split with {@link #pattern}. */
    private final Splitter splitter;

    /** The end (exclusive) of the piece of {@code text} that starts at {@code pos}. */
    @FunctionalInterface
    interface Splitter {
        int next(String text, int pos);
    }
    /** Open addressing, probed over {@link #PROBES} slots; entries are immutable, so racy reads are safe. */
    private final Entry[] table;
    private final int mask;
    private final int maxPieces;
    private final AtomicInteger size = new AtomicInteger();
    private static final int PROBES = 4;

    private record Entry(int hash, String piece, int tokens) {
    }

    PieceCounter(Encoding encoding, int maxPieces) {
        this.encoding = encoding;
        // jtokkit has no pattern for cl100k_base, only its own parser, which Cl100kSplitter matches.
        boolean cl100k = "cl100k_base".equals(encoding.getName());
        this.pattern = cl100k ? null : patternOf(encoding);
        boolean o200k = pattern != null && "o200k_base".equals(encoding.getName())
                && O200kSplitter.PATTERN.equals(pattern.pattern()) && pattern.flags() == O200kSplitter.FLAGS;
        this.splitter = cl100k ? Cl100kSplitter::next : o200k ? O200kSplitter::next : null;
        this.maxPieces = maxPieces;
        int capacity = Integer.highestOneBit(Math.max(16, maxPieces) * 2 - 1) << 1;
        this.table = new Entry[capacity];
        this.mask = capacity - 1;
    }

    /** {@code true} when counts go through the piece cache. */
    boolean caching() {
        return pattern != null || splitter != null;
    }

    int count(String text) {
        int total = 0;
        if (splitter != null) {
            for (int start = 0, n = text.length(); start < n; ) {
                int end = splitter.next(text, start);
                total += countPiece(text, start, end);
                start = end;
            }
            return total;
        }
        if (pattern == null) {
            return encoding.countTokensOrdinary(text);
        }
        Matcher m = pattern.matcher(text);
        while (m.find()) {
            total += countPiece(text, m.start(), m.end());
        }
        return total;
    }

    /** The count of {@code text[start, end)}: from the table without allocating when it is there. */
    private int countPiece(String text, int start, int end) {
        int length = end - start;
        if (length > MAX_CACHED_PIECE_CHARS) {
            return encoding.countTokensOrdinary(text.substring(start, end));
        }
        int h = 0;
        for (int i = start; i < end; i++) {
            h = 31 * h + text.charAt(i);
        }
        h *= 0x9E3779B1;
        h ^= h >>> 15;
        Entry[] t = table;
        int free = -1;
        for (int probe = 0; probe < PROBES; probe++) {
            int slot = (h + probe) & mask;
            Entry e = t[slot];
            if (e == null) {
                free = slot;
                break;
            }
            if (e.hash == h && e.piece.length() == length && text.regionMatches(start, e.piece, 0, length)) {
                return e.tokens;
            }
        }
        String piece = text.substring(start, end);
        int tokens = encoding.countTokensOrdinary(piece);
        // Two threads may add the same piece to two slots; both entries are right, and the table is bounded.
        if (free >= 0 && size.get() < maxPieces) {
            size.incrementAndGet();
            t[free] = new Entry(h, piece, tokens);
        }
        return tokens;
    }

    int cachedPieces() {
        return size.get();
    }

    /** jtokkit keeps the split pattern of its regex-based encodings in a private field; null for others. */
    private static Pattern patternOf(Encoding encoding) {
        try {
            Field field = encoding.getClass().getDeclaredField("pattern");
            field.setAccessible(true);
            Object value = field.get(encoding);
            if (value instanceof Pattern p) {
                return p;
            }
        } catch (ReflectiveOperationException | RuntimeException e) {
            // Not a regex-based encoding of this jtokkit version: count directly.
        }
        return null;
    }
}
