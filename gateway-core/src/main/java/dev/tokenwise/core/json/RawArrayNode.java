package dev.tokenwise.core.json;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.AbstractList;
import java.util.ArrayList;
import java.util.List;
import java.util.RandomAccess;

/**
 * A JSON array whose elements stay as their UTF-8 bytes, already checked to be well-formed JSON, until
 * something reads one of them; then all are parsed once into ordinary nodes and the array behaves as any
 * {@link ArrayNode}, changes included.
 *
 * <p>Why: a chat body's {@code messages} are most of its bytes, and a gateway that forwards the body as it
 * came only needs each message's bytes (to key its cached token count) and, on a cache miss, that one message
 * as a tree. {@link #size()}, {@link #elementStart}/{@link #elementEnd} and {@link #source()} read the bytes
 * without parsing anything.
 *
 * <p>Until it is parsed the array writes itself as its original bytes; once parsed (its elements may have
 * been changed through the nodes handed out) it writes its nodes. A {@linkplain #deepCopy() deep copy} of an
 * unparsed array shares the bytes, which are never written to. Parsing is idempotent and safe to race: the
 * first complete result is kept.
 */
public final class RawArrayNode extends ArrayNode {
    private static final long serialVersionUID = 1L;

    private final transient Elements elements;

    private RawArrayNode(Elements elements) {
        super(JsonNodeFactory.instance, elements);
        this.elements = elements;
    }

    /**
     * @param factory parses the elements when they are first read
     * @param source the bytes; not copied, so the caller must not change them afterwards
     * @param arrayStart offset of the array's {@code [}
     * @param arrayEnd offset just past its {@code ]}
     * @param spans each element's start offset and end offset (exclusive), in pairs
     * @param count the number of elements
     */
    public RawArrayNode(JsonFactory factory, byte[] source, int arrayStart, int arrayEnd, int[] spans, int count) {
        this(new Elements(factory, source, arrayStart, arrayEnd, spans, count));
    }

    /** {@code true} once the elements were parsed into nodes (from then on the bytes may be out of date). */
    public boolean isParsed() {
        return elements.parsed != null;
    }

    /** The bytes the offsets point into. */
    public byte[] source() {
        return elements.source;
    }

    /** Offset of element {@code i}'s first byte in {@link #source()}. */
    public int elementStart(int i) {
        return elements.spans[checkIndex(i) * 2];
    }

    /** Offset just past element {@code i}'s last byte in {@link #source()}. */
    public int elementEnd(int i) {
        return elements.spans[checkIndex(i) * 2 + 1];
    }

    /**
     * Element {@code i} parsed from its bytes into a new tree of its own, without parsing the array (which
     * stays unparsed).
     */
    public JsonNode parseElement(int i) {
        return elements.parseElement(checkIndex(i));
    }

    /** Offset of the array's {@code [} in {@link #source()}. */
    public int arrayStart() {
        return elements.arrayStart;
    }

    /** Offset just past the array's {@code ]} in {@link #source()}. */
    public int arrayEnd() {
        return elements.arrayEnd;
    }

    /** The number of elements as read (unchanged while the array is unparsed). */
    public int rawSize() {
        return elements.count;
    }

    private int checkIndex(int i) {
        if (i < 0 || i >= elements.count) {
            throw new IndexOutOfBoundsException("element " + i + " of " + elements.count);
        }
        return i;
    }

    @Override
    public void serialize(JsonGenerator g, SerializerProvider provider) throws IOException {
        if (isParsed()) {
            super.serialize(g, provider);
        } else {
            g.writeRawValue(new RawJson(elements.source, elements.arrayStart, elements.arrayEnd - elements.arrayStart));
        }
    }

    @Override
    public ArrayNode deepCopy() {
        if (isParsed()) {
            return super.deepCopy();
        }
        return new RawArrayNode(new Elements(elements.factory, elements.source, elements.arrayStart,
                elements.arrayEnd, elements.spans, elements.count));
    }

    /** The element list: the spans until first read, then a plain list of parsed nodes. */
    private static final class Elements extends AbstractList<JsonNode> implements RandomAccess {
        final JsonFactory factory;
        final byte[] source;
        final int arrayStart;
        final int arrayEnd;
        final int[] spans;
        final int count;
        volatile List<JsonNode> parsed;

        Elements(JsonFactory factory, byte[] source, int arrayStart, int arrayEnd, int[] spans, int count) {
            this.factory = factory;
            this.source = source;
            this.arrayStart = arrayStart;
            this.arrayEnd = arrayEnd;
            this.spans = spans;
            this.count = count;
        }

        private List<JsonNode> nodes() {
            List<JsonNode> nodes = parsed;
            if (nodes == null) {
                synchronized (this) {
                    nodes = parsed;
                    if (nodes == null) {
                        nodes = parse();
                        parsed = nodes;
                    }
                }
            }
            return nodes;
        }

        private List<JsonNode> parse() {
            List<JsonNode> nodes = new ArrayList<>(Math.max(count, 4));
            for (int i = 0; i < count; i++) {
                nodes.add(parseElement(i));
            }
            return nodes;
        }

        JsonNode parseElement(int i) {
            int start = spans[2 * i];
            try (JsonParser p = factory.createParser(source, start, spans[2 * i + 1] - start)) {
                return JsonTrees.readValue(p, p.nextToken());
            } catch (IOException e) {
                // The bytes were checked when the body was read; only a broken invariant gets here.
                throw new UncheckedIOException("array element " + i + " is not the JSON it was read as", e);
            }
        }

        @Override
        public int size() {
            List<JsonNode> nodes = parsed;
            return nodes == null ? count : nodes.size();
        }

        @Override
        public JsonNode get(int index) {
            return nodes().get(index);
        }

        @Override
        public JsonNode set(int index, JsonNode element) {
            return nodes().set(index, element);
        }

        @Override
        public void add(int index, JsonNode element) {
            nodes().add(index, element);
            modCount++;
        }

        @Override
        public JsonNode remove(int index) {
            modCount++;
            return nodes().remove(index);
        }

        @Override
        public void clear() {
            modCount++;
            nodes().clear();
        }
    }
}
