package dev.tokenwise.providers.tokenizer;

/**
 * A streaming 64-bit hash of a sequence of strings and byte spans, used as the key of the token-count caches.
 *
 * <p>Implementation note: this is XXH64's structure applied to UTF-16 code units packed four to a 64-bit
 * word: four accumulators (lanes) take the words in turn, so that long texts hash at the speed of four
 * independent multiply chains rather than one, then XXH64's lane merge and final avalanche. Every string is
 * preceded by its length so that {@code ("ab", "c")} and {@code ("a", "bc")} differ. Counts are cached under
 * the hash alone, so a collision would return another text's count: the hash is seeded per counter instance
 * with a random value, which keeps accidental collisions at about {@code n²/2⁶⁵} for {@code n} cached entries
 * and makes colliding texts impractical to prepare in advance. It is not a cryptographic hash.
 */
final class Hash64 {
    private static final java.lang.invoke.VarHandle LONGS =
            java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class, java.nio.ByteOrder.LITTLE_ENDIAN);
    private static final long P1 = 0x9E3779B185EBCA87L;
    private static final long P2 = 0xC2B2AE3D27D4EB4FL;
    private static final long P3 = 0x165667B19E3779F9L;
    private static final long P4 = 0x85EBCA77C2B2AE63L;

    private long v0;
    private long v1;
    private long v2;
    private long v3;
    /** Words mixed so far; the next goes to lane {@code words & 3}. */
    private long words;
    private long word;
    private int charsInWord;
    private long totalChars;

    Hash64(long seed) {
        v0 = seed + P1 + P2;
        v1 = seed + P2;
        v2 = seed;
        v3 = seed - P1;
    }

    /** Adds {@code s} (with its length); {@code null} hashes differently from the empty string. */
    Hash64 add(String s) {
        if (s == null) {
            mix(-1L);
            return this;
        }
        int n = s.length();
        mix(n); // leaves no partial word
        int i = 0;
        while (i + 4 <= n && (words & 3) != 0) {
            mixWord(pack(s, i));
            i += 4;
        }
        if (i + 16 <= n) {
            long a = v0;
            long b = v1;
            long c = v2;
            long d = v3;
            do {
                a = step(a, pack(s, i));
                b = step(b, pack(s, i + 4));
                c = step(c, pack(s, i + 8));
                d = step(d, pack(s, i + 12));
                i += 16;
                words += 4;
            } while (i + 16 <= n);
            v0 = a;
            v1 = b;
            v2 = c;
            v3 = d;
        }
        while (i + 4 <= n) {
            mixWord(pack(s, i));
            i += 4;
        }
        for (; i < n; i++) {
            word |= ((long) s.charAt(i)) << (charsInWord << 4);
            charsInWord++;
        }
        totalChars += n;
        return this;
    }

    /**
     * Adds {@code len} bytes of {@code b} from {@code off} (with their length, marked so that bytes never hash
     * like a string): eight bytes to a word, read little-endian.
     */
    Hash64 add(byte[] b, int off, int len) {
        java.util.Objects.checkFromIndexSize(off, len, b.length);
        mix(Long.MIN_VALUE | len);
        int i = off;
        int end = off + len;
        while (i + 8 <= end && (words & 3) != 0) {
            mixWord((long) LONGS.get(b, i));
            i += 8;
        }
        if (i + 32 <= end) {
            long a = v0;
            long c1 = v1;
            long c2 = v2;
            long d = v3;
            do {
                a = step(a, (long) LONGS.get(b, i));
                c1 = step(c1, (long) LONGS.get(b, i + 8));
                c2 = step(c2, (long) LONGS.get(b, i + 16));
                d = step(d, (long) LONGS.get(b, i + 24));
                i += 32;
                words += 4;
            } while (i + 32 <= end);
            v0 = a;
            v1 = c1;
            v2 = c2;
            v3 = d;
        }
        while (i + 8 <= end) {
            mixWord((long) LONGS.get(b, i));
            i += 8;
        }
        if (i < end) {
            long tail = 0;
            for (int shift = 0; i < end; i++, shift += 8) {
                tail |= (b[i] & 0xFFL) << shift;
            }
            mixWord(tail ^ ((long) (len & 7) << 56));
        }
        totalChars += len;
        return this;
    }

    long finish() {
        flushWord();
        long h = Long.rotateLeft(v0, 1) + Long.rotateLeft(v1, 7) + Long.rotateLeft(v2, 12) + Long.rotateLeft(v3, 18);
        h = merge(h, v0);
        h = merge(h, v1);
        h = merge(h, v2);
        h = merge(h, v3);
        h += totalChars + words;
        h ^= h >>> 33;
        h *= P2;
        h ^= h >>> 29;
        h *= P3;
        h ^= h >>> 32;
        return h;
    }

    private static long pack(String s, int i) {
        return s.charAt(i) | (long) s.charAt(i + 1) << 16 | (long) s.charAt(i + 2) << 32 | (long) s.charAt(i + 3) << 48;
    }

    /** A marker word (a length, or null); a partly filled word of text is flushed first, so they never share one. */
    private void mix(long k) {
        flushWord();
        mixWord(k);
    }

    private void flushWord() {
        if (charsInWord > 0) {
            long w = word ^ ((long) charsInWord << 62);
            word = 0;
            charsInWord = 0;
            mixWord(w);
        }
    }

    private void mixWord(long k) {
        switch ((int) (words++ & 3)) {
            case 0 -> v0 = step(v0, k);
            case 1 -> v1 = step(v1, k);
            case 2 -> v2 = step(v2, k);
            default -> v3 = step(v3, k);
        }
    }

    private static long step(long h, long k) {
        k *= P2;
        k = Long.rotateLeft(k, 31);
        k *= P1;
        h ^= k;
        return Long.rotateLeft(h, 27) * P1 + P4;
    }

    private static long merge(long h, long lane) {
        long k = lane * P2;
        k = Long.rotateLeft(k, 31);
        k *= P1;
        h ^= k;
        return h * P1 + P4;
    }
}
