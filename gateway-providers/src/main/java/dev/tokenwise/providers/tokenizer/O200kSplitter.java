package dev.tokenwise.providers.tokenizer;

/**
 * Splits text into the pieces of the {@code o200k_base} pre-tokenizer, exactly as its regular expression
 * does, without the regex engine.
 *
 * <p>The expression (compiled with {@code UNICODE_CASE | UNICODE_CHARACTER_CLASS}) is seven alternatives,
 * tried in order at each position:
 * <pre>
 * 1  [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?
 * 2  [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?
 * 3  \p{N}{1,3}
 * 4   ?[^\s\p{L}\p{N}]+[\r\n/]*
 * 5  \s*[\r\n]+
 * 6  \s+(?!\S)
 * 7  \s+
 * </pre>
 * Each alternative is matched here the way the backtracking engine would: greedy runs first, then giving
 * back one code point at a time where a later element needs it (the "upper" and "lower" classes of 1 and
 * 2 overlap in {@code Lm}, {@code Lo} and marks, so 1 may have to give back). Every code point is matched
 * by one alternative (whitespace by 7, letters by 1 or 2, numbers by 3, anything else by 4), so the pieces
 * cover the text. Character classes come from {@link Character#getType(int)}, as the regex engine's do,
 * through a table for ASCII. A test compares the pieces with the regex on prose, code, CJK, emoji, marks
 * and random strings.
 */
final class O200kSplitter {
    private static final int WS = 1;          // \s (White_Space)
    private static final int UPPER = 1 << 1;  // [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]
    private static final int LOWER = 1 << 2;  // [\p{Ll}\p{Lm}\p{Lo}\p{M}]
    private static final int PREFIX = 1 << 3; // [^\r\n\p{L}\p{N}]
    private static final int NUMBER = 1 << 4; // \p{N}
    private static final int OTHER = 1 << 5;  // [^\s\p{L}\p{N}]

    /** The expression this class implements, as jtokkit compiles it; used only when the encoding's is equal. */
    static final String PATTERN = "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+"
            + "(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
            + "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*"
            + "(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
            + "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    static final int FLAGS = java.util.regex.Pattern.UNICODE_CASE | java.util.regex.Pattern.UNICODE_CHARACTER_CLASS;

    private static final byte[] ASCII = new byte[128];

    static {
        for (int c = 0; c < 128; c++) {
            ASCII[c] = (byte) classify(c);
        }
    }

    private O200kSplitter() {
    }

    /** The end (exclusive) of the piece that starts at {@code pos}; {@code pos < text.length()}. */
    static int next(String text, int pos) {
        int n = text.length();
        int first = classAt(text, pos);
        int after = pos + Character.charCount(text.codePointAt(pos));
        if ((first & PREFIX) != 0) {
            int e = upperThenLower(text, after, n);
            if (e >= 0) {
                return contraction(text, e, n);
            }
        }
        int e = upperThenLower(text, pos, n);
        if (e >= 0) {
            return contraction(text, e, n);
        }
        if ((first & PREFIX) != 0) {
            e = upperRunThenLowerRun(text, after, n);
            if (e >= 0) {
                return contraction(text, e, n);
            }
        }
        e = upperRunThenLowerRun(text, pos, n);
        if (e >= 0) {
            return contraction(text, e, n);
        }
        if ((first & NUMBER) != 0) {
            e = after;
            for (int digits = 1; digits < 3 && e < n && (classAt(text, e) & NUMBER) != 0; digits++) {
                e += Character.charCount(text.codePointAt(e));
            }
            return e;
        }
        if (text.charAt(pos) == ' ') {
            e = symbols(text, pos + 1, n);
            if (e >= 0) {
                return e;
            }
        }
        e = symbols(text, pos, n);
        if (e >= 0) {
            return e;
        }
        if ((first & WS) != 0) {
            int end = run(text, pos, n, WS);
            for (int k = end - 1; k >= pos; k--) { // 5: up to the last line break of the run
                char c = text.charAt(k);
                if (c == '\r' || c == '\n') {
                    return k + 1;
                }
            }
            if (end == n) {
                return end; // 6: nothing follows
            }
            return end - 1 > pos ? end - 1 : end; // 6: leave the last space to the next word; else 7
        }
        return after; // unreachable: every code point is in one of the classes above
    }

    /** {@code [upper]*[lower]+} from {@code s}: the end, or -1. */
    private static int upperThenLower(String text, int s, int n) {
        int q = run(text, s, n, UPPER);
        int k = q;
        while (true) {
            if (k < n && (classAt(text, k) & LOWER) != 0) {
                return run(text, k, n, LOWER);
            }
            if (k == s) {
                return -1;
            }
            k -= Character.charCount(text.codePointBefore(k)); // the upper run gives back one code point
        }
    }

    /** {@code [upper]+[lower]*} from {@code s}: the end, or -1. */
    private static int upperRunThenLowerRun(String text, int s, int n) {
        int q = run(text, s, n, UPPER);
        return q == s ? -1 : run(text, q, n, LOWER);
    }

    /** {@code [^\s\p{L}\p{N}]+[\r\n/]*} from {@code s}: the end, or -1. */
    private static int symbols(String text, int s, int n) {
        int q = run(text, s, n, OTHER);
        if (q == s) {
            return -1;
        }
        while (q < n) {
            char c = text.charAt(q);
            if (c != '\r' && c != '\n' && c != '/') {
                break;
            }
            q++;
        }
        return q;
    }

    /** {@code (?i:'s|'t|'re|'ve|'m|'ll|'d)?} at {@code e}. */
    private static int contraction(String text, int e, int n) {
        if (e + 1 >= n || text.charAt(e) != '\'') {
            return e;
        }
        char a = fold(text.charAt(e + 1));
        if (a == 's' || a == 't' || a == 'm' || a == 'd') {
            return e + 2;
        }
        if (e + 2 < n) {
            char b = fold(text.charAt(e + 2));
            if (a == 'r' && b == 'e' || a == 'v' && b == 'e' || a == 'l' && b == 'l') {
                return e + 3;
            }
        }
        return e;
    }

    /** Case folding as the regex engine's Unicode-case-insensitive match of a single character (both splitters). */
    static char fold(char c) {
        return c < 128 ? (char) (c | ((c >= 'A' && c <= 'Z') ? 0x20 : 0))
                : (char) Character.toLowerCase(Character.toUpperCase((int) c));
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
        boolean mark = type == Character.NON_SPACING_MARK || type == Character.ENCLOSING_MARK
                || type == Character.COMBINING_SPACING_MARK;
        boolean number = type == Character.DECIMAL_DIGIT_NUMBER || type == Character.LETTER_NUMBER
                || type == Character.OTHER_NUMBER;
        boolean space = type == Character.SPACE_SEPARATOR || type == Character.LINE_SEPARATOR
                || type == Character.PARAGRAPH_SEPARATOR || cp >= 0x9 && cp <= 0xD || cp == 0x85;
        int cls = 0;
        if (space) {
            cls |= WS;
        }
        if (type == Character.UPPERCASE_LETTER || type == Character.TITLECASE_LETTER
                || type == Character.MODIFIER_LETTER || type == Character.OTHER_LETTER || mark) {
            cls |= UPPER;
        }
        if (type == Character.LOWERCASE_LETTER || type == Character.MODIFIER_LETTER
                || type == Character.OTHER_LETTER || mark) {
            cls |= LOWER;
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
