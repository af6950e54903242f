package dev.tokenwise.providers.tokenizer;

import com.knuddels.jtokkit.api.Encoding;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
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
 * table, and only pieces not seen before go through byte-pair merging. A piece whose few probed slots are all
 * taken is counted and not kept; a hit allocates nothing (no substring, no boxed count).
 *
 * <p>Most pieces of prose and code are short and Latin-1 (" the", ",", " 42"): a piece of at most 7
 * characters, each below 256, is its own key, its characters packed into a {@code long} with its length and
 * count (see {@link #packed}), so a hit is one load from a {@code long[]} and one compare: no chase from slot to
 * entry to string to byte array, each a likely cache miss at a few hundred pieces a message. Latin-1 pieces of 8 to
 * {@value #MAX_MEDIUM_PIECE_CHARS} characters (" configuration", " connections") are keyed the same way by two
 * {@code long}s, in immutable entries compared key for key. Other pieces, up to
 * {@value #MAX_CACHED_PIECE_CHARS} characters, are kept in a table of immutable entries looked up by a hash of the
 * piece's characters in place and compared with {@link String#regionMatches}.
 *
 * <p>The split is the encoding's own: for {@code o200k_base}, {@link O200kSplitter} (the same pieces as its
 * regex, several times faster), used only when jtokkit's compiled pattern is the one it implements; for
 * {@code cl100k_base}, which jtokkit splits with a hand-written parser rather than its pattern,
 * {@link Cl100kSplitter} (the same pieces as that parser and as tiktoken's regex); for other regex-based
 * encodings, the compiled pattern read from jtokkit. Tests check the sums against jtokkit's whole-text counts
 * on prose, code, CJK, emoji, whitespace runs and random strings.
 * The three tables together stop growing at {@code maxPieces} entries (pieces past that are counted directly), so
 * a stream of random text cannot grow them without bound. Readers and writers take no lock.
 *
 * <p>Merging is bounded (see {@link CountBudget}): a piece longer than {@value #MAX_MERGED_PIECE_CHARS} characters,
 * which no ordinary text has but one hostile word is, and any uncached piece once the count's budget is spent, are
 * counted by their UTF-8 length, an upper bound of their exact count, and are not cached. Splitting is linear in the
 * text, and bounding a piece allocates nothing.
 *
 * <p>When the pattern of an encoding other than cl100k_base cannot be read (an encoding that is not
 * regex-based, or another jtokkit version), every count goes to jtokkit directly, within the same bounds.
 */
final class PieceCounter {
    /** Pieces longer than this are counted directly: long pieces rarely repeat. */
    private static final int MAX_CACHED_PIECE_CHARS = 32;
    /**
     * Pieces longer than this are counted by their UTF-8 length instead of merged. Ordinary pieces are words,
     * numbers, punctuation and whitespace runs; the longest are runs of a script written without spaces (a Thai
     * or Japanese sentence), well below this. Merging a piece this long takes about half a millisecond.
     */
    static final int MAX_MERGED_PIECE_CHARS = 1024;

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
    /**
     * The short Latin-1 pieces with their counts, one {@code long} a piece, 0 for a free slot:
     * <pre>
     *   bits  0..55  the characters, the i-th in bits 8i..8i+7, zero past the length
     *   bits 56..58  the length, 1..{@value #MAX_PACKED_PIECE_CHARS}
     *   bits 59..62  the token count, 1..14: a character below 256 is at most 2 UTF-8 bytes, a token at least 1
     *   bit  63      zero
     * </pre>
     * Bits 0..58 are the key: the piece exactly (the length tells "a" from "a\0"), and never 0. Open addressing
     * from the high bits of the key times 2<sup>64</sup>/&phi;, probed over {@link #PROBES} slots (32 bytes, one
     * or two cache lines). A slot is written once, from 0 to a whole entry, by compare-and-set, and read with
     * opaque access, which unlike a plain {@code long} access cannot tear: a racing reader sees a free slot or a
     * whole entry, never a key without its count, and needs no fence as the entry refers to nothing else. A writer
     * that loses the slot to another keeps its piece out, so a piece is never in two slots here and each entry is
     * counted once in {@link #size}.
     */
    private final long[] packed;
    /** Shifts a 64-bit hash down to a slot of {@link #packed}: 64 - log2(capacity). */
    private final int packedShift;
    private final int maxPieces;
    /** Entries of both tables. */
    private final AtomicInteger size = new AtomicInteger();
    private static final int PROBES = 4;
    /** Pieces of at most this many characters, each below 256, are kept in {@link #packed}. */
    private static final int MAX_PACKED_PIECE_CHARS = 7;
    private static final int LENGTH_SHIFT = 56;
    private static final int TOKENS_SHIFT = 59;
    private static final long KEY_MASK = (1L << TOKENS_SHIFT) - 1;
    private static final VarHandle PACKED = MethodHandles.arrayElementVarHandle(long[].class);

    private record Entry(int hash, String piece, int tokens) {
    }

    /**
     * Latin-1 pieces of 8 to {@value #MAX_MEDIUM_PIECE_CHARS} characters: open addressing like {@link #packed},
     * immutable entries (their final fields make a racy read safe).
     */
    private final Medium[] medium;
    /** Pieces of at most this many characters, each below 256, are kept in {@link #medium}. */
    private static final int MAX_MEDIUM_PIECE_CHARS = 15;

    /**
     * A piece of {@link #medium}: characters 0..7 in {@code low} (the i-th in bits 8i..8i+7), the rest in bits
     * 0..55 of {@code high} and the length in its bits 56..59.
     */
    private record Medium(long low, long high, int tokens) {
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
        this.packed = new long[capacity];
        this.medium = new Medium[capacity];
        this.packedShift = Long.SIZE - Integer.numberOfTrailingZeros(capacity);
    }

    /** {@code true} when counts go through the piece cache. */
    boolean caching() {
        return pattern != null || splitter != null;
    }

    /** The exact count of {@code text}, or an upper bound past a budget of its own (see {@link CountBudget}). */
    long count(String text) {
        return count(text, new CountBudget());
    }

    /**
     * The count of {@code text}: exact, or an upper bound when a piece was too long to merge or {@code budget} was
     * spent, which {@code budget} then {@linkplain CountBudget#boundedPieces() tells}.
     */
    long count(String text, CountBudget budget) {
        long total = 0;
        if (splitter != null) {
            for (int start = 0, n = text.length(); start < n; ) {
                int end = splitter.next(text, start);
                total += countPiece(text, start, end, budget);
                start = end;
            }
            return total;
        }
        if (pattern == null) {
            int length = text.length();
            if (length > MAX_MERGED_PIECE_CHARS || !budget.take(length)) {
                return bound(text, 0, length, budget);
            }
            return encoding.countTokensOrdinary(text);
        }
        Matcher m = pattern.matcher(text);
        while (m.find()) {
            total += countPiece(text, m.start(), m.end(), budget);
        }
        return total;
    }

    /** The count of {@code text[start, end)}: from a table without allocating when it is there. */
    private int countPiece(String text, int start, int end, CountBudget budget) {
        int length = end - start;
        if (length <= MAX_PACKED_PIECE_CHARS) {
            long key = packedKey(text, start, length);
            if (key != 0) {
                return countPacked(text, start, end, key, budget);
            }
        } else if (length <= MAX_MEDIUM_PIECE_CHARS) {
            int tokens = countMedium(text, start, end, budget);
            if (tokens >= 0) {
                return tokens;
            }
        } else if (length > MAX_CACHED_PIECE_CHARS) {
            if (length > MAX_MERGED_PIECE_CHARS || !budget.take(length)) {
                return bound(text, start, end, budget);
            }
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
        if (!budget.take(length)) {
            return bound(text, start, end, budget);
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

    /**
     * The key in {@link #packed} of {@code text[start, start + length)}, for a length of at most
     * {@value #MAX_PACKED_PIECE_CHARS}; 0 when a character is 256 or above (or the piece is empty).
     */
    private static long packedKey(String text, int start, int length) {
        long key = (long) length << LENGTH_SHIFT;
        int chars = 0;
        for (int i = 0; i < length; i++) {
            char c = text.charAt(start + i);
            chars |= c;
            key |= (long) c << (Byte.SIZE * i);
        }
        return chars < 256 ? key : 0;
    }

    /** The count of {@code text[start, end)}, a piece whose key in {@link #packed} is {@code key}. */
    private int countPacked(String text, int start, int end, long key, CountBudget budget) {
        long[] t = packed;
        int home = (int) ((key * 0x9E3779B97F4A7C15L) >>> packedShift);
        int free = -1;
        for (int probe = 0; probe < PROBES; probe++) {
            int slot = (home + probe) & mask;
            long entry = (long) PACKED.getOpaque(t, slot);
            if (entry == 0) {
                free = slot;
                break;
            }
            if ((entry & KEY_MASK) == key) {
                return (int) (entry >>> TOKENS_SHIFT);
            }
        }
        if (!budget.take(end - start)) {
            return bound(text, start, end, budget);
        }
        int tokens = encoding.countTokensOrdinary(text.substring(start, end));
        long entry = key | (long) tokens << TOKENS_SHIFT;
        if (free >= 0 && size.get() < maxPieces && PACKED.compareAndSet(t, free, 0L, entry)) {
            size.incrementAndGet();
        }
        return tokens;
    }

    /**
     * The count of {@code text[start, end)}, a piece of 8 to {@value #MAX_MEDIUM_PIECE_CHARS} characters, from
     * {@link #medium}; -1 when a character is 256 or above.
     */
    private int countMedium(String text, int start, int end, CountBudget budget) {
        int length = end - start;
        int chars = 0;
        long low = 0;
        for (int i = 0; i < Long.BYTES; i++) {
            char c = text.charAt(start + i);
            chars |= c;
            low |= (long) c << (Byte.SIZE * i);
        }
        long high = (long) length << LENGTH_SHIFT;
        for (int i = Long.BYTES; i < length; i++) {
            char c = text.charAt(start + i);
            chars |= c;
            high |= (long) c << (Byte.SIZE * (i - Long.BYTES));
        }
        if (chars >= 256) {
            return -1;
        }
        Medium[] t = medium;
        int home = (int) (((low * 0x9E3779B97F4A7C15L) + high) * 0xC2B2AE3D27D4EB4FL >>> packedShift);
        int free = -1;
        for (int probe = 0; probe < PROBES; probe++) {
            int slot = (home + probe) & mask;
            Medium e = t[slot];
            if (e == null) {
                free = slot;
                break;
            }
            if (e.low == low && e.high == high) {
                return e.tokens;
            }
        }
        if (!budget.take(length)) {
            return bound(text, start, end, budget);
        }
        int tokens = encoding.countTokensOrdinary(text.substring(start, end));
        // Two threads may write one free slot with different pieces; the last stays, and either is right.
        if (free >= 0 && size.get() < maxPieces) {
            size.incrementAndGet();
            t[free] = new Medium(low, high, tokens);
        }
        return tokens;
    }

    /**
     * The UTF-8 length of {@code text[start, end)}, an upper bound of its count: the encodings have a token for
     * every byte, and merging only joins two tokens into one. A lone surrogate counts 2 (the encoder writes it as
     * one byte, {@code ?}). Nothing is allocated, nothing cached.
     */
    private static int bound(String text, int start, int end, CountBudget budget) {
        budget.bounded();
        int bytes = 0;
        for (int i = start; i < end; i++) {
            char c = text.charAt(i);
            bytes += c < 0x80 ? 1 : c < 0x800 || Character.isSurrogate(c) ? 2 : 3;
        }
        return bytes;
    }

    /** Pieces kept in the three tables; past {@code maxPieces} only by the few writers that raced to the last places. */
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
