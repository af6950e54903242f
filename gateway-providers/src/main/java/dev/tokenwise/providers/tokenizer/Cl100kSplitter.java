package dev.tokenwise.providers.tokenizer;

/**
 * Splits text into the pieces of the {@code cl100k_base} pre-tokenizer, exactly as its regular expression
 * does, without the regex engine.
 *
 * <p>The expression, as tiktoken defines it (here compiled with {@code UNICODE_CASE | UNICODE_CHARACTER_CLASS},
 * like jtokkit's other patterns), is seven alternatives, tried in order at each position:
 * <pre>
 * 1  '(?i:[sdmt]|ll|ve|re)
 * 2  [^\r\n\p{L}\p{N}]?+\p{L}+
 * 3  \p{N}{1,3}
 * 4   ?[^\s\p{L}\p{N}]++[\r\n]*
 * 5  \s*[\r\n]
 * 6  \s+(?!\S)
 * 7  \s+
 * </pre>
 * Each alternative is matched here the way the backtracking engine would. Few give-backs are left: the
 * possessive quantifiers of 2 and 4 never give back (nor would they need to: their classes are disjoint from
 * what follows), so a prefix followed by no letter fails 2 as a whole; 5 takes the whitespace run up to its
 * last line break; 6 gives back the last code point of a run that a non-space follows. Every code point is
 * matched by one alternative (whitespace by 7, letters by 2, numbers by 3, anything else by 4), so the pieces
 * cover the text. The contraction letters are matched as the regex engine's Unicode-case-insensitive match
 * of a single character, so U+017F (long s) is an {@code s}. Character classes come from
 * {@link Character#getType(int)}, as the regex engine's do, through a table for ASCII.
 *
 * <p>jtokkit does not use the expression for cl100k_base but a hand-written parser
 * ({@code com.knuddels.jtokkit.Cl100kParser}), whose fragments are the ones it merges and counts. They are the
 * expression's pieces: the parser tests the same classes through {@link Character#getType(int)} (its upper
 * bounds, U+323AF for letters and U+1FBF9 for numbers, are at or past the last ones of Java 17's Unicode), the
 * same contractions (an apostrophe, then {@code s}, {@code d}, {@code m}, {@code t} in either case or U+017F,
 * or {@code ll}, {@code ve}, {@code re} in any case) and the same whitespace rule (up to the last line break,
 * else all but the last code point before a non-space). The one difference is not in the pieces: the parser
 * asserts that its input is well-formed UTF-16, so with assertions enabled (as in tests) it throws on a lone
 * surrogate; without them it makes the surrogate a symbol, as the expression and this class do. A test
 * compares the pieces with the regex, and the sum of jtokkit's counts of the pieces with its count of the
 * whole text, on prose, code, CJK, emoji and random strings.
 */
final class Cl100kSplitter {
    private static final int WS = 1;          // \s (White_Space)
    private static final int LETTER = 1 << 1; // \p{L}
    private static final int NUMBER = 1 << 2; // \p{N}
    private static final int PREFIX = 1 << 3; // [^\r\n\p{L}\p{N}]
    private static final int OTHER = 1 << 4;  // [^\s\p{L}\p{N}]

    /** The expression this class implements, as tiktoken defines it (jtokkit has it only as a parser). */
    static final String PATTERN = "'(?i:[sdmt]|ll|ve|re)|[^\\r\\n\\p{L}\\p{N}]?+\\p{L}+|\\p{N}{1,3}"
            + "| ?[^\\s\\p{L}\\p{N}]++[\\r\\n]*|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+";
    static final int FLAGS = java.util.regex.Pattern.UNICODE_CASE | java.util.regex.Pattern.UNICODE_CHARACTER_CLASS;

    private static final byte[] ASCII = new byte[128];

    static {
        for (int c = 0; c < 128; c++) {
            ASCII[c] = (byte) classify(c);
        }
    }

    private Cl100kSplitter() {
    }

