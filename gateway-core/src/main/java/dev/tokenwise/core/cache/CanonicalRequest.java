package dev.tokenwise.core.cache;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import java.io.IOException;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Set;

/**
 * A request body normalised for the response cache: what it asks, whatever the order of its keys or the spelling
 * of its numbers, and without the fields that do not change the answer. Two bodies that ask the same thing have the
 * same {@link #bytes}.
 *
 * <ul>
 *   <li>Object keys are sorted (by their UTF-16 code units), at every depth; strings are re-escaped the one way
 *       Jackson writes them; numbers are written in one form ({@code 0}, {@code 0.0} and {@code 0e0} are all
 *       {@code 0}; {@code 1.50} is {@code 1.5}); no whitespace.</li>
 *   <li>Left out, at the top level: {@value #LEFT_OUT_NOTE}.</li>
 * </ul>
 *
 * <p>Read in one pass of Jackson's streaming parser over the client's bytes (no tree); the facts the cache decides
 * on ({@link #deterministic}, {@link #includeUsage}, {@link #streamReplayable}) are noted on the way.
 */
final class CanonicalRequest {
    /** Fields that change how an answer is delivered, billed or stored, never what it says. */
    static final Set<String> LEFT_OUT = Set.of("stream", "stream_options", "user", "metadata", "store",
            "prompt_cache_key", "safety_identifier", "service_tier");
    static final String LEFT_OUT_NOTE = "stream, stream_options, user, metadata, store, prompt_cache_key, "
            + "safety_identifier, service_tier";
    private static final JsonStringEncoder STRINGS = JsonStringEncoder.getInstance();
    /** Beyond this many digits before or after the point a number keeps its exponent form (no huge expansions). */
    private static final int MAX_PLAIN_DIGITS = 40;

    /** The normalised body. */
    final byte[] bytes;
    /** {@code temperature} is 0 or a {@code seed} is set: the client asked for the same answer every time. */
    final boolean deterministic;
    /** {@code stream_options.include_usage} is {@code true}: a streamed replay ends with the usage chunk. */
    final boolean includeUsage;
    /**
     * A streamed answer to this request can be kept from the text its events carried: one choice, no tools or
     * functions, no log probabilities, no audio (whose parts the text would not hold).
     */
    final boolean streamReplayable;

    private CanonicalRequest(byte[] bytes, boolean deterministic, boolean includeUsage, boolean streamReplayable) {
        this.bytes = bytes;
        this.deterministic = deterministic;
        this.includeUsage = includeUsage;
        this.streamReplayable = streamReplayable;
    }

