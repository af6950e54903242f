package dev.tokenwise.core.json;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.MissingNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.Arrays;

/**
 * Reads a chat request body into a tree whose top-level {@code messages} array is a {@link RawArrayNode}: the
 * messages are checked to be well-formed JSON and their byte spans recorded, but no node or string is made of
 * them until something reads them. Every other field is an ordinary node. The tree equals what
 * {@code ObjectMapper.readTree} makes of the same bytes (node types), and malformed input fails with the same
 * {@link com.fasterxml.jackson.core.JsonProcessingException} and location; stricter than {@code readTree}, a
 * top-level field named twice, content after the root value and a number beyond a {@code double}'s range are
 * refused.
 *
 * <p>The messages are found by {@link JsonScanner}, which crosses their strings eight bytes at a time, when the
 * body is strict JSON in UTF-8; the other fields are then read by Jackson from a copy of the body without the
 * messages (a few hundred bytes). Anything the scanner does not take, and any error, goes through the path that
 * skips each message with Jackson's parser, so errors are always Jackson's, with their locations in the body.
 *
 * <p>Falls back to a plain tree where spans cannot be kept: a body in an encoding other than UTF-8 (the
 * parser then reports no byte offsets) or longer than the parser's longest string (skipping does not check
 * that limit, reading does). Messages holding an encoded surrogate, which skipping lets through too, are read
 * as a tree, so they are refused as {@code readTree} refuses them.
 */
public final class ChatBodyReader {
    private static final String MESSAGES = "messages";
    private static final byte[] MESSAGES_KEY = MESSAGES.getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    private ChatBodyReader() {
    }

    /**
     * The body's root value; {@link MissingNode} when there is none (only whitespace).
     *
     * @param body the bytes, kept by the returned tree: the caller must not change them afterwards
     */
    public static JsonNode read(JsonFactory factory, byte[] body) throws IOException {
        JsonScanner.Located messages = body.length > factory.streamReadConstraints().getMaxStringLength()
                || factory.isEnabled(JsonParser.Feature.STRICT_DUPLICATE_DETECTION) ? null
                : JsonScanner.locateArray(body, MESSAGES_KEY);
        if (messages != null) {
            JsonNode rest = readWithout(factory, body, messages);
            if (rest != null) {
                return rest;
            }
        }
        return readSkipping(factory, body);
    }

    /**
     * The tree of {@code body} read from a copy without its messages, which become a {@link RawArrayNode} over
     * {@code body}; {@code null} when that copy does not read (the caller then reads the body itself, so that an
     * error names its place in the body).
     */
    private static JsonNode readWithout(JsonFactory factory, byte[] body, JsonScanner.Located messages) {
        int start = messages.arrayStart();
        int end = messages.arrayEnd();
        byte[] rest = new byte[body.length - (end - start) + 2];
        System.arraycopy(body, 0, rest, 0, start);
        rest[start] = '[';
        rest[start + 1] = ']';
        System.arraycopy(body, end, rest, start + 2, body.length - end);
        JsonNode root;
        try {
            root = readSkipping(factory, rest);
        } catch (IOException e) {
            return null;
        }
        if (!(root instanceof ObjectNode object) || !(object.get(MESSAGES) instanceof RawArrayNode)) {
            return null;
        }
        object.set(MESSAGES, new RawArrayNode(factory, body, start, end, messages.spans(), messages.count()));
        return object;
    }

    /** Reads {@code body} with Jackson's parser alone, skipping each message. */
    static JsonNode readSkipping(JsonFactory factory, byte[] body) throws IOException {
        return readRoot(factory, body, true);
    }

    /**
     * Reads any request body as strictly as a chat body: a tree of ordinary nodes (no raw messages), refusing a
     * top-level field named twice, content after the root value, and numbers beyond a {@code double}'s range.
     * The body must be UTF-8 ({@link #requireUtf8}).
     */
    public static JsonNode readStrict(JsonFactory factory, byte[] body) throws IOException {
        return readRoot(factory, body, false);
    }

    /**
     * Refuses a body in UTF-16 or UTF-32, which a parser reads but a provider expecting UTF-8 may not: such a body
     * starts with a byte-order mark or has a NUL among its first bytes (JSON text in UTF-8 never does).
     */
    public static void requireUtf8(byte[] body) throws JsonParseException {
        if (body.length >= 2 && ((body[0] & 0xFF) == 0xFE && (body[1] & 0xFF) == 0xFF
                || (body[0] & 0xFF) == 0xFF && (body[1] & 0xFF) == 0xFE)) {
            throw new JsonParseException(null, "request body must be UTF-8 (it starts with a UTF-16 byte-order mark)");
        }
        for (int i = 0; i < Math.min(4, body.length); i++) {
            if (body[i] == 0) {
                throw new JsonParseException(null, "request body must be UTF-8 (it looks like UTF-16 or UTF-32)");
            }
        }
    }