    /** The end (exclusive) of the piece that starts at {@code pos}; {@code pos < text.length()}. */
    static int next(String text, int pos) {
        int n = text.length();
        char c = text.charAt(pos);
        if (c == '\'') {
            int e = contraction(text, pos, n);
            if (e >= 0) {
                return e;
            }
        }
        int first = classAt(text, pos);
        int after = pos + (Character.isHighSurrogate(c) ? Character.charCount(text.codePointAt(pos)) : 1);
        if ((first & LETTER) != 0) {
            return run(text, after, n, LETTER);
        }
        if ((first & PREFIX) != 0 && after < n && (classAt(text, after) & LETTER) != 0) {
            return run(text, after, n, LETTER); // 2: the prefix, then the letters after it
        }
        if ((first & NUMBER) != 0) {
            int e = after;
            for (int digits = 1; digits < 3 && e < n && (classAt(text, e) & NUMBER) != 0; digits++) {
                e += Character.charCount(text.codePointAt(e));
            }
            return e;
        }
        if (c == ' ' && after < n && (classAt(text, after) & OTHER) != 0) {
            return symbols(text, after, n);
        }
        if ((first & OTHER) != 0) {
            return symbols(text, after, n);
        }
        // Whitespace: the only class left.
        int end = run(text, after, n, WS);
        for (int k = end - 1; k >= pos; k--) { // 5: up to the last line break of the run
            char w = text.charAt(k);
            if (w == '\r' || w == '\n') {
                return k + 1;
            }
        }
        if (end == n) {
            return end; // 6: nothing follows
        }
        return end - 1 > pos ? end - 1 : end; // 6: leave the last space to the next piece; else 7
    }

    /** {@code '(?i:[sdmt]|ll|ve|re)} at {@code pos} (an apostrophe): the end, or -1. */
    private static int contraction(String text, int pos, int n) {
        if (pos + 1 >= n) {
            return -1;
        }
        char a = O200kSplitter.fold(text.charAt(pos + 1));
        if (a == 's' || a == 'd' || a == 'm' || a == 't') {
            return pos + 2;
        }
        if (pos + 2 < n) {
            char b = O200kSplitter.fold(text.charAt(pos + 2));
            if (a == 'l' && b == 'l' || a == 'v' && b == 'e' || a == 'r' && b == 'e') {
                return pos + 3;
            }
        }
        return -1;
    }

    /**
     * {@code [^\s\p{L}\p{N}]++[\r\n]*} after its first code point, which ends at {@code s}: the end. The run
     * cannot give back to the line breaks, as they are whitespace.
     */
    private static int symbols(String text, int s, int n) {
        int q = run(text, s, n, OTHER);
        while (q < n) {
            char c = text.charAt(q);
            if (c != '\r' && c != '\n') {
                break;
            }
            q++;
        }
        return q;
    }

    private static int run(String text, int s, int n, int cls) {
        int i = s;
        while (i < n) {
            char c = text.charAt(i);
            if (c < 128) {
                if ((ASCII[c] & cls) == 0) {
                    return i;
                }
                i++;
            } else {
                int cp = text.codePointAt(i);
                if ((classify(cp) & cls) == 0) {
                    return i;
                }
                i += Character.charCount(cp);
            }
        }
        return i;
    }

    private static int classAt(String text, int i) {
        char c = text.charAt(i);
        return c < 128 ? ASCII[c] : classify(text.codePointAt(i));
    }

    static int classify(int cp) {
        int type = Character.getType(cp);
        boolean letter = type == Character.UPPERCASE_LETTER || type == Character.LOWERCASE_LETTER
                || type == Character.TITLECASE_LETTER || type == Character.MODIFIER_LETTER
                || type == Character.OTHER_LETTER;
        boolean number = type == Character.DECIMAL_DIGIT_NUMBER || type == Character.LETTER_NUMBER
                || type == Character.OTHER_NUMBER;
        boolean space = type == Character.SPACE_SEPARATOR || type == Character.LINE_SEPARATOR
                || type == Character.PARAGRAPH_SEPARATOR || cp >= 0x9 && cp <= 0xD || cp == 0x85;
        int cls = 0;
        if (space) {
            cls |= WS;
        }
        if (letter) {
            cls |= LETTER;
        }
        if (number) {
            cls |= NUMBER;
        }
        if (!letter && !number && cp != '\r' && cp != '\n') {
            cls |= PREFIX;
        }
        if (!letter && !number && !space) {
            cls |= OTHER;
        }
        return cls;
    }
}
