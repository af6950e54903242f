package dev.tokenwise.telemetry;

import dev.tokenwise.core.model.CacheStatus;
import dev.tokenwise.core.model.CallStatus;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.UsageRecord;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.TraceState;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;

/**
 * Encodes ended call spans into one OTLP {@code ExportTraceServiceRequest} (protobuf), straight from what admission
 * noted ({@link CallSpanStage.CallSpan}) and the call's {@link UsageRecord}: no span object, no attribute map. Its
 * attributes follow the GenAI semantic conventions, plus the gateway's own ({@code tokenwise.*}); see
 * docs/observability.md.
 *
 * <p>Implementation note: a request is one {@code ResourceSpans} holding one {@code ScopeSpans}, whose resource and
 * scope never change: they are encoded once, here. The spans are written one after the other into one growable array,
 * reused from request to request, after a headroom as long as the request's prefix can be; {@link #finish} then writes
 * that prefix (the two lengths, known only then, and the resource and scope bytes) backwards, ending where the first
 * span begins, so nothing is copied. Within a span, each nested message (a key-value, its value, a string) reserves the
 * bytes its length usually takes and is moved when it turned out longer or shorter: a span reserves two (128 bytes to
 * 16 KiB), a key-value one (up to 127 bytes). The constant parts (each attribute's key, the operation, status and
 * cache values) are encoded once. Field numbers are those of opentelemetry-proto's {@code trace/v1/trace.proto},
 * {@code common/v1/common.proto} and {@code collector/trace/v1/trace_service.proto}. One encoder is used by one thread.
 */
final class OtlpSpanEncoder {
    /** The spans' instrumentation scope. */
    static final String SCOPE = "dev.tokenwise.gateway";

    // Wire types: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32.
    private static final int REQUEST_RESOURCE_SPANS = 1 << 3 | 2;
    private static final int RESOURCE_SPANS_RESOURCE = 1 << 3 | 2;
    private static final int RESOURCE_SPANS_SCOPE_SPANS = 2 << 3 | 2;
    private static final int RESOURCE_ATTRIBUTES = 1 << 3 | 2;
    private static final int SCOPE_SPANS_SCOPE = 1 << 3 | 2;
    private static final int SCOPE_SPANS_SPANS = 2 << 3 | 2;
    private static final int SCOPE_NAME = 1 << 3 | 2;
    private static final int SPAN_TRACE_ID = 1 << 3 | 2;
    private static final int SPAN_SPAN_ID = 2 << 3 | 2;
    private static final int SPAN_TRACE_STATE = 3 << 3 | 2;
    private static final int SPAN_PARENT_SPAN_ID = 4 << 3 | 2;
    private static final int SPAN_NAME = 5 << 3 | 2;
    private static final int SPAN_KIND = 6 << 3;
    private static final int SPAN_START = 7 << 3 | 1;
    private static final int SPAN_END = 8 << 3 | 1;
    private static final int SPAN_ATTRIBUTES = 9 << 3 | 2;
    private static final int SPAN_STATUS = 15 << 3 | 2;
    private static final int SPAN_FLAGS = 16 << 3 | 5; // two bytes as a varint: 0x85 0x01
    private static final int STATUS_MESSAGE = 2 << 3 | 2;
    private static final int STATUS_CODE = 3 << 3;
    private static final int KEY_VALUE_KEY = 1 << 3 | 2;
    private static final int KEY_VALUE_VALUE = 2 << 3 | 2;
    private static final int ANY_STRING = 1 << 3 | 2;
    private static final int ANY_INT = 3 << 3;
    private static final int ANY_DOUBLE = 4 << 3 | 1;
    private static final int ANY_ARRAY = 5 << 3 | 2;
    private static final int ARRAY_VALUES = 1 << 3 | 2;
    private static final int KIND_SERVER = 2;
    private static final int STATUS_CODE_ERROR = 2;
    /** W3C trace flags: sampled; OTLP span flags: the parent's remoteness is known, and it is remote. */
    private static final int FLAG_SAMPLED = 0x01;
    private static final int FLAG_HAS_IS_REMOTE = 0x100;
    private static final int FLAG_IS_REMOTE = 0x200;
    private static final String NOT_FORWARDED = "not_forwarded";
    /** More than a span's bytes other than its strings (ids, times, keys, numbers, tags, lengths: about 700). */
    private static final int SPAN_FIXED_BYTES = 2048;

