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
}
