package dev.tokenwise.core.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpHeadersFactory;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.AsciiString;
import io.netty.util.concurrent.FastThreadLocal;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Arrays;

/**
 * Reads the head of a plain HTTP/1.1 message (start line, then header fields, then an empty line) for the
 * decoders' fast path: {@link ClientHttpCodec} for requests and {@link UpstreamResponseDecoder} for responses.
 *
 * <p>Plain means: every line ends in CRLF, every field name is a token, every value is visible ASCII, space or
 * tab, no line folding, at most one {@code Content-Length} of decimal digits, and no {@code Transfer-Encoding},
 * {@code Expect} or {@code Upgrade}. A head that is anything else, or longer than the limits, is
 * {@link #DECLINE declined}, and the caller hands it to Netty's decoder, which parses (and answers) every case.
 * So this class only has to be right about what it accepts, and it accepts what nearly every call sends.
 *
 * <p>Implementation note: the head is copied into a scratch array (its first {@value #FIRST_COPY} bytes,
 * then the rest up to the limits if it is longer) and scanned there, without the bounds checks of one
 * {@code getByte} per byte. One instance, and so one scratch array, per thread, shared by every decoder on
 * that event loop.
 */
final class PlainHead {
    /** The head is not complete yet: wait for more bytes. */
    static final int NEED_MORE = -1;
    /** Not a plain head: Netty's decoder takes it. */
    static final int DECLINE = -2;

    /** Validated here, so the headers do not validate again. */
    private static final HttpHeadersFactory HEADERS = DefaultHttpHeadersFactory.headersFactory().withValidation(false);
    private static final boolean[] TOKEN = new boolean[256];
    private static final boolean[] VALUE = new boolean[256];
    private static final byte[] CONTENT_LENGTH = bytes("content-length");
    private static final byte[] TRANSFER_ENCODING = bytes("transfer-encoding");
    private static final byte[] EXPECT = bytes("expect");
    private static final byte[] UPGRADE = bytes("upgrade");
    /** Bytes copied before the rest of a long head is: most heads are a few hundred bytes. */
    private static final int FIRST_COPY = 2048;

    static {
        for (int c = '0'; c <= '9'; c++) {
            TOKEN[c] = true;
        }
        for (int c = 'a'; c <= 'z'; c++) {
            TOKEN[c] = true;
            TOKEN[c - 32] = true;
        }
        for (char c : "!#$%&'*+-.^_`|~".toCharArray()) {
            TOKEN[c] = true;
        }
        for (int c = 0x20; c < 0x7f; c++) {
            VALUE[c] = true;
        }
        VALUE['\t'] = true;
    }

    private static final FastThreadLocal<PlainHead> CURRENT = new FastThreadLocal<>() {
        @Override
        protected PlainHead initialValue() {
            return new PlainHead();
        }
    };

    private byte[] bytes = new byte[FIRST_COPY];
    /** Bytes of {@link #bytes} that hold the message. */
    private int length;
    /** Whether {@link #bytes} holds everything that was readable. */
    private boolean all;

    /** What {@link #fields} found. */
    HttpHeaders headers;
    /** The {@code Content-Length}, or -1 when there is none. */
    long contentLength;

    private PlainHead() {
    }

    /**
     * The calling thread's instance. Its contents are only good until the thread reads another head, so a
     * decoder uses it within one {@code decode} call.
     */
    static PlainHead current() {
        return CURRENT.get();
    }

    /** The scratch copy; valid up to {@link #length()} after {@link #load}. */
    byte[] bytes() {
        return bytes;
    }

    int length() {
        return length;
    }

    /**
     * Copies the readable bytes of {@code in} (without consuming them): the first {@value #FIRST_COPY} of
     * them, or when {@code more} up to {@code max}; returns whether there was anything new to copy.
     */
    private boolean load(ByteBuf in, boolean more, int max) {
        int readable = in.readableBytes();
        int want = Math.min(readable, more ? max : Math.min(max, FIRST_COPY));
        if (!more) {
            length = 0;
        }
        if (more && want <= length) {
            return false;
        }
        if (want > bytes.length) {
            bytes = new byte[Math.max(want, bytes.length * 2)];
        }
        in.getBytes(in.readerIndex(), bytes, 0, want);
        length = want;
        all = want == readable;
        return true;
    }

    /** Reads a head from the scratch copy: its start line, then {@link #fields}. */
    interface Reader {
        /** The length of the head in {@code head}, {@link #NEED_MORE} or {@link #DECLINE}. */
        int read(PlainHead head);
    }

    /**
     * Reads the head at the reader index of {@code in} (consuming nothing) with {@code reader}: its length,
     * {@link #NEED_MORE} or {@link #DECLINE}. At most {@code max} bytes are looked at.
     */
    int read(ByteBuf in, int max, Reader reader) {
        load(in, false, max);
        int end = reader.read(this);
        if (end == NEED_MORE && !all && load(in, true, max)) {
            end = reader.read(this); // a head longer than the first copy
        }
        return end;
    }

    /**
     * The end of the start line (the index of its CR), {@link #NEED_MORE} or {@link #DECLINE}.
     *
     * @param maxStartLine the longest start line accepted, CRLF included (the decoder's own limit must be at
     *     least this, so that the fast path never lets through a line Netty's decoder would refuse)
     */
    int startLineEnd(int maxStartLine) {
        int limit = Math.min(length, maxStartLine);
        for (int i = 0; i < limit; i++) {
            byte b = bytes[i];
            if (b == '\r') {
                if (i + 1 >= length) {
                    return NEED_MORE;
                }
                return bytes[i + 1] == '\n' ? i : DECLINE;
            }
            if (!VALUE[b & 0xff]) {
                return DECLINE;
            }
        }
        return length >= maxStartLine ? DECLINE : NEED_MORE;
    }