    private static final byte[] REQUEST_MODEL = key("gen_ai.request.model");
    private static final byte[] RESPONSE_MODEL = key("gen_ai.response.model");
    private static final byte[] PROVIDER = key("gen_ai.provider.name");
    private static final byte[] INPUT_TOKENS = key("gen_ai.usage.input_tokens");
    private static final byte[] OUTPUT_TOKENS = key("gen_ai.usage.output_tokens");
    private static final byte[] MAX_TOKENS = key("gen_ai.request.max_tokens");
    private static final byte[] FINISH_REASONS = key("gen_ai.response.finish_reasons");
    private static final byte[] HTTP_STATUS = key("http.response.status_code");
    private static final byte[] TEAM = key("tokenwise.team");
    private static final byte[] KEY_ID = key("tokenwise.key_id");
    private static final byte[] REQUEST_ID = key("tokenwise.request_id");
    private static final byte[] PROVIDER_CONFIG_NAME = key("tokenwise.provider");
    private static final byte[] COST_USD = key("tokenwise.cost_usd");
    private static final byte[] TASK_ID = key("tokenwise.task_id");
    private static final byte[] ATTEMPTS = key("tokenwise.attempts");
    /** By {@link Endpoint} ordinal: the {@code gen_ai.operation.name} attribute, whole. */
    private static final byte[][] OPERATION_ATTRIBUTE = new byte[Endpoint.values().length][];
    /** By {@link Endpoint} ordinal: the operation and a space, the start of the span's name. */
    private static final byte[][] NAME_PREFIX = new byte[Endpoint.values().length][];
    /** By {@link CallStatus} ordinal: the {@code tokenwise.status} attribute, whole. */
    private static final byte[][] STATUS_ATTRIBUTE = new byte[CallStatus.values().length][];
    /** By {@link CallStatus} ordinal: the {@code error.type} attribute, whole, and the span status of that error. */
    private static final byte[][] ERROR_ATTRIBUTE_AND_STATUS = new byte[CallStatus.values().length][];
    /** By {@link CacheStatus} ordinal: the {@code tokenwise.cache} attribute, whole. */
    private static final byte[][] CACHE_ATTRIBUTE = new byte[CacheStatus.values().length][];
    private static final byte[] NOT_FORWARDED_ATTRIBUTE_AND_STATUS;
    /** An empty status (code unset), as the SDK's exporter wrote one. */
    private static final byte[] UNSET_STATUS = {(byte) SPAN_STATUS, 0};

    static {
        for (Endpoint e : Endpoint.values()) {
            String operation = CallSpanStage.operation(e);
            OPERATION_ATTRIBUTE[e.ordinal()] = stringAttribute("gen_ai.operation.name", operation);
            NAME_PREFIX[e.ordinal()] = (operation + " ").getBytes(StandardCharsets.UTF_8);
        }
        for (CallStatus s : CallStatus.values()) {
            STATUS_ATTRIBUTE[s.ordinal()] = stringAttribute("tokenwise.status", s.label());
            ERROR_ATTRIBUTE_AND_STATUS[s.ordinal()] = errorAttributeAndStatus(s.label(), s.label());
        }
        for (CacheStatus c : CacheStatus.values()) {
            CACHE_ATTRIBUTE[c.ordinal()] = stringAttribute("tokenwise.cache", c.label());
        }
        NOT_FORWARDED_ATTRIBUTE_AND_STATUS = errorAttributeAndStatus(NOT_FORWARDED, "not forwarded");
    }

