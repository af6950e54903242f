package dev.tokenwise.core.proxy;

import java.util.concurrent.ThreadLocalRandom;

/** Request ids: {@code req_} and 24 hex digits of randomness (96 bits); cheap and unique enough for a ledger key. */
final class RequestIds {
    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private RequestIds() {
    }

    static String next() {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        long hi = random.nextLong();
        int lo = random.nextInt();
        char[] out = new char[28];
        out[0] = 'r';
        out[1] = 'e';
        out[2] = 'q';
        out[3] = '_';
        for (int i = 0; i < 16; i++) {
            out[4 + i] = HEX[(int) (hi >>> (60 - 4 * i)) & 0xF];
        }
        for (int i = 0; i < 8; i++) {
            out[20 + i] = HEX[(lo >>> (28 - 4 * i)) & 0xF];
        }
        return new String(out);
    }
}
