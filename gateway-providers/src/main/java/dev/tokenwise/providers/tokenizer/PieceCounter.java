package dev.tokenwise.providers.tokenizer;

import com.knuddels.jtokkit.api.Encoding;
import java.lang.reflect.Field;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Counts tokens of ordinary text with a cache of the counts of pre-tokenized pieces.
 *
 * <p>Implementation note: a BPE tokenizer first splits text with its regular expression into pieces
 * (words with their leading space, numbers, punctuation runs, whitespace) and then merges bytes within
 * each piece independently; the token count of a text is the sum of its pieces' counts. Natural text
 * and code reuse a small vocabulary of pieces (Zipf), so the count of each piece is kept in a
 * concurrent map, and only pieces not seen before go through byte-pair merging. The split uses the
 * encoding's own compiled pattern (read from jtokkit), so pieces are exactly the tokenizer's; a test
 * checks the sums against jtokkit's whole-text counts on prose, code, CJK, emoji and whitespace runs.
 * The map stops growing at {@code maxPieces} entries (pieces past that are counted directly), so a
 * stream of random text cannot grow it without bound. Readers and writers take no lock.
 *
 * <p>When the pattern cannot be read (an encoding that is not regex-based, or another jtokkit
 * version), every count goes to jtokkit directly.
 */
final class PieceCounter {
    /** Pieces longer than this are counted directly: long pieces rarely repeat. */
    private static final int MAX_CACHED_PIECE_CHARS = 32;

    private final Encoding encoding;
    private final Pattern pattern;
    private final boolean o200k;
    private final Map<String, Integer> pieces = new ConcurrentHashMap<>();
    private final int maxPieces;

    PieceCounter(Encoding encoding, int maxPieces) {
        this.encoding = encoding;
        this.pattern = patternOf(encoding);
        this.o200k = pattern != null && "o200k_base".equals(encoding.getName())
                && O200kSplitter.PATTERN.equals(pattern.pattern()) && pattern.flags() == O200kSplitter.FLAGS;
        this.maxPieces = maxPieces;
    }

    /** {@code true} when counts go through the piece cache. */
    boolean caching() {
        return pattern != null;
    }

    int count(String text) {
        if (pattern == null) {
            return encoding.countTokensOrdinary(text);
        }
        int total = 0;
        if (o200k) {
            for (int start = 0, n = text.length(); start < n; ) {
                int end = O200kSplitter.next(text, start);
                total += countPiece(text, start, end);
                start = end;
            }
            return total;
        }
        Matcher m = pattern.matcher(text);
        while (m.find()) {
            total += countPiece(text, m.start(), m.end());
        }
        return total;
    }

    private int countPiece(String text, int start, int end) {
        String piece = text.substring(start, end);
        if (end - start > MAX_CACHED_PIECE_CHARS) {
            return encoding.countTokensOrdinary(piece);
        }
        Integer cached = pieces.get(piece);
        if (cached == null) {
            cached = encoding.countTokensOrdinary(piece);
            if (pieces.size() < maxPieces) {
                pieces.put(piece, cached);
            }
        }
        return cached;
    }

    int cachedPieces() {
        return pieces.size();
    }

    /** jtokkit keeps the split pattern of its regex-based encodings in a private field; null for others. */
    private static Pattern patternOf(Encoding encoding) {
        try {
            Field field = encoding.getClass().getDeclaredField("pattern");
            field.setAccessible(true);
            Object value = field.get(encoding);
            if (value instanceof Pattern p && !isCl100kSubclass(encoding)) {
                return p;
            }
        } catch (ReflectiveOperationException | RuntimeException e) {
            // Not a regex-based encoding of this jtokkit version: count directly.
        }
        return null;
    }

    /** jtokkit splits cl100k with a hand-written parser (not the pattern); it is already fast, so it is left alone. */
    private static boolean isCl100kSubclass(Encoding encoding) {
        return encoding.getClass().getName().contains("Cl100k");
    }
}
