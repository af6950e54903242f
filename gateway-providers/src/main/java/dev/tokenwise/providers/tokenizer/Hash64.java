package dev.tokenwise.providers.tokenizer;

/**
 * A streaming 64-bit hash of a sequence of strings, used as the key of the token-count cache.
 *
 * <p>Implementation note: this is XXH64's single-lane step and final avalanche applied to UTF-16
 * code units packed four to a 64-bit word; every string is preceded by its length so that
 * {@code ("ab", "c")} and {@code ("a", "bc")} differ. Counts are cached under the hash alone, so a
 * collision would return another text's count: the hash is seeded per counter instance with a random
 * value, which keeps accidental collisions at about {@code n²/2⁶⁵} for {@code n} cached entries and
 * makes colliding texts impractical to prepare in advance. It is not a cryptographic hash.
 */
final class Hash64 {
    private static final long P1 = 0x9E3779B185EBCA87L;
    private static final long P2 = 0xC2B2AE3D27D4EB4FL;
    private static final long P3 = 0x165667B19E3779F9L;
    private static final long P4 = 0x85EBCA77C2B2AE63L;
    private static final long P5 = 0x27D4EB2F165667C5L;

    private long acc;
    private long word;
    private int charsInWord;
    private long totalChars;

    Hash64(long seed) {
        acc = seed + P5;
    }

    /** Adds {@code s} (with its length); {@code null} hashes differently from the empty string. */
    Hash64 add(String s) {
        if (s == null) {
            mix(-1L);
            return this;
        }
        int n = s.length();
        mix(n);
        for (int i = 0; i < n; i++) {
            word |= ((long) s.charAt(i)) << (charsInWord << 4);
            if (++charsInWord == 4) {
                mix(word);
                word = 0;
                charsInWord = 0;
            }
        }
        totalChars += n;
        return this;
    }

    long finish() {
        long h = acc;
        if (charsInWord > 0) {
            h = step(h, word ^ ((long) charsInWord << 62));
        }
        h += totalChars;
        h ^= h >>> 33;
        h *= P2;
        h ^= h >>> 29;
        h *= P3;
        h ^= h >>> 32;
        return h;
    }

    private void mix(long k) {
        if (charsInWord > 0) {
            // Flush a partly filled word first so that the length marker never shares a word with text.
            acc = step(acc, word ^ ((long) charsInWord << 62));
            word = 0;
            charsInWord = 0;
        }
        acc = step(acc, k);
    }

    private static long step(long h, long k) {
        k *= P2;
        k = Long.rotateLeft(k, 31);
        k *= P1;
        h ^= k;
        return Long.rotateLeft(h, 27) * P1 + P4;
    }
}