    /**
     * The root value; a root object's fields are read one by one, so that a field named twice is refused (a
     * provider keeping the first occurrence would otherwise serve what the gateway did not check), and nothing may
     * follow the root value but white space.
     */
    private static JsonNode readRoot(JsonFactory factory, byte[] body, boolean rawMessages) throws IOException {
        try (JsonParser p = factory.createParser(body)) {
            JsonToken t = p.nextToken();
            if (t == null) {
                return MissingNode.getInstance();
            }
            JsonNode root;
            if (t != JsonToken.START_OBJECT) {
                root = requireFinite(p, JsonTrees.readValue(p, t));
            } else {
                boolean raw = rawMessages && body.length <= factory.streamReadConstraints().getMaxStringLength()
                        && p.currentTokenLocation().getByteOffset() >= 0;
                ObjectNode object = JsonNodeFactory.instance.objectNode();
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String name = p.currentName();
                    if (object.has(name)) {
                        throw new JsonParseException(p, "Duplicate field '" + name + "'");
                    }
                    JsonToken value = p.nextToken();
                    if (raw && value == JsonToken.START_ARRAY && MESSAGES.equals(name)) {
                        RawArrayNode messages = rawArray(factory, p, body);
                        if (hasEncodedSurrogate(body, messages.arrayStart(), messages.arrayEnd())) {
                            return readTree(factory, body); // refused there, with the reader's own message
                        }
                        object.set(name, messages);
                    } else {
                        object.set(name, requireFinite(p, JsonTrees.readValue(p, value)));
                    }
                }
                root = object;
            }
            boolean trailing;
            try {
                trailing = p.nextToken() != null;
            } catch (JsonParseException unreadable) {
                trailing = true;
            }
            if (trailing) {
                throw new JsonParseException(p, "Unexpected content after the JSON body");
            }
            return root;
        }
    }

    /**
     * {@code node}, refused when it holds a number beyond a {@code double}'s range (e.g. {@code 1e400}), which a
     * provider would read as something else than what the gateway checked. Raw messages are not walked.
     */
    private static JsonNode requireFinite(JsonParser p, JsonNode node) throws JsonParseException {
        if (node.isDouble() && Double.isInfinite(node.doubleValue())) {
            throw new JsonParseException(p, "Number out of range: " + node.asText());
        }
        if (node.isContainerNode() && !(node instanceof RawArrayNode)) {
            for (JsonNode child : node) {
                requireFinite(p, child);
            }
        }
        return node;
    }

    private static JsonNode readTree(JsonFactory factory, byte[] body) throws IOException {
        try (JsonParser p = factory.createParser(body)) {
            return JsonTrees.readValue(p, p.nextToken());
        }
    }

    /**
     * Whether {@code b[from, to)} holds a UTF-16 surrogate encoded as three bytes ({@code ED A0..BF xx}): the
     * parser refuses one when it reads a string but not when it skips one. In UTF-8 {@code ED} is only ever a
     * lead byte, so an {@code ED} followed by {@code A0} or more is exactly that. Eight bytes at a time.
     */
    static boolean hasEncodedSurrogate(byte[] b, int from, int to) {
        int i = from;
        for (; i + 8 <= to; i += 8) {
            long v = (long) JsonScanner.LONGS.get(b, i) ^ 0xEDEDEDEDEDEDEDEDL; // a zero byte where b was ED
            if (((v - 0x0101010101010101L) & ~v & 0x8080808080808080L) != 0 && hasEncodedSurrogateAt(b, i, i + 8, to)) {
                return true;
            }
        }
        return hasEncodedSurrogateAt(b, i, to, to);
    }

    private static boolean hasEncodedSurrogateAt(byte[] b, int from, int until, int to) {
        for (int i = from; i < until; i++) {
            if (b[i] == (byte) 0xED && i + 1 < to && (b[i + 1] & 0xFF) >= 0xA0) {
                return true;
            }
        }
        return false;
    }

    /** The array at the parser ({@code START_ARRAY} current), skipped element by element; ends on its {@code END_ARRAY}. */
    private static RawArrayNode rawArray(JsonFactory factory, JsonParser p, byte[] body) throws IOException {
        int arrayStart = (int) p.currentTokenLocation().getByteOffset();
        int[] spans = new int[32];
        int count = 0;
        JsonToken t;
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
            if (t == null) {
                throw new IOException("unexpected end of input in " + MESSAGES); // the parser reports it first
            }
            int start = (int) p.currentTokenLocation().getByteOffset();
            p.skipChildren(); // for a scalar, stays on it
            int end = (int) p.currentTokenLocation().getByteOffset() + tokenLength(p, body);
            if (2 * count + 2 > spans.length) {
                spans = Arrays.copyOf(spans, spans.length * 2);
            }
            spans[2 * count] = start;
            spans[2 * count + 1] = end;
            count++;
        }
        int arrayEnd = (int) p.currentTokenLocation().getByteOffset() + 1;
        return new RawArrayNode(factory, body, arrayStart, arrayEnd, spans, count);
    }

    /** The byte length of the current token, which ends a value: a closing bracket or a scalar. */
    private static int tokenLength(JsonParser p, byte[] body) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.END_OBJECT || t == JsonToken.END_ARRAY) {
            return 1;
        }
        // A scalar: finish it, so the parser stands just past its last byte.
        if (t == JsonToken.VALUE_STRING) {
            p.getTextLength();
        } else if (t.isNumeric()) {
            p.getNumberValue();
        }
        return (int) (p.currentLocation().getByteOffset() - p.currentTokenLocation().getByteOffset());
    }
}
