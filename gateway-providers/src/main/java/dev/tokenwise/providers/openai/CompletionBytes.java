package dev.tokenwise.providers.openai;

import static dev.tokenwise.core.json.JsonScanner.FAIL;
import static dev.tokenwise.core.json.JsonScanner.afterKey;
import static dev.tokenwise.core.json.JsonScanner.isKey;
import static dev.tokenwise.core.json.JsonScanner.plainEnd;
import static dev.tokenwise.core.json.JsonScanner.separator;
import static dev.tokenwise.core.json.JsonScanner.string;
import static dev.tokenwise.core.json.JsonScanner.value;
import static dev.tokenwise.core.json.JsonScanner.whitespace;

import static dev.tokenwise.providers.openai.ChatCompletionScanner.ABSENT;
import static dev.tokenwise.providers.openai.ChatCompletionScanner.ARGUMENTS_SEEN;
import static dev.tokenwise.providers.openai.ChatCompletionScanner.CHOICES_SEEN;
import static dev.tokenwise.providers.openai.ChatCompletionScanner.CONTENT_SEEN;
import static dev.tokenwise.providers.openai.ChatCompletionScanner.FINISH_REASON_SEEN;
import static dev.tokenwise.providers.openai.ChatCompletionScanner.FUNCTION_SEEN;
import static dev.tokenwise.providers.openai.ChatCompletionScanner.MESSAGE_SEEN;
import static dev.tokenwise.providers.openai.ChatCompletionScanner.NAME_SEEN;
import static dev.tokenwise.providers.openai.ChatCompletionScanner.NEEDS_TREE;
import static dev.tokenwise.providers.openai.ChatCompletionScanner.NULL;
import static dev.tokenwise.providers.openai.ChatCompletionScanner.SERVICE_TIER_SEEN;
import static dev.tokenwise.providers.openai.ChatCompletionScanner.TOOL_CALLS_SEEN;
import static dev.tokenwise.providers.openai.ChatCompletionScanner.USAGE_SEEN;
import static dev.tokenwise.providers.openai.ChatCompletionScanner.once;
import static dev.tokenwise.providers.openai.ChatCompletionScanner.orZero;

import dev.tokenwise.core.model.ServiceTier;
import dev.tokenwise.core.model.TokenUsage;
import dev.tokenwise.providers.openai.ChatCompletionScanner.NeedsTree;
import java.nio.charset.StandardCharsets;

/**
 * The first pass of {@link ChatCompletionScanner}: the same reading of a chat completion or chunk, straight
 * from its UTF-8 bytes with {@link dev.tokenwise.core.json.JsonScanner}'s primitives, without a parser, tokens
 * or key strings. Keys are compared as bytes; only the texts that are kept are decoded.
 *
 * <p>It accepts the scanner's strict subset of JSON only (see {@code JsonScanner}: keys of printable ASCII
 * without escapes, well-formed UTF-8, the JSON number grammar, limited nesting) and, within it, only what it
 * reads exactly as Jackson does: a token field of {@code usage} must be an integer from 0 to
 * {@link TokenUsage#MAX_PLAUSIBLE_TOKENS} or {@code null}, and a {@code type} or {@code object} string must have no escapes. Anything else, and every case
 * where the Jackson pass would hand the payload to the tree (a repeated field, {@code tool_calls} as an
 * object, a Responses API payload), answers {@code false} with {@code text} unchanged, and the Jackson pass
 * reads the payload as before. A differential test holds it to the Jackson pass on generated payloads.
 */