    /**
     * Reads {@code body} (a JSON object, left unchanged).
     *
     * @throws IOException when it is not one
     */
    static CanonicalRequest read(JsonFactory factory, ByteBuf body) throws IOException {
        try (JsonParser p = body.hasArray()
                ? factory.createParser(body.array(), body.arrayOffset() + body.readerIndex(), body.readableBytes())
                : factory.createParser((java.io.InputStream) new ByteBufInputStream(body.duplicate()))) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new IOException("the body is not a JSON object");
            }
            Writer out = new Writer(Math.max(64, body.readableBytes()));
            List<Member> members = new ArrayList<>();
            boolean deterministic = false;
            boolean includeUsage = false;
            boolean replayable = true;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken value = p.nextToken();
                if (LEFT_OUT.contains(name)) {
                    if (name.equals("stream_options")) {
                        includeUsage = includeUsage(p);
                    } else {
                        p.skipChildren();
                    }
                    continue;
                }
                switch (name) {
                    case "temperature" -> deterministic |= value.isNumeric() && p.getDecimalValue().signum() == 0;
                    case "seed" -> deterministic |= value != JsonToken.VALUE_NULL;
                    case "n" -> replayable &= !value.isNumeric() || p.getDecimalValue().compareTo(BigDecimal.ONE) <= 0;
                    case "tools", "functions", "audio" -> replayable &= value == JsonToken.VALUE_NULL;
                    case "logprobs" -> replayable &= value != JsonToken.VALUE_TRUE;
                    case "modalities" -> replayable = false;
                    default -> {
                    }
                }
                int start = out.length;
                out.value(p);
                members.add(new Member(name, start, out.length));
            }
            return new CanonicalRequest(out.object(members, 0), deterministic, includeUsage, replayable);
        }
    }

    /** Reads {@code stream_options} (the parser on its first token): {@code true} when it asks for the usage chunk. */
    private static boolean includeUsage(JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            p.skipChildren();
            return false;
        }
        boolean include = false;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken value = p.nextToken();
            if (name.equals("include_usage")) {
                include = value == JsonToken.VALUE_TRUE;
            }
            p.skipChildren();
        }
        return include;
    }

    /** One member of an object being normalised: its name and where its normalised value was written. */
    private record Member(String name, int start, int end) {
    }

    private static final Comparator<Member> BY_NAME = Comparator.comparing(Member::name);

    /** Writes normalised JSON into one growing array; an object's members are written, then put in order. */
    private static final class Writer {
        byte[] buf;
        int length;

        Writer(int capacity) {
            buf = new byte[capacity];
        }

        private void ensure(int more) {
            if (length + more > buf.length) {
                buf = Arrays.copyOf(buf, Math.max(buf.length * 2, length + more));
            }
        }

        void raw(String ascii) {
            ensure(ascii.length());
            for (int i = 0; i < ascii.length(); i++) {
                buf[length++] = (byte) ascii.charAt(i);
            }
        }

        private void bytes(byte[] b, int from, int to) {
            ensure(to - from);
            System.arraycopy(b, from, buf, length, to - from);
            length += to - from;
        }

        private void string(String s) {
            byte[] quoted = STRINGS.quoteAsUTF8(s);
            ensure(quoted.length + 2);
            buf[length++] = '"';
            System.arraycopy(quoted, 0, buf, length, quoted.length);
            length += quoted.length;
            buf[length++] = '"';
        }

        /** Writes the value the parser is on, normalised, and leaves the parser on its last token. */
        void value(JsonParser p) throws IOException {
            switch (p.currentToken()) {
                case START_OBJECT -> {
                    int start = length;
                    List<Member> members = new ArrayList<>();
                    while (p.nextToken() == JsonToken.FIELD_NAME) {
                        String name = p.currentName();
                        p.nextToken();
                        int at = length;
                        value(p);
                        members.add(new Member(name, at, length));
                    }
                    byte[] object = object(members, start);
                    length = start;
                    bytes(object, 0, object.length);
                }
                case START_ARRAY -> {
                    raw("[");
                    boolean first = true;
                    while (p.nextToken() != JsonToken.END_ARRAY) {
                        if (!first) {
                            raw(",");
                        }
                        first = false;
                        value(p);
                    }
                    raw("]");
                }
                case VALUE_STRING -> string(p.getText());
                case VALUE_NUMBER_INT -> raw(p.getNumberType() == JsonParser.NumberType.INT
                        ? Integer.toString(p.getIntValue()) : number(p.getDecimalValue()));
                case VALUE_NUMBER_FLOAT -> raw(number(p.getDecimalValue()));
                case VALUE_TRUE -> raw("true");
                case VALUE_FALSE -> raw("false");
                case VALUE_NULL -> raw("null");
                default -> throw new IOException("unexpected " + p.currentToken());
            }
        }

        /**
         * The object whose members' values were written from {@code start} on, with its members sorted by name; the
         * writer is left at {@code start}'s length plus nothing (the caller puts the object where it belongs).
         */
        byte[] object(List<Member> members, int start) {
            byte[] values = Arrays.copyOfRange(buf, start, length);
            members.sort(BY_NAME);
            length = start;
            int mark = length;
            raw("{");
            for (int i = 0; i < members.size(); i++) {
                Member m = members.get(i);
                if (i > 0) {
                    raw(",");
                }
                string(m.name());
                raw(":");
                bytes(values, m.start() - start, m.end() - start);
            }
            raw("}");
            byte[] object = Arrays.copyOfRange(buf, mark, length);
            length = mark;
            return object;
        }
    }

    /** One spelling per number: no trailing zeros, no exponent while the digits stay few. */
    static String number(BigDecimal value) {
        BigDecimal d = value.signum() == 0 ? BigDecimal.ZERO : value.stripTrailingZeros();
        if (d.scale() <= 0 && d.precision() - d.scale() <= MAX_PLAIN_DIGITS) {
            return d.toBigIntegerExact().toString();
        }
        if (d.scale() > 0 && d.scale() <= MAX_PLAIN_DIGITS) {
            return d.toPlainString();
        }
        return d.toString();
    }
}
