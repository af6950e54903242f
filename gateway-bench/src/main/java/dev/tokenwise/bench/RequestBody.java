package dev.tokenwise.bench;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;

/**
 * The body a {@link LoadGenerator} sends: fixed bytes, or a fixed prefix, a per-request marker
 * ({@code <connection>-<sequence>}) and a fixed tail, so that no two bodies are equal (a cache in
 * the system under test cannot answer them all) while building one costs a few bytes.
 */
public final class RequestBody {
    private final byte[] prefix;
    private final byte[] tail;
    private final boolean varying;

    private RequestBody(byte[] prefix, byte[] tail, boolean varying) {
        this.prefix = prefix;
        this.tail = tail;
        this.varying = varying;
    }

    /** The same bytes on every request (may be empty). */
    public static RequestBody fixed(byte[] body) {
        return new RequestBody(Objects.requireNonNull(body, "body").clone(), new byte[0], false);
    }

    /** {@code prefix + "<connection>-<sequence>" + tail}. */
    public static RequestBody varying(byte[] prefix, byte[] tail) {
        return new RequestBody(Objects.requireNonNull(prefix, "prefix").clone(), Objects.requireNonNull(tail, "tail").clone(), true);
    }

    public boolean isEmpty() {
        return !varying && prefix.length == 0;
    }

    public boolean varies() {
        return varying;
    }

    /** The shared leading bytes; callers must not modify the array. */
    byte[] prefix() {
        return prefix;
    }

    /** The per-request part after {@link #prefix()}, empty for a fixed body. */
    byte[] suffix(int connection, long sequence) {
        if (!varying) {
            return tail;
        }
        byte[] marker = (connection + "-" + sequence).getBytes(StandardCharsets.US_ASCII);
        byte[] suffix = Arrays.copyOf(marker, marker.length + tail.length);
        System.arraycopy(tail, 0, suffix, marker.length, tail.length);
        return suffix;
    }

    /** Size of the body of request 0 on connection 0, close to every other one. */
    public int typicalLength() {
        return prefix.length + suffix(0, 0).length;
    }

    /** The body of one request, for display and checks. */
    public String sample(int connection, long sequence) {
        return new String(prefix, StandardCharsets.UTF_8) + new String(suffix(connection, sequence), StandardCharsets.UTF_8);
    }
}
