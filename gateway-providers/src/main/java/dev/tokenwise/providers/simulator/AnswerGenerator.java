package dev.tokenwise.providers.simulator;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Makes the simulated answer: plain English sentences drawn from a fixed vocabulary by a
 * {@link SplittableRandom} seeded with a hash of the request, so the same request always gets the same
 * answer. The answer comes as pieces, one per word with its leading space and trailing punctuation, so
 * a stream can send one piece per delta and the pieces concatenate to the full text.
 */
final class AnswerGenerator {

    static final int MIN_WORDS = 20;

    private static final String[] WORDS = {
        "the", "a", "this", "that", "every", "some", "our", "your", "each", "another",
        "model", "answer", "question", "token", "budget", "request", "team", "report", "system", "gateway",
        "price", "cost", "result", "number", "idea", "plan", "reason", "example", "detail", "summary",
        "user", "data", "value", "method", "service", "project", "change", "problem", "step", "test",
        "is", "was", "seems", "becomes", "remains", "shows", "gives", "needs", "keeps", "finds",
        "counts", "checks", "sends", "reads", "writes", "builds", "takes", "makes", "uses", "explains",
        "simple", "clear", "useful", "small", "large", "quick", "careful", "steady", "simulated", "local",
        "gentle", "honest", "plain", "short", "long", "early", "late", "new", "old", "good",
        "with", "from", "into", "over", "under", "about", "after", "before", "around", "through",
        "and", "but", "so", "because", "while", "when", "then", "also", "often", "rarely",
        "quickly", "slowly", "gently", "clearly", "simply", "really", "mostly", "nearly", "always", "never",
        "today", "here", "there", "now", "again", "together", "later", "first", "next", "finally"
    };

    private AnswerGenerator() {
    }

    /**
     * The answer to a request whose messages serialise to {@code messagesJson}.
     *
     * @return between {@code min(20, maxWords)} and {@code maxWords} pieces
     */
    static List<String> pieces(String messagesJson, int maxWords) {
        SplittableRandom random = new SplittableRandom(fnv1a64(messagesJson));
        int minWords = Math.min(MIN_WORDS, maxWords);
        int count = minWords + random.nextInt(maxWords - minWords + 1);
        return words(random, count);
    }

    /** {@code count} pieces of sentences drawn from {@code random}. */
    static List<String> words(SplittableRandom random, int count) {
        List<String> pieces = new ArrayList<>(count);
        int sentenceLeft = 0;
        for (int i = 0; i < count; i++) {
            boolean sentenceStart = sentenceLeft == 0;
            if (sentenceStart) {
                sentenceLeft = 4 + random.nextInt(10);
            }
            String word = WORDS[random.nextInt(WORDS.length)];
            StringBuilder piece = new StringBuilder(word.length() + 2);
            if (i > 0) {
                piece.append(' ');
            }
            if (sentenceStart) {
                piece.append(Character.toUpperCase(word.charAt(0))).append(word, 1, word.length());
            } else {
                piece.append(word);
            }
            sentenceLeft--;
            if (sentenceLeft == 0 || i == count - 1) {
                int mark = random.nextInt(20);
                piece.append(mark == 0 ? '!' : mark < 3 ? '?' : '.');
                sentenceLeft = 0;
            } else if (sentenceLeft > 1 && random.nextInt(8) == 0) {
                piece.append(',');
            }
            pieces.add(piece.toString());
        }
        return pieces;
    }

    /** The first {@code words} pieces joined. */
    static String text(List<String> pieces, int words) {
        StringBuilder text = new StringBuilder(words * 8);
        for (int i = 0; i < words; i++) {
            text.append(pieces.get(i));
        }
        return text.toString();
    }

    /** 64-bit FNV-1a over the UTF-8 bytes; stable across JVMs, unlike {@link String#hashCode()}'s 32 bits. */
    static long fnv1a64(String s) {
        long hash = 0xcbf29ce484222325L;
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            hash ^= b & 0xff;
            hash *= 0x100000001b3L;
        }
        return hash;
    }
}