    /** The {@code Resource} and the {@code InstrumentationScope} fields, as they precede the spans. */
    private final byte[] resourceField;
    private final byte[] scopeField;
    private final int headroom;
    private final Map<String, String> providerSystems;
    private byte[] buf;
    private int pos;
    private int spans;

    /**
     * @param resource the resource's attributes (e.g. {@code service.name}), strings, in order
     * @param providerSystems the {@code gen_ai.provider.name} of each provider by its config name (a provider missing
     *     from it is exported under its config name)
     */
    OtlpSpanEncoder(Map<String, String> resource, Map<String, String> providerSystems) {
        this.providerSystems = Map.copyOf(providerSystems);
        this.buf = new byte[64 * 1024];
        Fields r = new Fields();
        resource.forEach((k, v) -> r.message(RESOURCE_ATTRIBUTES, keyValue(k, v)));
        this.resourceField = new Fields().message(RESOURCE_SPANS_RESOURCE, r.bytes()).bytes();
        Fields s = new Fields().string(SCOPE_NAME, SCOPE);
        this.scopeField = new Fields().message(SCOPE_SPANS_SCOPE, s.bytes()).bytes();
        // Request tag, ResourceSpans length, resource, ScopeSpans tag and length, scope; a length takes up to 5 bytes.
        this.headroom = 1 + 5 + resourceField.length + 1 + 5 + scopeField.length;
        begin();
    }

    /** Starts a new request, forgetting the spans of the last one. */
    void begin() {
        pos = headroom;
        spans = 0;
    }

    /** The spans added since {@link #begin}. */
    int spans() {
        return spans;
    }

    /**
     * Adds the span of an ended call. Atomic: when it throws (a record the encoder cannot read), the request is as it
     * was before.
     */
    void add(CallSpanStage.CallSpan span) {
        int start = pos;
        boolean added = false;
        try {
            encode(span);
            added = true;
            spans++;
        } finally {
            if (!added) {
                pos = start;
            }
        }
    }

    /** The request holding the spans added since {@link #begin}: valid until the next {@link #begin}. */
    Request finish() {
        int spansLength = pos - headroom;
        int scopeSpansLength = scopeField.length + spansLength;
        int resourceSpansLength = resourceField.length + 1 + varintSize(scopeSpansLength) + scopeSpansLength;
        int at = headroom;
        at -= scopeField.length;
        System.arraycopy(scopeField, 0, buf, at, scopeField.length);
        at -= varintSize(scopeSpansLength);
        writeVarint(at, scopeSpansLength);
        buf[--at] = (byte) RESOURCE_SPANS_SCOPE_SPANS;
        at -= resourceField.length;
        System.arraycopy(resourceField, 0, buf, at, resourceField.length);
        at -= varintSize(resourceSpansLength);
        writeVarint(at, resourceSpansLength);
        buf[--at] = (byte) REQUEST_RESOURCE_SPANS;
        return new Request(buf, at, pos - at);
    }

    /** An encoded {@code ExportTraceServiceRequest}: {@code length} bytes of {@code array} from {@code offset}. */
    record Request(byte[] array, int offset, int length) {
        /** A copy of the bytes (for tests). */
        byte[] toByteArray() {
            return Arrays.copyOfRange(array, offset, offset + length);
        }
    }

