package dev.tokenwise.telemetry;

/** W3C trace context ids as longs: read from the hex of a {@code traceparent}, written into one. */
final class TraceIds {
    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private TraceIds() {
    }

    /** The first 64 bits of a 32-digit lowercase hex trace id. */
    static long high(String traceIdHex) {
        return Long.parseUnsignedLong(traceIdHex, 0, 16, 16);
    }

    /** The last 64 bits of a 32-digit lowercase hex trace id. */
    static long low(String traceIdHex) {
        return Long.parseUnsignedLong(traceIdHex, 16, 32, 16);
    }

    /** The {@code traceparent} header (version 00) naming span {@code spanId} of trace {@code high, low}. */
    static String traceparent(long traceIdHigh, long traceIdLow, long spanId, boolean sampled) {
        byte[] b = new byte[55]; // 00-<32 hex>-<16 hex>-<2 hex>
        b[0] = '0';
        b[1] = '0';
        b[2] = '-';
        hex(traceIdHigh, b, 3);
        hex(traceIdLow, b, 19);
        b[35] = '-';
        hex(spanId, b, 36);
        b[52] = '-';
        b[53] = '0';
        b[54] = (byte) (sampled ? '1' : '0');
        return new String(b, java.nio.charset.StandardCharsets.ISO_8859_1);
    }

    private static void hex(long value, byte[] into, int at) {
        for (int i = 15; i >= 0; i--) {
            into[at + i] = (byte) HEX[(int) (value & 0xF)];
            value >>>= 4;
        }
    }
}