final class CompletionBytes {
    private static final byte[] USAGE = ascii("usage");
    private static final byte[] CHOICES = ascii("choices");
    private static final byte[] TYPE = ascii("type");
    private static final byte[] OBJECT = ascii("object");
    private static final byte[] MESSAGE = ascii("message");
    private static final byte[] DELTA = ascii("delta");
    private static final byte[] FINISH_REASON = ascii("finish_reason");
    private static final byte[] CONTENT = ascii("content");
    private static final byte[] TOOL_CALLS = ascii("tool_calls");
    private static final byte[] FUNCTION = ascii("function");
    private static final byte[] NAME = ascii("name");
    private static final byte[] ARGUMENTS = ascii("arguments");
    private static final byte[] PROMPT_TOKENS = ascii("prompt_tokens");
    private static final byte[] INPUT_TOKENS = ascii("input_tokens");
    private static final byte[] COMPLETION_TOKENS = ascii("completion_tokens");
    private static final byte[] OUTPUT_TOKENS = ascii("output_tokens");
    private static final byte[] CACHE_HIT = ascii("prompt_cache_hit_tokens");
    private static final byte[] CACHE_MISS = ascii("prompt_cache_miss_tokens");
    private static final byte[] PROMPT_DETAILS = ascii("prompt_tokens_details");
    private static final byte[] INPUT_DETAILS = ascii("input_tokens_details");
    private static final byte[] COMPLETION_DETAILS = ascii("completion_tokens_details");
    private static final byte[] OUTPUT_DETAILS = ascii("output_tokens_details");
    private static final byte[] CACHED_TOKENS = ascii("cached_tokens");
    private static final byte[] REASONING_TOKENS = ascii("reasoning_tokens");
    private static final byte[] REJECTED_PREDICTION_TOKENS = ascii("rejected_prediction_tokens");
    private static final byte[] RESPONSE_PREFIX = ascii("response.");
    private static final byte[] RESPONSE = ascii("response");
    private static final byte[] SERVICE_TIER = ascii("service_tier");
    private static final byte[] FLEX = ascii("flex");
    private static final byte[] PRIORITY = ascii("priority");
    private static final byte[] BATCH = ascii("batch");
    private static final byte[] ERROR = ascii("error");
    private static final char[] NO_CHARS = new char[0];

    private byte[] b;
    private int end;
    private boolean chunk;
    private StringBuilder text;
    /** Decoded characters of the string being kept when it is not plain; made for the first such string. */
    private char[] chars = NO_CHARS;

    TokenUsage usage;
    boolean choicesEmpty;
    String finishReason;
    ServiceTier serviceTier;

    /**
     * Reads {@code b[from, end)} as {@link ChatCompletionScanner#scan} does; {@code false}, with {@code text}
     * unchanged, when it leaves the payload to the Jackson pass.
     */
    boolean scan(byte[] b, int from, int end, boolean chunk, StringBuilder text) {
        this.b = b;
        this.end = end;
        this.chunk = chunk;
        this.text = text;
        usage = null;
        choicesEmpty = false;
        finishReason = null;
        serviceTier = null;
        int mark = text.length();
        try {
            int i = whitespace(b, from, end);
            if (i >= end || b[i] != '{') {
                throw NEEDS_TREE;
            }
            readRoot(i);
            return true;
        } catch (NeedsTree | RuntimeException e) { // left to the parser pass
            text.setLength(mark);
            usage = null;
            choicesEmpty = false;
            finishReason = null;
            serviceTier = null;
            return false;
        } finally {
            this.b = null;
            this.text = null;
        }
    }

    /** The members of the object at {@code b[start] == '{'}: calls {@code member} for each; returns the object's end. */
    private int members(int start, Member member) throws NeedsTree {
        int i = whitespace(b, start + 1, end);
        if (i < end && b[i] == '}') {
            return i + 1;
        }
        while (true) {
            int valueStart = check(afterKey(b, i, end));
            int valueEnd = check(member.read(i + 1, valueStart));
            int separator = check(separator(b, valueEnd, end, '}'));
            if (b[separator] == '}') {
                return separator + 1;
            }
            i = whitespace(b, separator + 1, end);
        }
    }

    /** Reads the member whose key starts at {@code key} (past its quote) and whose value starts at {@code value}. */
    @FunctionalInterface
    private interface Member {
        /** @return the end of the value, or {@code FAIL} */
        int read(int key, int value) throws NeedsTree;
    }

    /** The elements of the array at {@code b[start] == '['}: calls {@code element} for each; returns the array's end. */
    private int elements(int start, Element element) throws NeedsTree {
        int i = whitespace(b, start + 1, end);
        if (i < end && b[i] == ']') {
            return i + 1;
        }
        while (true) {
            if (i >= end) {
                throw NEEDS_TREE;
            }
            int elementEnd = check(element.read(i));
            int separator = check(separator(b, elementEnd, end, ']'));
            if (b[separator] == ']') {
                return separator + 1;
            }
            i = whitespace(b, separator + 1, end);
        }
    }

    /** Reads the array element that starts at {@code at}. */
    @FunctionalInterface
    private interface Element {
        /** @return the end of the element, or {@code FAIL} */
        int read(int at) throws NeedsTree;
    }