    private void encode(CallSpanStage.CallSpan span) {
        var call = span.call;
        UsageRecord record = span.record;
        room(SPAN_FIXED_BYTES);
        buf[pos++] = (byte) SCOPE_SPANS_SPANS;
        int spanLength = reserve(2);
        buf[pos++] = (byte) SPAN_TRACE_ID;
        buf[pos++] = 16;
        writeLongBigEndian(span.traceIdHigh);
        writeLongBigEndian(span.traceIdLow);
        buf[pos++] = (byte) SPAN_SPAN_ID;
        buf[pos++] = 8;
        writeLongBigEndian(span.spanId);
        SpanContext parent = span.parent;
        if (parent != null) {
            TraceState traceState = parent.getTraceState();
            if (!traceState.isEmpty()) {
                string(SPAN_TRACE_STATE, traceState(traceState));
            }
            buf[pos++] = (byte) SPAN_PARENT_SPAN_ID;
            buf[pos++] = 8;
            writeLongBigEndian(Long.parseUnsignedLong(parent.getSpanId(), 16));
        }
        // The name: "{operation} {model}".
        buf[pos++] = (byte) SPAN_NAME;
        int nameLength = reserve(1);
        byte[] prefix = NAME_PREFIX[call.endpoint().ordinal()];
        write(prefix);
        writeUtf8(String.valueOf(call.model()));
        close(nameLength, 1);
        buf[pos++] = (byte) SPAN_KIND;
        buf[pos++] = KIND_SERVER;
        buf[pos++] = (byte) SPAN_START;
        writeLongLittleEndian(span.startEpochNanos);
        buf[pos++] = (byte) SPAN_END;
        writeLongLittleEndian(span.endEpochNanos);

        write(OPERATION_ATTRIBUTE[call.endpoint().ordinal()]);
        stringAttribute(REQUEST_MODEL, call.model());
        stringAttribute(TEAM, call.team());
        stringAttribute(KEY_ID, call.keyId());
        stringAttribute(REQUEST_ID, call.requestId());
        if (call.maxOutputTokens() > 0) {
            intAttribute(MAX_TOKENS, call.maxOutputTokens());
        }
        byte[] status;
        if (record == null) {
            status = NOT_FORWARDED_ATTRIBUTE_AND_STATUS;
        } else {
            status = UNSET_STATUS;
            stringAttribute(RESPONSE_MODEL, record.model());
            if (record.provider() != null) {
                stringAttribute(PROVIDER, providerSystems.getOrDefault(record.provider(), record.provider()));
                stringAttribute(PROVIDER_CONFIG_NAME, record.provider());
            }
            if (record.usage() != null) {
                intAttribute(INPUT_TOKENS, record.usage().inputTokens());
                intAttribute(OUTPUT_TOKENS, record.usage().outputTokens());
            }
            if (record.finishReason() != null) {
                stringArrayAttribute(FINISH_REASONS, record.finishReason());
            }
            intAttribute(HTTP_STATUS, record.httpStatus());
            doubleAttribute(COST_USD, record.costNanos() / 1e9);
            stringAttribute(TASK_ID, record.taskId());
            if (record.cache() != null) {
                write(CACHE_ATTRIBUTE[record.cache().ordinal()]);
            }
            intAttribute(ATTEMPTS, record.attempts());
            if (record.status() != null) {
                write(STATUS_ATTRIBUTE[record.status().ordinal()]);
                if (record.status() != CallStatus.OK) {
                    status = ERROR_ATTRIBUTE_AND_STATUS[record.status().ordinal()];
                }
            }
        }
        write(status); // error.type and the ERROR status, or the empty status
        buf[pos++] = (byte) (SPAN_FLAGS & 0x7F | 0x80);
        buf[pos++] = (byte) (SPAN_FLAGS >>> 7);
        writeIntLittleEndian(FLAG_SAMPLED | FLAG_HAS_IS_REMOTE | (parent != null ? FLAG_IS_REMOTE : 0));
        close(spanLength, 2);
    }

    /** A {@code tracestate} header's form of {@code state}: {@code key=value} members, comma separated. */
    private static String traceState(TraceState state) {
        StringBuilder sb = new StringBuilder(64);
        state.forEach((k, v) -> {
            if (sb.length() > 0) {
                sb.append(',');
            }
            sb.append(k).append('=').append(v);
        });
        return sb.toString();
    }