    /**
     * Reads the header lines from {@code from} (just after the start line's CRLF) into {@link #headers} and
     * {@link #contentLength}; returns the index just after the empty line, {@link #NEED_MORE} or
     * {@link #DECLINE}.
     *
     * @param maxFields the longest run of header lines accepted, CRLFs included (as for the start line, at
     *     most the decoder's own limit)
     */
    int fields(int from, int maxFields) {
        HttpHeaders into = HEADERS.newHeaders();
        long declaredLength = -1;
        int limit = (int) Math.min(length, (long) from + maxFields);
        int i = from;
        while (true) {
            if (i + 1 >= limit) {
                return limit < length ? DECLINE : NEED_MORE;
            }
            if (bytes[i] == '\r') {
                if (bytes[i + 1] != '\n') {
                    return DECLINE;
                }
                headers = into;
                contentLength = declaredLength;
                return i + 2;
            }
            int nameStart = i;
            while (i < limit && TOKEN[bytes[i] & 0xff]) {
                i++;
            }
            if (i >= limit) {
                return limit < length ? DECLINE : NEED_MORE;
            }
            if (bytes[i] != ':' || i == nameStart) {
                return DECLINE; // folding, a space before the colon, a bad name
            }
            int nameEnd = i++;
            while (i < limit && (bytes[i] == ' ' || bytes[i] == '\t')) {
                i++;
            }
            int valueStart = i;
            while (i < limit && bytes[i] != '\r') {
                if (!VALUE[bytes[i] & 0xff]) {
                    return DECLINE;
                }
                i++;
            }
            if (i + 1 >= limit) {
                return limit < length ? DECLINE : NEED_MORE;
            }
            if (bytes[i + 1] != '\n') {
                return DECLINE;
            }
            int valueEnd = i;
            while (valueEnd > valueStart && (bytes[valueEnd - 1] == ' ' || bytes[valueEnd - 1] == '\t')) {
                valueEnd--;
            }
            i += 2;
            int nameLength = nameEnd - nameStart;
            if (is(nameStart, nameLength, CONTENT_LENGTH)) {
                if (declaredLength >= 0) {
                    return DECLINE; // a repeated Content-Length: Netty decides whether the values agree
                }
                declaredLength = digits(valueStart, valueEnd);
                if (declaredLength < 0) {
                    return DECLINE;
                }
            } else if (is(nameStart, nameLength, TRANSFER_ENCODING) || is(nameStart, nameLength, EXPECT)
                    || is(nameStart, nameLength, UPGRADE)) {
                return DECLINE;
            }
            into.add(new AsciiString(bytes, nameStart, nameLength, true),
                    new String(bytes, valueStart, valueEnd - valueStart, StandardCharsets.ISO_8859_1));
        }
    }

    /** The text of {@code bytes[from, to)}. */
    String text(int from, int to) {
        return new String(bytes, from, to - from, StandardCharsets.ISO_8859_1);
    }

    /** Whether {@code bytes[from, to)} are the characters of {@code text}. */
    boolean same(int from, int to, String text) {
        if (to - from != text.length()) {
            return false;
        }
        for (int k = from; k < to; k++) {
            if ((bytes[k] & 0xff) != text.charAt(k - from)) {
                return false;
            }
        }
        return true;
    }

    /** Whether {@code bytes[from, from + length)} is {@code exact}. */
    boolean same(int from, int length, byte[] exact) {
        return length == exact.length && Arrays.equals(bytes, from, from + length, exact, 0, length);
    }

    /** Whether {@code bytes[from, from + length)} equals {@code lower}, ignoring ASCII case (tokens only). */
    boolean is(int from, int length, byte[] lower) {
        if (length != lower.length) {
            return false;
        }
        for (int k = 0; k < length; k++) {
            if ((bytes[from + k] | 0x20) != lower[k]) {
                return false;
            }
        }
        return true;
    }

    /** The decimal number in {@code bytes[from, to)}, or -1 when it is empty, not all digits or above 10^15. */
    long digits(int from, int to) {
        if (from == to || to - from > 15) {
            return -1;
        }
        long value = 0;
        for (int k = from; k < to; k++) {
            int d = bytes[k] - '0';
            if (d < 0 || d > 9) {
                return -1;
            }
            value = value * 10 + d;
        }
        return value;
    }

    /**
     * Whether Netty's decoder, having added {@code out[from, size)}, finished a message well: its last output is a
     * successful {@code LastHttpContent}, after which that decoder is back at its start and the fast path may
     * take the next message.
     */
    static boolean endedWell(List<Object> out, int from) {
        return out.size() > from && out.get(out.size() - 1) instanceof LastHttpContent last
                && last.decoderResult().isSuccess();
    }

    /** The most bytes of a head to look at: a start line and the fields, without overflowing. */
    static int headLimit(int maxStartLine, int maxFields) {
        return (int) Math.min(Integer.MAX_VALUE - 8, (long) maxStartLine + maxFields);
    }

    static byte[] bytes(String ascii) {
        return ascii.getBytes(StandardCharsets.US_ASCII);
    }
}
