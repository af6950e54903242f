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