    private void readRoot(int start) throws NeedsTree {
        int[] seenHere = {0};
        members(start, (key, v) -> {
            if (isKey(b, key, end, USAGE)) {
                seenHere[0] = once(seenHere[0], USAGE_SEEN);
                if (b[v] == '{') {
                    return readUsage(v);
                }
            } else if (isKey(b, key, end, CHOICES)) {
                seenHere[0] = once(seenHere[0], CHOICES_SEEN);
                if (b[v] == '[') {
                    return readChoices(v);
                }
            } else if (isKey(b, key, end, SERVICE_TIER)) {
                seenHere[0] = once(seenHere[0], SERVICE_TIER_SEEN);
                if (b[v] == '"') {
                    return readServiceTier(v);
                }
            } else if (isKey(b, key, end, TYPE)) {
                if (chunk && b[v] == '"' && (startsPlain(v, RESPONSE_PREFIX, false) || startsPlain(v, ERROR, true))) {
                    throw NEEDS_TREE;
                }
            } else if (isKey(b, key, end, ERROR)) {
                if (chunk) {
                    throw NEEDS_TREE; // an error reported mid-stream: the tree reads it
                }
            } else if (isKey(b, key, end, OBJECT)) {
                if (!chunk && b[v] == '"' && startsPlain(v, RESPONSE, true)) {
                    throw NEEDS_TREE;
                }
            }
            return value(b, v, end, 1);
        });
    }

    /**
     * The tier named by the string at {@code b[v] == '"'}, compared as bytes (OpenAI repeats it in every chunk, so it
     * is not decoded into a {@code String}); a string with an escape is not compared here. Returns the string's end.
     */
    private int readServiceTier(int v) throws NeedsTree {
        if (startsPlain(v, FLEX, true)) {
            serviceTier = ServiceTier.FLEX;
        } else if (startsPlain(v, PRIORITY, true)) {
            serviceTier = ServiceTier.PRIORITY;
        } else if (startsPlain(v, BATCH, true)) {
            serviceTier = ServiceTier.BATCH;
        } else {
            serviceTier = ServiceTier.STANDARD;
        }
        return check(string(b, v, end));
    }

    /**
     * Whether the string at {@code b[v] == '"'} starts with {@code prefix} (or, {@code whole}, is it); a string
     * with an escape is not compared here.
     */
    private boolean startsPlain(int v, byte[] prefix, boolean whole) throws NeedsTree {
        int stringEnd = check(string(b, v, end));
        for (int i = v + 1; i < stringEnd - 1; i++) {
            if (b[i] == '\\') {
                throw NEEDS_TREE;
            }
        }
        int length = stringEnd - v - 2;
        if (whole ? length != prefix.length : length < prefix.length) {
            return false;
        }
        for (int k = 0; k < prefix.length; k++) {
            if (b[v + 1 + k] != prefix[k]) {
                return false;
            }
        }
        return true;
    }

    private int readChoices(int start) throws NeedsTree {
        int[] count = {0};
        int arrayEnd = elements(start, at -> {
            count[0]++;
            return b[at] == '{' ? readChoice(at) : value(b, at, end, 2);
        });
        choicesEmpty = count[0] == 0;
        return arrayEnd;
    }

    private int readChoice(int start) throws NeedsTree {
        byte[] messageField = chunk ? DELTA : MESSAGE;
        int[] seenHere = {0};
        String[] reason = {null};
        int choiceEnd = members(start, (key, v) -> {
            if (isKey(b, key, end, messageField)) {
                seenHere[0] = once(seenHere[0], MESSAGE_SEEN);
                if (b[v] == '{') {
                    return readMessage(v);
                }
            } else if (isKey(b, key, end, FINISH_REASON)) {
                seenHere[0] = once(seenHere[0], FINISH_REASON_SEEN);
                if (b[v] == '"') {
                    int stringEnd = decode(v);
                    reason[0] = decodedString();
                    return stringEnd;
                }
            }
            return value(b, v, end, 3);
        });
        if (reason[0] != null) {
            finishReason = reason[0];
        }
        return choiceEnd;
    }

    /** Appends the message's content, then its tool calls' names and arguments, whatever their order. */
    private int readMessage(int start) throws NeedsTree {
        int at = text.length();
        int[] seenHere = {0};
        return members(start, (key, v) -> {
            if (isKey(b, key, end, CONTENT)) {
                seenHere[0] = once(seenHere[0], CONTENT_SEEN);
                if (b[v] == '"') {
                    return appendAt(v, at);
                }
            } else if (isKey(b, key, end, TOOL_CALLS)) {
                seenHere[0] = once(seenHere[0], TOOL_CALLS_SEEN);
                if (b[v] == '[') {
                    return elements(v, call -> b[call] == '{' ? readCall(call) : value(b, call, end, 5));
                }
                if (b[v] == '{') {
                    throw NEEDS_TREE; // the tree iterates an object's values, in its own order for repeated keys
                }
            }
            return value(b, v, end, 4);
        });
    }

