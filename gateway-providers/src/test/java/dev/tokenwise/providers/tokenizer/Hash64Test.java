package dev.tokenwise.providers.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class Hash64Test {

    private static long hash(long seed, String... texts) {
        Hash64 h = new Hash64(seed);
        for (String t : texts) {
            h.add(t);
        }
        return h.finish();
    }

    @Test
    void hashesEqualSequencesEqually() {
        assertEquals(hash(7, "o200k_base", "user", "hello world"), hash(7, "o200k_base", "user", "hello world"));
    }

    @Test
    void separatesStringBoundaries() {
        assertNotEquals(hash(7, "ab", "c"), hash(7, "a", "bc"));
        assertNotEquals(hash(7, "abcd", ""), hash(7, "abc", "d"));
        assertNotEquals(hash(7, "", "x"), hash(7, "x", ""));
        assertNotEquals(hash(7, (String) null), hash(7, ""));
    }

    @Test
    void hashesAStringTheSameWhateverTheLanesItsWordsFall() {
        // The bulk path (16 chars at a time) and the word-at-a-time path must agree: the same text preceded by
        // strings of 0 to 3 words starts on each lane; its hash differs (the prefix differs) but never collides.
        java.util.Set<Long> seen = new java.util.HashSet<>();
        String text = "The quick brown fox jumps over the lazy dog, again and again and again.";
        for (int prefix = 0; prefix < 8; prefix++) {
            seen.add(hash(7, "x".repeat(prefix * 4), text));
            seen.add(hash(7, "x".repeat(prefix * 4), text + "!"));
        }
        assertEquals(16, seen.size());
        assertEquals(hash(7, "abcd".repeat(40)), hash(7, "abcd".repeat(40)));
    }

    @Test
    void changesWhenAnyCharacterOfALongTextChanges() {
        String text = "0123456789abcdef".repeat(8) + "tail";
        long base = hash(3, text);
        for (int i = 0; i < text.length(); i++) {
            char[] c = text.toCharArray();
            c[i] ^= 1;
            assertNotEquals(base, hash(3, new String(c)), "position " + i);
        }
        String swapped = text.substring(4, 8) + text.substring(0, 4) + text.substring(8); // two words trade places
        assertNotEquals(base, hash(3, swapped));
    }

    @Test
    void dependsOnTheSeed() {
        assertNotEquals(hash(1, "hello"), hash(2, "hello"));
    }

    @Test
    void hasNoCollisionsOnManySimilarStrings() {
        Set<Long> seen = new HashSet<>();
        for (int i = 0; i < 200_000; i++) {
            seen.add(hash(42, "user", "message " + i));
        }
        assertEquals(200_000, seen.size());
    }

    @Test
    void hashesTextsOfEveryLengthLikeTheWordByWordDefinition() {
        java.util.Random random = new java.util.Random(11);
        for (int length : new int[] {0, 1, 3, 4, 15, 16, 17, 4095, 4096, 4097, 4099, 8192, 9001, 20_000}) {
            StringBuilder text = new StringBuilder(length);
            for (int i = 0; i < length; i++) {
                text.append((char) (random.nextInt(10) == 0 ? 0x4E00 + random.nextInt(500) : 32 + random.nextInt(95)));
            }
            String t = text.toString();
            assertEquals(reference(5, "o200k_base", t, "abc"), hash(5, "o200k_base", t, "abc"), "length " + length);
        }
    }

    @Test
    void hashesByteSpansOfEveryLengthAndOffsetLikeTheWordByWordDefinition() {
        java.util.Random random = new java.util.Random(12);
        for (int length : new int[] {0, 1, 7, 8, 9, 31, 32, 33, 63, 64, 65, 1000, 14_003}) {
            for (int offset : new int[] {0, 1, 5}) {
                byte[] bytes = new byte[offset + length + 3];
                random.nextBytes(bytes);
                for (int lead = 0; lead < 3; lead++) {
                    // 0 to 2 words before the span put its first word on different lanes.
                    String prefix = "x".repeat(lead * 4);
                    long actual = new Hash64(5).add("o200k_base").add(prefix).add(bytes, offset, length).finish();
                    long expected = referenceBytes(5, bytes, offset, length, "o200k_base", prefix);
                    assertEquals(expected, actual, "length " + length + ", offset " + offset + ", lead " + lead);
                }
            }
        }
    }

    @Test
    void hashesBytesUnlikeAnyStringAndChangesWithEveryByte() {
        byte[] ascii = "hello".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        assertNotEquals(hash(7, "hello"), new Hash64(7).add(ascii, 0, ascii.length).finish());
        byte[] text = "0123456789abcdef".repeat(9).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        long base = new Hash64(3).add(text, 0, text.length).finish();
        for (int i = 0; i < text.length; i++) {
            byte[] changed = text.clone();
            changed[i] ^= 1;
            assertNotEquals(base, new Hash64(3).add(changed, 0, changed.length).finish(), "byte " + i);
        }
        assertNotEquals(base, new Hash64(3).add(text, 0, text.length - 1).finish());
    }

    /** {@link #reference} for strings, then one byte span: its marked length, eight bytes to a word, a marked tail. */
    private static long referenceBytes(long seed, byte[] b, int off, int len, String... texts) {
        java.util.List<Long> words = new java.util.ArrayList<>();
        long chars = 0;
        for (String t : texts) {
            addWords(words, t);
            chars += t.length();
        }
        words.add(Long.MIN_VALUE | len);
        int i = 0;
        for (; i + 8 <= len; i += 8) {
            long w = 0;
            for (int k = 0; k < 8; k++) {
                w |= (b[off + i + k] & 0xFFL) << (8 * k);
            }
            words.add(w);
        }
        if (i < len) {
            long w = 0;
            for (int k = 0; i + k < len; k++) {
                w |= (b[off + i + k] & 0xFFL) << (8 * k);
            }
            words.add(w ^ ((long) (len - i) << 56));
        }
        return finish(seed, words, chars + len);
    }

    private static void addWords(java.util.List<Long> words, String t) {
        words.add((long) t.length());
        int i = 0;
        for (; i + 4 <= t.length(); i += 4) {
            words.add(t.charAt(i) | (long) t.charAt(i + 1) << 16 | (long) t.charAt(i + 2) << 32
                    | (long) t.charAt(i + 3) << 48);
        }
        if (i < t.length()) {
            long w = 0;
            for (int k = 0; i + k < t.length(); k++) {
                w |= (long) t.charAt(i + k) << (k << 4);
            }
            words.add(w ^ ((long) (t.length() - i) << 62));
        }
    }

    /**
     * The hash as its class comment defines it, one word at a time: each string's length, then its UTF-16 code
     * units four to a word (a last partial word marked with its size in the top bits), words to lanes in turn.
     */
    private static long reference(long seed, String... texts) {
        java.util.List<Long> words = new java.util.ArrayList<>();
        long chars = 0;
        for (String t : texts) {
            addWords(words, t);
            chars += t.length();
        }
        return finish(seed, words, chars);
    }

    private static long finish(long seed, java.util.List<Long> words, long chars) {
        long[] v = {seed + 0x9E3779B185EBCA87L + 0xC2B2AE3D27D4EB4FL, seed + 0xC2B2AE3D27D4EB4FL, seed,
                seed - 0x9E3779B185EBCA87L};
        for (int i = 0; i < words.size(); i++) {
            long k = Long.rotateLeft(words.get(i) * 0xC2B2AE3D27D4EB4FL, 31) * 0x9E3779B185EBCA87L;
            v[i & 3] = Long.rotateLeft(v[i & 3] ^ k, 27) * 0x9E3779B185EBCA87L + 0x85EBCA77C2B2AE63L;
        }
        long h = Long.rotateLeft(v[0], 1) + Long.rotateLeft(v[1], 7) + Long.rotateLeft(v[2], 12)
                + Long.rotateLeft(v[3], 18);
        for (long lane : v) {
            long k = Long.rotateLeft(lane * 0xC2B2AE3D27D4EB4FL, 31) * 0x9E3779B185EBCA87L;
            h = (h ^ k) * 0x9E3779B185EBCA87L + 0x85EBCA77C2B2AE63L;
        }
        h += chars + words.size();
        h ^= h >>> 33;
        h *= 0xC2B2AE3D27D4EB4FL;
        h ^= h >>> 29;
        h *= 0x165667B19E3779F9L;
        return h ^ (h >>> 32);
    }
}