    private void stringAttribute(byte[] key, String value) {
        if (value == null) {
            return;
        }
        buf[pos++] = (byte) SPAN_ATTRIBUTES;
        int keyValueLength = reserve(1);
        write(key);
        int anyLength = reserve(1);
        string(ANY_STRING, value);
        close(anyLength, 1);
        close(keyValueLength, 1);
    }

    private void stringArrayAttribute(byte[] key, String value) {
        buf[pos++] = (byte) SPAN_ATTRIBUTES;
        int keyValueLength = reserve(1);
        write(key);
        int anyLength = reserve(1);
        buf[pos++] = (byte) ANY_ARRAY;
        int arrayLength = reserve(1);
        buf[pos++] = (byte) ARRAY_VALUES;
        int elementLength = reserve(1);
        string(ANY_STRING, value);
        close(elementLength, 1);
        close(arrayLength, 1);
        close(anyLength, 1);
        close(keyValueLength, 1);
    }

    private void intAttribute(byte[] key, long value) {
        buf[pos++] = (byte) SPAN_ATTRIBUTES;
        int keyValueLength = reserve(1);
        write(key);
        int anyLength = reserve(1);
        buf[pos++] = (byte) ANY_INT;
        pos = writeVarint64(pos, value);
        close(anyLength, 1);
        close(keyValueLength, 1);
    }

    private void doubleAttribute(byte[] key, double value) {
        buf[pos++] = (byte) SPAN_ATTRIBUTES;
        int keyValueLength = reserve(1);
        write(key);
        buf[pos++] = 9; // the AnyValue: a tag and 8 bytes
        buf[pos++] = (byte) ANY_DOUBLE;
        writeLongLittleEndian(Double.doubleToRawLongBits(value));
        close(keyValueLength, 1);
    }

    /** A string field: its tag, its length, its UTF-8. */
    private void string(int tag, String value) {
        buf[pos++] = (byte) tag;
        int length = reserve(1);
        writeUtf8(value);
        close(length, 1);
    }

    /** Skips {@code n} bytes for a length written by {@link #close}; returns where they are. */
    private int reserve(int n) {
        int at = pos;
        pos += n;
        return at;
    }

    /**
     * Writes the length of the message that began after the {@code reserved} bytes at {@code at} and ends here,
     * moving the message when its length takes more or fewer bytes than were reserved.
     */
    private void close(int at, int reserved) {
        int start = at + reserved;
        int length = pos - start;
        int size = varintSize(length);
        if (size != reserved) {
            room(size - reserved);
            System.arraycopy(buf, start, buf, at + size, length);
            pos += size - reserved;
        }
        writeVarint(at, length);
    }