    private int readCall(int start) throws NeedsTree {
        int[] seenHere = {0};
        return members(start, (key, v) -> {
            if (isKey(b, key, end, FUNCTION)) {
                seenHere[0] = once(seenHere[0], FUNCTION_SEEN);
                if (b[v] == '{') {
                    return readFunction(v);
                }
            }
            return value(b, v, end, 6);
        });
    }

    /** Appends the function's name, then its arguments, whatever their order. */
    private int readFunction(int start) throws NeedsTree {
        int at = text.length();
        int[] seenHere = {0};
        return members(start, (key, v) -> {
            if (isKey(b, key, end, NAME)) {
                seenHere[0] = once(seenHere[0], NAME_SEEN);
                if (b[v] == '"') {
                    return appendAt(v, at);
                }
            } else if (isKey(b, key, end, ARGUMENTS)) {
                seenHere[0] = once(seenHere[0], ARGUMENTS_SEEN);
                if (b[v] == '"') {
                    return appendAt(v, text.length());
                }
            }
            return value(b, v, end, 7);
        });
    }

    /** See {@link ChatCompletionScanner}'s usage reading; the same fields, the same rules. */
    private int readUsage(int start) throws NeedsTree {
        long[] f = {ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, 0, 0, 0, 0};
        int usageEnd = members(start, (key, v) -> {
            int slot;
            if (isKey(b, key, end, PROMPT_TOKENS)) {
                slot = 0;
            } else if (isKey(b, key, end, INPUT_TOKENS)) {
                slot = 1;
            } else if (isKey(b, key, end, COMPLETION_TOKENS)) {
                slot = 2;
            } else if (isKey(b, key, end, OUTPUT_TOKENS)) {
                slot = 3;
            } else if (isKey(b, key, end, CACHE_HIT)) {
                slot = 4;
            } else if (isKey(b, key, end, CACHE_MISS)) {
                slot = 5;
            } else if (isKey(b, key, end, PROMPT_DETAILS)) {
                return detail(v, CACHED_TOKENS, f, 6, false);
            } else if (isKey(b, key, end, INPUT_DETAILS)) {
                return detail(v, CACHED_TOKENS, f, 7, false);
            } else if (isKey(b, key, end, COMPLETION_DETAILS)) {
                return detail(v, REASONING_TOKENS, f, 8, true);
            } else if (isKey(b, key, end, OUTPUT_DETAILS)) {
                return detail(v, REASONING_TOKENS, f, 9, false);
            } else {
                return value(b, v, end, 2);
            }
            return tokens(v, f, slot);
        });
        usage = ChatCompletionScanner.usage(f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9]);
        return usageEnd;
    }

    /**
     * The details object's {@code field} into {@code f[slot]} (0 when missing or {@code null}, or not an object).
     * With {@code prediction}, rejected prediction tokens other than 0 leave the payload to the tree, which reads
     * them (they are rare: only calls with a predicted output have them).
     */
    private int detail(int v, byte[] field, long[] f, int slot, boolean prediction) throws NeedsTree {
        f[slot] = 0;
        if (b[v] != '{') {
            return value(b, v, end, 3);
        }
        return members(v, (key, w) -> {
            if (isKey(b, key, end, field)) {
                int valueEnd = tokens(w, f, slot);
                f[slot] = orZero(f[slot]);
                return valueEnd;
            }
            if (prediction && isKey(b, key, end, REJECTED_PREDICTION_TOKENS)) {
                long[] rejected = {0};
                int valueEnd = tokens(w, rejected, 0);
                if (orZero(rejected[0]) != 0) {
                    throw NEEDS_TREE;
                }
                return valueEnd;
            }
            return value(b, w, end, 4);
        });
    }

    /**
     * A token count at {@code b[v]}: an integer from 0 to {@link TokenUsage#MAX_PLAUSIBLE_TOKENS}, or {@code null};
     * anything else is not read here.
     */
    private int tokens(int v, long[] f, int slot) throws NeedsTree {
        int valueEnd = check(value(b, v, end, 3));
        if (b[v] == 'n') {
            f[slot] = NULL;
            return valueEnd;
        }
        if (valueEnd - v > 18) {
            throw NEEDS_TREE;
        }
        long n = 0;
        for (int i = v; i < valueEnd; i++) {
            byte c = b[i];
            if (c < '0' || c > '9') {
                // A negative number, a fraction or an exponent, true or false, a string, an array or an object: the
                // tree rejects the usage.
                throw NEEDS_TREE;
            }
            n = n * 10 + (c - '0');
        }
        if (n > TokenUsage.MAX_PLAUSIBLE_TOKENS) {
            throw NEEDS_TREE;
        }
        f[slot] = n;
        return valueEnd;
    }

    /** Characters decoded by the last {@link #decode}. */
    private int decoded;
    /** Where the last {@link #decode}d string's characters start in {@link #b} when they are its bytes, else -1. */
    private int plainFrom = -1;

    /**
     * Decodes the string at {@code b[v] == '"'} ({@link #decoded} characters, in {@link #chars} unless they are its
     * own bytes from {@link #plainFrom}: ASCII without escapes, the common case, is not copied char by char);
     * returns its end. The string is checked first, so decoding sees well-formed UTF-8 and escapes only.
     */
    private int decode(int v) throws NeedsTree {
        int stringEnd = check(string(b, v, end));
        int last = stringEnd - 1;
        int plain = plainEnd(b, v + 1, last);
        if (plain == last) {
            plainFrom = v + 1;
            decoded = last - plainFrom;
            return stringEnd;
        }
        plainFrom = -1;
        if (chars.length < last - v) {
            chars = new char[Math.max(Math.max(last - v, 256), chars.length * 2)];
        }
        char[] out = chars;
        int n = 0;
        for (int i = v + 1; i < plain; i++) {
            out[n++] = (char) b[i];
        }
        for (int i = plain; i < last; ) {
            int c = b[i];
            if (c >= 0 && c != '\\') {
                out[n++] = (char) c;
                i++;
            } else if (c == '\\') {
                byte e = b[i + 1];
                switch (e) {
                    case 'n' -> out[n++] = '\n';
                    case 't' -> out[n++] = '\t';
                    case 'r' -> out[n++] = '\r';
                    case 'b' -> out[n++] = '\b';
                    case 'f' -> out[n++] = '\f';
                    case 'u' -> {
                        out[n++] = (char) (Character.digit(b[i + 2], 16) << 12 | Character.digit(b[i + 3], 16) << 8
                                | Character.digit(b[i + 4], 16) << 4 | Character.digit(b[i + 5], 16));
                        i += 4;
                    }
                    default -> out[n++] = (char) e; // " \ /
                }
                i += 2;
            } else if ((c & 0xE0) == 0xC0) {
                out[n++] = (char) ((c & 0x1F) << 6 | b[i + 1] & 0x3F);
                i += 2;
            } else if ((c & 0xF0) == 0xE0) {
                out[n++] = (char) ((c & 0x0F) << 12 | (b[i + 1] & 0x3F) << 6 | b[i + 2] & 0x3F);
                i += 3;
            } else {
                int codePoint = (c & 0x07) << 18 | (b[i + 1] & 0x3F) << 12 | (b[i + 2] & 0x3F) << 6 | b[i + 3] & 0x3F;
                out[n++] = Character.highSurrogate(codePoint);
                out[n++] = Character.lowSurrogate(codePoint);
                i += 4;
            }
        }
        decoded = n;
        return stringEnd;
    }

    /** The string the last {@link #decode} read. */
    private String decodedString() {
        return plainFrom >= 0 ? new String(b, plainFrom, decoded, StandardCharsets.ISO_8859_1)
                : new String(chars, 0, decoded);
    }

    /**
     * Decodes the string at {@code b[v]} into the text at {@code at}: appended when nothing came after {@code at}
     * yet, else inserted. Returns the string's end.
     */
    private int appendAt(int v, int at) throws NeedsTree {
        int stringEnd = decode(v);
        boolean atEnd = text.length() == at;
        if (plainFrom >= 0) {
            String plain = decodedString();
            if (atEnd) {
                text.append(plain);
            } else {
                text.insert(at, plain);
            }
        } else if (atEnd) {
            text.append(chars, 0, decoded);
        } else {
            text.insert(at, chars, 0, decoded);
        }
        return stringEnd;
    }

    private static int check(int position) throws NeedsTree {
        if (position == FAIL) {
            throw NEEDS_TREE;
        }
        return position;
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }
}
