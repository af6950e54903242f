package dev.tokenwise.core.proxy;

import java.util.concurrent.ThreadLocalRandom;

/**
 * Request ids: {@code req_}, 12 hex digits of the time in milliseconds, then 12 of randomness (48 bits).
 *
 * <p>Ids that grow with time land at the end of the ledger's primary-key index: a random id would dirty a
 * random page of that B-tree on every insert, so a busy ledger would write a page per row. Two ids of the
 * same millisecond collide with a chance of 2<sup>-48</sup>; ids are not secrets (reading a record needs the
 * key that made the call).
 */
final class RequestIds {
    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private RequestIds() {
    }

    static String next() {
        return of(System.currentTimeMillis(), ThreadLocalRandom.current().nextLong());
    }

    static String of(long millis, long random) {
        char[] out = new char[28];
        out[0] = 'r';
        out[1] = 'e';
        out[2] = 'q';
        out[3] = '_';
        for (int i = 0; i < 12; i++) {
            out[4 + i] = HEX[(int) (millis >>> (44 - 4 * i)) & 0xF];
        }
        for (int i = 0; i < 12; i++) {
            out[16 + i] = HEX[(int) (random >>> (44 - 4 * i)) & 0xF];
        }
        return new String(out);
    }
}
