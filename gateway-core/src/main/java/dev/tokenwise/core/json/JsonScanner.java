package dev.tokenwise.core.json;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Finds the spans of JSON values in UTF-8 bytes without making tokens, strings or nodes: the fast path of
 * {@link ChatBodyReader}, which otherwise skips each message with Jackson's parser, and the primitives of other
 * such fast paths (the public methods: each takes the bytes, a position and the end of the input).
 *
 * <p>Implementation note: the scanner accepts strict RFC 8259 JSON only, a subset of what Jackson's
 * parser accepts with its default features: the whitespace {@code SP HT LF CR}, strings of well-formed
 * UTF-8 (shortest forms, no encoded surrogates) with the escapes {@code \" \\ \/ \b \f \n \r \t \}{@code uXXXX},
 * numbers of the JSON grammar of at most {@value #MAX_NUMBER_LENGTH} characters, {@code true}, {@code false},
 * {@code null}, object keys of at most {@value #MAX_KEY_LENGTH} bytes of printable ASCII without escapes, and nesting at most
 * {@value #MAX_DEPTH} deep. Anything else, valid for Jackson or not, answers {@link #FAIL}, and the caller
 * then parses with Jackson, which accepts it or reports the error where it is. So a span found here is always
 * a span Jackson would accept, and every error message still comes from Jackson.
 *
 * <p>Strings, most of a chat body's bytes, are crossed eight bytes at a time: a word is let through whole
 * unless one of its bytes is a quote, a backslash, a control character or not ASCII. The bit tricks used
 * (a zero byte in {@code v ^ pattern}, a byte below {@code 0x20}) may also flag bytes above a true hit, never
 * below one, so the lowest flagged byte is always a real one.
 */
public final class JsonScanner {
    /** Not scanned: malformed, or outside the strict subset (see the class comment). */
    public static final int FAIL = -1;
    static final int MAX_DEPTH = 64;
    static final int MAX_NUMBER_LENGTH = 100;
    static final int MAX_KEY_LENGTH = 256;

    /** Little-endian {@code long} reads from a {@code byte[]}, for the eight-byte scans of this package. */
    static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final long ONES = 0x0101010101010101L;
    private static final long HIGHS = 0x8080808080808080L;
    private static final long QUOTES = 0x2222222222222222L;
    private static final long BACKSLASHES = 0x5C5C5C5C5C5C5C5CL;
    private static final long SPACES = 0x2020202020202020L;
    private static final byte[] TRUE = {'t', 'r', 'u', 'e'};
    private static final byte[] FALSE = {'f', 'a', 'l', 's', 'e'};
    private static final byte[] NULL = {'n', 'u', 'l', 'l'};

    /** The top-level array of a chat body: its bounds and each element's span. */
    record Located(int arrayStart, int arrayEnd, int[] spans, int count) {
    }

    private JsonScanner() {
    }

    /**
     * The array under {@code key} (plain ASCII, no escapes) in the object that is the whole of {@code b},
     * leading whitespace allowed; {@code null} when the bytes are not such an object in the strict subset, when
     * the key is missing, repeated or not an array. What follows the object's closing brace is not looked at.
     */
    static Located locateArray(byte[] b, byte[] key) {
        int end = b.length;
        int i = whitespace(b, 0, end);
        if (i >= end || b[i] != '{') {
            return null;
        }
        i = whitespace(b, i + 1, end);
        if (i < end && b[i] == '}') {
            return null;
        }
        Located found = null;
        while (true) {
            int valueStart = afterKey(b, i, end);
            if (valueStart == FAIL) {
                return null;
            }
            int valueEnd;
            if (isKey(b, i + 1, end, key)) {
                if (found != null || b[valueStart] != '[') {
                    return null;
                }
                found = elements(b, valueStart, end);
                if (found == null) {
                    return null;
                }
                valueEnd = found.arrayEnd;
            } else {
                valueEnd = value(b, valueStart, end, 1);
                if (valueEnd == FAIL) {
                    return null;
                }
            }
            int separator = separator(b, valueEnd, end, '}');
            if (separator == FAIL) {
                return null;
            }
            if (b[separator] == '}') {
                return found;
            }
            i = whitespace(b, separator + 1, end);
        }
    }

    /** Whether the key whose characters start at {@code from} is {@code key} (keys here hold no escapes). */
    public static boolean isKey(byte[] b, int from, int end, byte[] key) {
        if (from + key.length >= end || b[from + key.length] != '"') {
            return false;
        }
        for (int k = 0; k < key.length; k++) {
            if (b[from + k] != key[k]) {
                return false;
            }
        }
        return true;
    }

    /** Past {@code "key" :} and whitespace from {@code b[i]}: where the member's value starts, or {@link #FAIL}. */
    public static int afterKey(byte[] b, int i, int end) {
        if (i >= end || b[i] != '"') {
            return FAIL;
        }
        int keyEnd = key(b, i, end);
        if (keyEnd == FAIL) {
            return FAIL;
        }
        int colon = whitespace(b, keyEnd, end);
        if (colon >= end || b[colon] != ':') {
            return FAIL;
        }
        int valueStart = whitespace(b, colon + 1, end);
        return valueStart < end ? valueStart : FAIL;
    }

    /**
     * After a member or element that ends at {@code i}: the index of the comma or of {@code close} that follows,
     * or {@link #FAIL}.
     */
    public static int separator(byte[] b, int i, int end, char close) {
        i = whitespace(b, i, end);
        return i < end && (b[i] == ',' || b[i] == close) ? i : FAIL;
    }

    /** The array at {@code b[start] == '['} with the spans of its elements; {@code null} on {@link #FAIL}. */
    private static Located elements(byte[] b, int start, int end) {
        int[] spans = new int[32];
        int count = 0;
        int i = whitespace(b, start + 1, end);
        if (i < end && b[i] == ']') {
            return new Located(start, i + 1, spans, 0);
        }
        while (i < end) {
            int elementEnd = value(b, i, end, 2);
            if (elementEnd == FAIL) {
                return null;
            }
            if (2 * count + 2 > spans.length) {
                spans = java.util.Arrays.copyOf(spans, spans.length * 2);
            }
            spans[2 * count] = i;
            spans[2 * count + 1] = elementEnd;
            count++;
            int separator = separator(b, elementEnd, end, ']');
            if (separator == FAIL) {
                return null;
            }
            if (b[separator] == ']') {
                return new Located(start, separator + 1, spans, count);
            }
            i = whitespace(b, separator + 1, end);
        }
        return null;
    }

    /** The end (exclusive) of the value that starts at {@code b[i]}, or {@link #FAIL}. */
    public static int value(byte[] b, int i, int end, int depth) {
        if (i >= end) {
            return FAIL;
        }
        return switch (b[i]) {
            case '"' -> string(b, i, end);
            case '{' -> object(b, i, end, depth);
            case '[' -> array(b, i, end, depth);
            case 't' -> literal(b, i, end, TRUE);
            case 'f' -> literal(b, i, end, FALSE);
            case 'n' -> literal(b, i, end, NULL);
            case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9' -> number(b, i, end);
            default -> FAIL;
        };
    }

    private static int object(byte[] b, int start, int end, int depth) {
        if (depth > MAX_DEPTH) {
            return FAIL;
        }
        int i = whitespace(b, start + 1, end);
        if (i < end && b[i] == '}') {
            return i + 1;
        }
        while (true) {
            int valueStart = afterKey(b, i, end);
            int valueEnd = valueStart == FAIL ? FAIL : value(b, valueStart, end, depth + 1);
            int separator = valueEnd == FAIL ? FAIL : separator(b, valueEnd, end, '}');
            if (separator == FAIL) {
                return FAIL;
            }
            if (b[separator] == '}') {
                return separator + 1;
            }
            i = whitespace(b, separator + 1, end);
        }
    }

    private static int array(byte[] b, int start, int end, int depth) {
        if (depth > MAX_DEPTH) {
            return FAIL;
        }
        int i = whitespace(b, start + 1, end);
        if (i < end && b[i] == ']') {
            return i + 1;
        }
        while (true) {
            int valueEnd = value(b, i, end, depth + 1);
            int separator = valueEnd == FAIL ? FAIL : separator(b, valueEnd, end, ']');
            if (separator == FAIL) {
                return FAIL;
            }
            if (b[separator] == ']') {
                return separator + 1;
            }
            i = whitespace(b, separator + 1, end);
        }
    }

    /**
     * The end of the object key whose opening quote is {@code b[start]}: printable ASCII without escapes only.
     * Jackson decodes every key, also of values it skips, and refuses some that a value may hold (an escaped
     * lone surrogate, for one); the keys of chat messages are plain words.
     */
    private static int key(byte[] b, int start, int end) {
        int limit = Math.min(end, start + 2 + MAX_KEY_LENGTH);
        for (int i = start + 1; i < limit; i++) {
            byte c = b[i];
            if (c == '"') {
                return i + 1;
            }
            if (c < 0x20 || c == '\\' || c == 0x7F) { // bytes past ASCII are negative
                return FAIL;
            }
        }
        return FAIL;
    }

    /** The end of the string whose opening quote is {@code b[start]}, just past its closing quote. */
    public static int string(byte[] b, int start, int end) {
        int i = start + 1;
        while (true) {
            while (i + Long.BYTES <= end) {
                long v = (long) LONGS.get(b, i);
                long q = v ^ QUOTES;
                long s = v ^ BACKSLASHES;
                long flagged = ((q - ONES) & ~q | (s - ONES) & ~s | (v - SPACES) & ~v | v) & HIGHS;
                if (flagged != 0) {
                    i += Long.numberOfTrailingZeros(flagged) >>> 3;
                    break;
                }
                i += Long.BYTES;
            }
            if (i >= end) {
                return FAIL;
            }
            int c = b[i] & 0xFF;
            if (c == '"') {
                return i + 1;
            } else if (c == '\\') {
                i = escape(b, i, end);
            } else if (c >= 0x80) {
                i = utf8(b, i, end, c);
            } else if (c < 0x20) {
                return FAIL;
            } else {
                i++; // an ordinary byte in the last few, read one at a time
            }
            if (i == FAIL) {
                return FAIL;
            }
        }
    }

    /**
     * The index of the first byte of {@code b[from, to)} that is a backslash or above 0x7F, or {@code to}: up to
     * there, the bytes of a string that {@link #string} accepted are its characters, one each.
     */
    public static int plainEnd(byte[] b, int from, int to) {
        int i = from;
        for (; i + Long.BYTES <= to; i += Long.BYTES) {
            long v = (long) LONGS.get(b, i);
            long s = v ^ BACKSLASHES;
            long flagged = (((s - ONES) & ~s) | v) & HIGHS;
            if (flagged != 0) {
                return i + (Long.numberOfTrailingZeros(flagged) >>> 3);
            }
        }
        for (; i < to; i++) {
            if (b[i] < 0 || b[i] == '\\') {
                return i;
            }
        }
        return to;
    }

    private static int escape(byte[] b, int i, int end) {
        if (i + 1 >= end) {
            return FAIL;
        }
        switch (b[i + 1]) {
            case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
                return i + 2;
            case 'u':
                if (i + 6 > end) {
                    return FAIL;
                }
                for (int k = i + 2; k < i + 6; k++) {
                    if (Character.digit(b[k], 16) < 0) {
                        return FAIL;
                    }
                }
                return i + 6;
            default:
                return FAIL;
        }
    }

    /** Past the well-formed UTF-8 sequence led by {@code c == b[i]} (not ASCII), or {@link #FAIL}. */
    private static int utf8(byte[] b, int i, int end, int c) {
        int length;
        int low = 0x80;
        int high = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) {
            length = 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            length = 3;
            if (c == 0xE0) {
                low = 0xA0; // shorter forms are overlong
            } else if (c == 0xED) {
                high = 0x9F; // ED A0..BF would encode a surrogate
            }
        } else if (c >= 0xF0 && c <= 0xF4) {
            length = 4;
            if (c == 0xF0) {
                low = 0x90;
            } else if (c == 0xF4) {
                high = 0x8F; // beyond U+10FFFF
            }
        } else {
            return FAIL;
        }
        if (i + length > end) {
            return FAIL;
        }
        int second = b[i + 1] & 0xFF;
        if (second < low || second > high) {
            return FAIL;
        }
        for (int k = i + 2; k < i + length; k++) {
            if ((b[k] & 0xC0) != 0x80) {
                return FAIL;
            }
        }
        return i + length;
    }

    private static int literal(byte[] b, int i, int end, byte[] word) {
        if (i + word.length > end) {
            return FAIL;
        }
        for (int k = 0; k < word.length; k++) {
            if (b[i + k] != word[k]) {
                return FAIL;
            }
        }
        return delimited(b, i + word.length, end);
    }

    /** {@code -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?}, then a delimiter. */
    private static int number(byte[] b, int start, int end) {
        int i = start;
        if (b[i] == '-') {
            i++;
        }
        if (i >= end || !digit(b[i])) {
            return FAIL;
        }
        if (b[i] == '0') {
            i++;
        } else {
            i = digits(b, i, end);
        }
        if (i < end && b[i] == '.') {
            int after = digits(b, i + 1, end);
            if (after == i + 1) {
                return FAIL;
            }
            i = after;
        }
        if (i < end && (b[i] == 'e' || b[i] == 'E')) {
            i++;
            if (i < end && (b[i] == '+' || b[i] == '-')) {
                i++;
            }
            int after = digits(b, i, end);
            if (after == i) {
                return FAIL;
            }
            i = after;
        }
        return i - start > MAX_NUMBER_LENGTH ? FAIL : delimited(b, i, end);
    }

    private static int digits(byte[] b, int i, int end) {
        while (i < end && digit(b[i])) {
            i++;
        }
        return i;
    }

    private static boolean digit(byte c) {
        return c >= '0' && c <= '9';
    }

    /** {@code i} when a scalar may end there (whitespace, a comma or a closing bracket follows), else {@link #FAIL}. */
    private static int delimited(byte[] b, int i, int end) {
        if (i >= end) {
            return FAIL; // a scalar is never last here: it sits in an object or an array
        }
        byte c = b[i];
        return c == ',' || c == '}' || c == ']' || c == ' ' || c == '\n' || c == '\r' || c == '\t' ? i : FAIL;
    }

    public static int whitespace(byte[] b, int i, int end) {
        while (i < end) {
            byte c = b[i];
            if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
                break;
            }
            i++;
        }
        return i;
    }
}
