package dev.tokenwise.providers.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingRegistry;
import com.knuddels.jtokkit.api.EncodingType;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class PieceCounterTest {
    private static final EncodingRegistry REGISTRY = Encodings.newLazyEncodingRegistry();

    static final List<String> CORPUS = List.of(
            "The quick brown fox jumps over the lazy dog. It's what they'd've done, isn't it?",
            "   leading spaces, trailing spaces   \n\n\n  and\ttabs\t\tand   multiple    gaps  1  22  333  4444 55555",
            "def count(xs: list[int]) -> int:\n    return sum(x * 2 for x in xs if x % 3 == 0)  # comment\n",
            "public static void main(String[] args) { System.out.println(\"héllo wörld\"); }\r\n",
            "お誕生日おめでとう 你好，世界！ 안녕하세요 세계 Привет, мир! مرحبا بالعالم",
            "👍🏽 🎉🎉 family: 👨‍👩‍👧‍👦 flags 🇩🇪🇯🇵 keycap 1️⃣ ZWJ text",
            "<|endoftext|> is ordinary text here, as are <|fim_prefix|> and <|im_start|>",
            "URLS: https://example.com/path?q=1&r=[2]#frag and emails a.b+c@example.co.uk",
            "CamelCaseWords and ALLCAPS and MiXeD and I'M SHOUTING, YOU'RE TOO; he'LL see",
            "Numbers: 3.14159, 1,000,000, 2026-11-28T18:40:00Z, 0xDEADBEEF, 1e-9, -42");

    @Test
    void sumsOfCachedPiecesEqualWholeTextCountsOnAVariedCorpus() {
        Encoding o200k = REGISTRY.getEncoding(EncodingType.O200K_BASE);
        PieceCounter counter = new PieceCounter(o200k, 10_000);
        assertTrue(counter.caching(), "o200k_base is regex-based: its pieces are cached");
        for (int round = 0; round < 2; round++) { // the second round is served from the cache
            for (String text : CORPUS) {
                assertEquals(o200k.countTokensOrdinary(text), counter.count(text), text);
            }
        }
        assertTrue(counter.cachedPieces() > 50);
    }

    @Test
    void matchesJtokkitOnRandomMixturesOfTheCorpus() {
        Encoding o200k = REGISTRY.getEncoding(EncodingType.O200K_BASE);
        PieceCounter counter = new PieceCounter(o200k, 10_000);
        SplittableRandom random = new SplittableRandom(42);
        String all = String.join("", CORPUS);
        for (int i = 0; i < 2_000; i++) {
            int from = random.nextInt(all.length());
            int to = Math.min(all.length(), from + random.nextInt(120));
            // Cut anywhere, even inside surrogate pairs: both sides must still agree.
            String text = all.substring(from, to);
            assertEquals(o200k.countTokensOrdinary(text), counter.count(text), text);
        }
    }

    @Test
    void countsCl100kThroughThePieceTableToo() {
        Encoding cl100k = REGISTRY.getEncoding(EncodingType.CL100K_BASE);
        PieceCounter counter = new PieceCounter(cl100k, 10_000);
        assertTrue(counter.caching(), "cl100k_base is split by Cl100kSplitter: its pieces are cached");
        for (int round = 0; round < 2; round++) { // the second round is served from the cache
            for (String text : CORPUS) {
                assertEquals(cl100k.countTokensOrdinary(text), counter.count(text), text);
            }
        }
        assertTrue(counter.cachedPieces() > 50);
    }

    @Test
    void stopsCachingAtItsLimit() {
        Encoding o200k = REGISTRY.getEncoding(EncodingType.O200K_BASE);
        PieceCounter counter = new PieceCounter(o200k, 5);
        String text = CORPUS.get(0);
        assertEquals(o200k.countTokensOrdinary(text), counter.count(text));
        assertTrue(counter.cachedPieces() <= 5);
    }
}