    /** Makes room for {@code n} more bytes (and {@link #SPAN_FIXED_BYTES} beyond, so constant parts need no check). */
    private void room(int n) {
        int needed = pos + n + SPAN_FIXED_BYTES;
        if (needed > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(needed, buf.length * 2));
        }
    }

    private void write(byte[] bytes) {
        System.arraycopy(bytes, 0, buf, pos, bytes.length);
        pos += bytes.length;
    }

    /** The UTF-8 of {@code s}, an unpaired surrogate written as {@code ?} (as {@link String#getBytes} does). */
    private void writeUtf8(String s) {
        int n = s.length();
        room(3 * n);
        byte[] b = buf;
        int p = pos;
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                b[p++] = (byte) c;
            } else if (c < 0x800) {
                b[p++] = (byte) (0xC0 | c >> 6);
                b[p++] = (byte) (0x80 | c & 0x3F);
            } else if (Character.isSurrogate(c)) {
                int cp = Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))
                        ? Character.toCodePoint(c, s.charAt(++i)) : -1;
                if (cp < 0) {
                    b[p++] = '?';
                } else {
                    b[p++] = (byte) (0xF0 | cp >> 18);
                    b[p++] = (byte) (0x80 | cp >> 12 & 0x3F);
                    b[p++] = (byte) (0x80 | cp >> 6 & 0x3F);
                    b[p++] = (byte) (0x80 | cp & 0x3F);
                }
            } else {
                b[p++] = (byte) (0xE0 | c >> 12);
                b[p++] = (byte) (0x80 | c >> 6 & 0x3F);
                b[p++] = (byte) (0x80 | c & 0x3F);
            }
        }
        pos = p;
    }

    private void writeLongBigEndian(long v) {
        for (int shift = 56; shift >= 0; shift -= 8) {
            buf[pos++] = (byte) (v >>> shift);
        }
    }

    private void writeLongLittleEndian(long v) {
        for (int shift = 0; shift < 64; shift += 8) {
            buf[pos++] = (byte) (v >>> shift);
        }
    }

    private void writeIntLittleEndian(int v) {
        for (int shift = 0; shift < 32; shift += 8) {
            buf[pos++] = (byte) (v >>> shift);
        }
    }

    /** Writes {@code value} (a length, so not negative) as a varint at {@code at}. */
    private void writeVarint(int at, int value) {
        while ((value & ~0x7F) != 0) {
            buf[at++] = (byte) (value & 0x7F | 0x80);
            value >>>= 7;
        }
        buf[at] = (byte) value;
    }

    /** Writes {@code value} as a varint (ten bytes when negative, as int64 is) at {@code at}; returns where it ends. */
    private int writeVarint64(int at, long value) {
        while ((value & ~0x7FL) != 0) {
            buf[at++] = (byte) (value & 0x7F | 0x80);
            value >>>= 7;
        }
        buf[at++] = (byte) value;
        return at;
    }

    private static int varintSize(int value) {
        return value < 1 << 7 ? 1 : value < 1 << 14 ? 2 : value < 1 << 21 ? 3 : value < 1 << 28 ? 4 : 5;
    }

    /** The start of a key-value: its key field and the tag of its value, for a key-value written with its length. */
    private static byte[] key(String key) {
        byte[] k = key.getBytes(StandardCharsets.UTF_8);
        return new Fields().bytes(KEY_VALUE_KEY, k).tag(KEY_VALUE_VALUE).bytes();
    }

    /** A whole string attribute of a span. */
    private static byte[] stringAttribute(String key, String value) {
        return new Fields().message(SPAN_ATTRIBUTES, keyValue(key, value)).bytes();
    }

    private static byte[] keyValue(String key, String value) {
        return new Fields().string(KEY_VALUE_KEY, key)
                .message(KEY_VALUE_VALUE, new Fields().string(ANY_STRING, value).bytes()).bytes();
    }

    /** The {@code error.type} attribute and the span's {@code ERROR} status with {@code message}. */
    private static byte[] errorAttributeAndStatus(String errorType, String message) {
        byte[] status = new Fields().string(STATUS_MESSAGE, message).tag(STATUS_CODE).tag(STATUS_CODE_ERROR).bytes();
        return new Fields().message(SPAN_ATTRIBUTES, keyValue("error.type", errorType))
                .message(SPAN_STATUS, status).bytes();
    }

    /** Encodes the constant parts, once: plain, with lengths computed first. */
    private static final class Fields {
        private final java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();

        Fields tag(int tag) {
            return varint(tag);
        }

        Fields varint(int value) {
            while ((value & ~0x7F) != 0) {
                out.write(value & 0x7F | 0x80);
                value >>>= 7;
            }
            out.write(value);
            return this;
        }

        Fields bytes(int tag, byte[] value) {
            tag(tag).varint(value.length);
            out.writeBytes(value);
            return this;
        }

        Fields string(int tag, String value) {
            return bytes(tag, value.getBytes(StandardCharsets.UTF_8));
        }

        Fields message(int tag, byte[] message) {
            return bytes(tag, message);
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }
}
