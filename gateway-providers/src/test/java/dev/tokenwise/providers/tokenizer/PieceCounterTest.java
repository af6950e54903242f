package dev.tokenwise.providers.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingRegistry;
import com.knuddels.jtokkit.api.EncodingType;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

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

    /** Prose whose every o200k_base piece is at most 7 characters, each below 256: all packed pieces. */
    static final String SHORT_LATIN = "Der Bär aß süße Äpfel, und ich? Le café est très bon; ça va. ¿Qué tal, "
            + "niño? ¡Olé! El año 1999 costó 12 345 £, ±½ × ÷ §7 ¶ «oui» ©® µm 30° 'tis we'll I'd\n\t ÿ Øre "
            + "\u0000 \u007F \u0081\u0081 \u00A0 a b c the of and to in is it you that he was for on are as";

    /**
     * Short Latin-1 pieces of 14 tokens, one per UTF-8 byte (in o200k_base, then cl100k_base): counts past 7
     * must survive being packed.
     */
    private static final String FOURTEEN_TOKENS_O200K = "\u0081".repeat(7);
    private static final String FOURTEEN_TOKENS_CL100K = "ÿ".repeat(7);

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

    @Test
    void shortLatinPiecesAreCountedFromThePackedTableExactly() {
        for (EncodingType type : List.of(EncodingType.O200K_BASE, EncodingType.CL100K_BASE)) {
            Encoding encoding = REGISTRY.getEncoding(type);
            PieceCounter counter = new PieceCounter(encoding, 10_000);
            int expected = encoding.countTokensOrdinary(SHORT_LATIN);
            assertEquals(expected, counter.count(SHORT_LATIN), type.getName());
            int cached = counter.cachedPieces();
            assertTrue(cached > 40, type.getName() + ": " + cached);
            assertEquals(expected, counter.count(SHORT_LATIN), type.getName());
            assertEquals(cached, counter.cachedPieces(), type.getName() + ": the second count found every piece");
        }
    }

    @Test
    void theTestProseIsMadeOfShortLatinPiecesOnly() {
        for (int start = 0, n = SHORT_LATIN.length(); start < n; ) {
            int end = O200kSplitter.next(SHORT_LATIN, start);
            String piece = SHORT_LATIN.substring(start, end);
            assertTrue(piece.length() <= 7 && piece.chars().allMatch(c -> c < 256), () -> "piece: " + piece);
            start = end;
        }
    }

    @Test
    void shortLatinPiecesOfFourteenTokensKeepTheirCounts() {
        Encoding o200k = REGISTRY.getEncoding(EncodingType.O200K_BASE);
        Encoding cl100k = REGISTRY.getEncoding(EncodingType.CL100K_BASE);
        assertEquals(14, o200k.countTokensOrdinary(FOURTEEN_TOKENS_O200K));
        assertEquals(14, cl100k.countTokensOrdinary(FOURTEEN_TOKENS_CL100K));
        PieceCounter o200kCounter = new PieceCounter(o200k, 100);
        PieceCounter cl100kCounter = new PieceCounter(cl100k, 100);
        for (int round = 0; round < 2; round++) { // the second round is served from the table
            assertEquals(14, o200kCounter.count(FOURTEEN_TOKENS_O200K));
            assertEquals(14, cl100kCounter.count(FOURTEEN_TOKENS_CL100K));
        }
        assertEquals(1, o200kCounter.cachedPieces());
        assertEquals(1, cl100kCounter.cachedPieces());
    }

    @Test
    void latinPiecesOfEightToFifteenCharactersAreCountedFromTheirTableExactly() {
        // Pieces of 8 to 15 characters, a few of them past ASCII, and pieces that differ only in their last
        // character or in their length (the length is part of the key).
        String medium = " configuration connections, überschreiten  déjà-vuuuuu 12345678 123456789012345 "
                + " abcdefgh abcdefghi abcdefgi abcdefghijklmno abcdefghijklmnp \u0081\u0081\u0081\u0081\u0081\u0081\u0081\u0081";
        for (EncodingType type : List.of(EncodingType.O200K_BASE, EncodingType.CL100K_BASE)) {
            Encoding encoding = REGISTRY.getEncoding(type);
            PieceCounter counter = new PieceCounter(encoding, 10_000);
            int expected = encoding.countTokensOrdinary(medium);
            assertEquals(expected, counter.count(medium), type.getName());
            int cached = counter.cachedPieces();
            assertEquals(expected, counter.count(medium), type.getName());
            assertEquals(cached, counter.cachedPieces(), type.getName() + ": the second count found every piece");
            for (String word : medium.split(" ")) {
                assertEquals(encoding.countTokensOrdinary(" " + word), counter.count(" " + word), word);
            }
            // Pieces with the same first eight characters and different counts, crowded into a small table so
            // that they meet in its slots: the rest of the key tells them apart.
            PieceCounter small = new PieceCounter(encoding, 16);
            SplittableRandom random = new SplittableRandom(11);
            java.util.Set<Integer> counts = new java.util.HashSet<>();
            for (int i = 0; i < 400; i++) {
                StringBuilder piece = new StringBuilder(" zzzzzzz");
                for (int n = 1 + random.nextInt(7); n > 0; n--) {
                    piece.append((char) ('a' + random.nextInt(26)));
                }
                String text = piece.toString();
                counts.add(encoding.countTokensOrdinary(text));
                assertEquals(encoding.countTokensOrdinary(text), small.count(text), text);
                assertEquals(encoding.countTokensOrdinary(text), small.count(text), text);
            }
            assertTrue(counts.size() > 1, "the pieces differ in their counts: " + counts);
        }
    }

    @Test
    void piecesLongerThanSevenOrBeyondLatin1StillMatchJtokkit() {
        String mixed = "internationalization supercalifragilistic Übergrößenträger Привет мир 世界 ǅemal ĀĒĪŌŪ "
                + "a€b ab€ €uro Ŀ ſ 😀x x😀 " + SHORT_LATIN + " déjà-vu " + "x".repeat(40) + " 1234567 12345678";
        for (EncodingType type : List.of(EncodingType.O200K_BASE, EncodingType.CL100K_BASE)) {
            Encoding encoding = REGISTRY.getEncoding(type);
            PieceCounter counter = new PieceCounter(encoding, 10_000);
            for (int round = 0; round < 2; round++) { // the second round is served from the tables
                assertEquals(encoding.countTokensOrdinary(mixed), counter.count(mixed), type.getName());
                for (String text : CORPUS) {
                    assertEquals(encoding.countTokensOrdinary(text), counter.count(text), text);
                }
            }
        }
    }

    @Test
    void aSmallBoundHoldsAcrossBothTablesAndCountsStayExact() {
        Encoding o200k = REGISTRY.getEncoding(EncodingType.O200K_BASE);
        PieceCounter counter = new PieceCounter(o200k, 16);
        SplittableRandom random = new SplittableRandom(3);
        for (int i = 0; i < 200; i++) {
            String text = randomText(random, 400);
            assertEquals(o200k.countTokensOrdinary(text), counter.count(text), text);
            assertTrue(counter.cachedPieces() <= 16, "cached: " + counter.cachedPieces());
        }
        assertEquals(16, counter.cachedPieces());
    }

    @Test
    void concurrentCountsOfSharedAndDistinctTextsAllMatchJtokkit() throws Exception {
        Encoding o200k = REGISTRY.getEncoding(EncodingType.O200K_BASE);
        int threads = 4;
        List<String> shared = new ArrayList<>(CORPUS);
        shared.add(SHORT_LATIN);
        List<List<String>> own = new ArrayList<>();
        SplittableRandom random = new SplittableRandom(5);
        for (int t = 0; t < threads; t++) {
            List<String> texts = new ArrayList<>();
            for (int i = 0; i < 300; i++) {
                texts.add(randomText(random, 200));
            }
            own.add(texts);
        }
        // One counter with room for every piece, one full after a few: both must count exactly under races.
        for (int maxPieces : new int[] {100_000, 64}) {
            PieceCounter counter = new PieceCounter(o200k, maxPieces);
            CountDownLatch start = new CountDownLatch(1);
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            try {
                List<Future<?>> results = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    List<String> texts = own.get(t);
                    results.add(pool.submit(() -> {
                        start.await();
                        for (int i = 0; i < texts.size(); i++) {
                            String mine = texts.get(i);
                            String common = shared.get(i % shared.size());
                            assertEquals(o200k.countTokensOrdinary(mine), counter.count(mine), mine);
                            assertEquals(o200k.countTokensOrdinary(common), counter.count(common), common);
                        }
                        return null;
                    }));
                }
                start.countDown();
                for (Future<?> result : results) {
                    result.get(2, TimeUnit.MINUTES);
                }
            } finally {
                pool.shutdownNow();
            }
            // Racing writers may each pass the check before the others' increments: at most one over per thread.
            assertTrue(counter.cachedPieces() <= maxPieces + threads, "cached: " + counter.cachedPieces());
            for (String text : shared) {
                assertEquals(o200k.countTokensOrdinary(text), counter.count(text), text);
            }
        }
    }

    // ---------------------------------------------------------------- bounded merging

    @Test
    void countsAMegabyteSingleWordByItsUtf8LengthWithoutMergingIt() {
        PieceCounter counter = new PieceCounter(REGISTRY.getEncoding(EncodingType.O200K_BASE), 10_000);
        String word = "a".repeat(1 << 20);
        CountBudget budget = new CountBudget();

        long allocatedBefore = allocatedBytes();
        long tokens = counter.count(word, budget);
        long allocated = allocatedBytes() - allocatedBefore;

        // jtokkit merges it into 131,072 tokens of 8 letters, after allocating about 500 MB for it.
        assertEquals(1 << 20, tokens, "one token per UTF-8 byte, never below the exact 131,072");
        assertEquals(1, budget.boundedPieces(), "the count is an upper bound, and says so");
        assertEquals(CountBudget.PER_COUNT_MERGED_CHARS, budget.mergeCharsLeft(), "nothing was merged");
        assertTrue(allocated < 1 << 20, "counting it allocated " + allocated + " bytes");
    }

    static Stream<Arguments> longPieces() {
        List<Arguments> cases = new ArrayList<>();
        for (EncodingType type : List.of(EncodingType.O200K_BASE, EncodingType.CL100K_BASE)) {
            for (String kind : List.of("a", "random lowercase", "random uppercase", "cjk", "thai", "spaces",
                    "symbols", "emoji")) {
                cases.add(Arguments.of(type, kind));
            }
        }
        // Marks join letters in o200k_base's pieces only; cl100k_base's parser asserts well-formed UTF-16.
        cases.add(Arguments.of(EncodingType.O200K_BASE, "accents"));
        cases.add(Arguments.of(EncodingType.O200K_BASE, "lone surrogates"));
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("longPieces")
    void boundsALongPieceNeverBelowItsExactCount(EncodingType type, String kind) {
        Encoding encoding = REGISTRY.getEncoding(type);
        PieceCounter counter = new PieceCounter(encoding, 10_000);
        SplittableRandom random = new SplittableRandom(kind.hashCode());
        for (int length : new int[] {PieceCounter.MAX_MERGED_PIECE_CHARS + 1, 3_000, 20_000}) {
            String text = longPiece(kind, length, random);
            CountBudget budget = new CountBudget();

            long bounded = counter.count(text, budget);

            long exact = encoding.countTokensOrdinary(text);
            assertTrue(budget.boundedPieces() > 0, kind + " of " + length + ": counted by its bound");
            assertTrue(bounded >= exact, kind + " of " + length + ": " + bounded + " below the exact " + exact);
            assertTrue(bounded <= text.getBytes(StandardCharsets.UTF_8).length + text.length(),
                    kind + " of " + length + ": about its UTF-8 length, " + bounded);
        }
    }

    @Test
    void mergesAPieceAsLongAsTheLimitExactly() {
        for (EncodingType type : List.of(EncodingType.O200K_BASE, EncodingType.CL100K_BASE)) {
            Encoding encoding = REGISTRY.getEncoding(type);
            PieceCounter counter = new PieceCounter(encoding, 10_000);
            String word = longPiece("random lowercase", PieceCounter.MAX_MERGED_PIECE_CHARS, new SplittableRandom(9));
            CountBudget budget = new CountBudget();

            assertEquals(encoding.countTokensOrdinary(word), counter.count(word, budget), type.getName());
            assertEquals(0, budget.boundedPieces(), type.getName());
        }
    }

    @Test
    void boundsTheUncachedPiecesLeftOnceACountSpentItsMerging() {
        Encoding o200k = REGISTRY.getEncoding(EncodingType.O200K_BASE);
        SplittableRandom random = new SplittableRandom(11);
        StringBuilder words = new StringBuilder();
        for (int i = 0; i < 100; i++) {
            words.append(' ').append(longPiece("random lowercase", 200, random)); // distinct words of 201 characters
        }
        String text = words.toString();
        long exact = o200k.countTokensOrdinary(text);

        CountBudget small = new CountBudget(5_000);
        long bounded = new PieceCounter(o200k, 10_000).count(text, small);
        assertTrue(small.boundedPieces() >= 75, "about 24 words merged, the rest bounded: " + small.boundedPieces());
        assertTrue(small.mergeCharsLeft() < 201, "merged while the budget lasted: " + small.mergeCharsLeft());
        assertTrue(bounded > exact, bounded + " vs the exact " + exact);

        CountBudget ample = new CountBudget();
        assertEquals(exact, new PieceCounter(o200k, 10_000).count(text, ample), "within its budget a count is exact");
        assertEquals(0, ample.boundedPieces());
    }

    @Test
    void countsOrdinaryTextExactlyWithoutBoundingAnyPiece() {
        for (EncodingType type : List.of(EncodingType.O200K_BASE, EncodingType.CL100K_BASE)) {
            Encoding encoding = REGISTRY.getEncoding(type);
            PieceCounter counter = new PieceCounter(encoding, 10_000);
            CountBudget budget = new CountBudget();
            for (String text : CORPUS) {
                assertEquals(encoding.countTokensOrdinary(text), counter.count(text, budget), text);
            }
            String book = String.join(" ", CORPUS).repeat(2_000); // 1.3 MB of ordinary text
            assertEquals(encoding.countTokensOrdinary(book), counter.count(book, budget), type.getName());
            assertEquals(0, budget.boundedPieces(), type.getName());
        }
    }

    /** A text of {@code length} characters that the encodings' pre-tokenizers keep as one piece (or a few long ones). */
    static String longPiece(String kind, int length, SplittableRandom random) {
        StringBuilder sb = new StringBuilder(length + 1);
        while (sb.length() < length) {
            switch (kind) {
                case "a" -> sb.append('a');
                case "random lowercase" -> sb.append((char) ('a' + random.nextInt(26)));
                case "random uppercase" -> sb.append((char) ('A' + random.nextInt(26)));
                case "cjk" -> sb.append((char) (0x4E00 + random.nextInt(0x5000)));
                case "thai" -> sb.append((char) (0x0E01 + random.nextInt(0x2E)));
                case "spaces" -> sb.append(' ');
                case "symbols" -> sb.append("!#$%&*+-=<>?@^_|~".charAt(random.nextInt(17)));
                // A symbol where a pair would not fit: no pair is cut in half.
                case "emoji" -> sb.appendCodePoint(length - sb.length() > 1 ? 0x1F600 + random.nextInt(0x40) : '!');
                case "accents" -> sb.append(random.nextBoolean() ? "e\u0301" : "\u00e9");
                case "lone surrogates" -> sb.append((char) (0xD800 + random.nextInt(0x400)));
                default -> throw new IllegalArgumentException(kind);
            }
        }
        return sb.substring(0, length);
    }

    /** Bytes this thread allocated so far (HotSpot's per-thread allocation counter). */
    private static long allocatedBytes() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean())
                .getThreadAllocatedBytes(Thread.currentThread().getId());
    }

    /** Words of Latin-1 letters, symbols and controls, some short, some long, some with a character past 255. */
    private static String randomText(SplittableRandom random, int length) {
        String latin1 = "abcdefghijklmnopqrstuvwxyzABCDEZ0123456789 .,;!?'-éüßñçÆØÅ¿¡£§±½×÷ÿ\u0081\u00A0\n\t";
        String[] beyondLatin1 = {"€", "Ā", "ж", "中", "😀"};
        StringBuilder sb = new StringBuilder(length);
        while (sb.length() < length) {
            if (random.nextInt(40) == 0) {
                sb.append(beyondLatin1[random.nextInt(beyondLatin1.length)]);
            } else {
                sb.append(latin1.charAt(random.nextInt(latin1.length())));
            }
            if (random.nextInt(6) == 0) {
                sb.append(' ');
            }
        }
        return sb.toString();
    }
}
