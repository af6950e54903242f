package dev.tokenwise.providers.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * {@link Cl100kSplitter} against the two references: tiktoken's expression compiled by Java's regex engine
 * (the pieces must be equal) and jtokkit's own count of the whole text, made with its hand-written parser (the
 * sum of jtokkit's counts of the pieces must be equal to it).
 *
 * <p>jtokkit's parser asserts that its input is well-formed UTF-16 and tests run with assertions enabled, so
 * counts are compared only on text without lone surrogates; the pieces are compared on all text.
 */
class Cl100kSplitterTest {
    private static final Encoding CL100K = Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.CL100K_BASE);

    /** The cl100k_base pre-tokenizer as tiktoken defines it, with the flags of jtokkit's patterns. */
    private static final Pattern REGEX = Pattern.compile(Cl100kSplitter.PATTERN, Cl100kSplitter.FLAGS);

    /** Characters that exercise every class and every give-back of the expression. */
    private static final String[] ALPHABET = {
            "a", "z", "A", "Z", "s", "S", "d", "D", "m", "M", "t", "T", "l", "L", "r", "R", "v", "V", "e", "E",
            "ll", "LL", "ve", "vE", "re", "Re", "'s", "'D", "'ll", "'lL", "'VE", "'re", "'", "'", "'", " ", " ", " ",
            "  ", "   ", "\t", "\n", "\r", "\r\n", "\u000B", "\f", "\u0085", "\u00A0", "\u2028", "\u2029", "\u3000",
            "\u001C", "0", "7", "123", "½", "²", "Ⅻ", "٣", ".", ",", "/", "-", "_", "!", "?", "(", "{", "\"",
            "#", "é", "É", "ß", "ſ", "ǅ", "ʰ", "ª", "µ", "中", "お", "한", "ф", "Ж", "ا", "\u0301", "\u20DD",
            "\u0903", "😀", "👍🏽", "🇩🇪", "‍", "\uFE0F", "𝒜", "𝒶", "\uD800", "\uDC00", "€", "—", "’", "\u0000",
            "\u007F"};

    @Test
    void splitsExactlyLikeTheRegexAndCountsLikeJtokkitOnTheCorpus() {
        for (String text : PieceCounterTest.CORPUS) {
            assertSplitsLikeTheReferences(text);
        }
    }

    @Test
    void splitsExactlyLikeTheRegexAndCountsLikeJtokkitOnEveryPairAndTripleOfTheAlphabet() {
        for (String a : ALPHABET) {
            for (String b : ALPHABET) {
                assertSplitsLikeTheReferences(a + b);
                for (String c : ALPHABET) {
                    assertSplitsLikeTheReferences(a + b + c);
                }
            }
        }
    }

    @Test
    void splitsExactlyLikeTheRegexAndCountsLikeJtokkitOnRandomStrings() {
        SplittableRandom random = new SplittableRandom(7);
        for (int i = 0; i < 50_000; i++) {
            StringBuilder sb = new StringBuilder();
            int length = random.nextInt(24);
            for (int j = 0; j < length; j++) {
                sb.append(ALPHABET[random.nextInt(ALPHABET.length)]);
            }
            assertSplitsLikeTheReferences(sb.toString());
        }
    }

    @Test
    void splitsExactlyLikeTheRegexAndCountsLikeJtokkitOnRandomCodePointsOfEveryPlane() {
        SplittableRandom random = new SplittableRandom(11);
        for (int i = 0; i < 20_000; i++) {
            StringBuilder sb = new StringBuilder();
            int length = random.nextInt(12);
            for (int j = 0; j < length; j++) {
                int cp = switch (random.nextInt(4)) {
                    case 0 -> random.nextInt(0x80);
                    case 3 -> random.nextInt(Character.MAX_CODE_POINT + 1); // mostly unassigned or private use
                    default -> random.nextInt(0x30000); // where most assigned code points are
                };
                sb.appendCodePoint(cp);
            }
            assertSplitsLikeTheReferences(sb.toString());
        }
    }

    @Test
    void takesContractionsInEitherCaseAndTheLongSAsAnS() {
        assertEquals(List.of("it", "'s", " they", "'LL", " we", "'Ve", " you", "'rE", " I", "'M", " he", "'d"),
                splitterPieces("it's they'LL we'Ve you'rE I'M he'd"));
        assertEquals(List.of("IT", "'ſ"), splitterPieces("IT'ſ"));
        assertEquals(List.of("'s", "s"), splitterPieces("'ss"));
        assertEquals(List.of("'l", " x"), splitterPieces("'l x"));
        assertEquals(List.of("'lv"), splitterPieces("'lv"));
        assertEquals(List.of("'", "1"), splitterPieces("'1"));
        assertEquals(List.of("’s"), splitterPieces("’s"));
        assertEquals(List.of(" '", "ll"), splitterPieces(" 'll"));
    }

    @Test
    void leavesTheLastSpaceOfARunToTheNextPieceAndBreaksAfterTheLastNewline() {
        assertEquals(List.of("a", "  ", " b"), splitterPieces("a   b"));
        assertEquals(List.of("a", "  \n", " ", " b"), splitterPieces("a  \n  b"));
        assertEquals(List.of("a", " \r\n\r\n"), splitterPieces("a \r\n\r\n"));
        assertEquals(List.of("a", "   "), splitterPieces("a   "));
        assertEquals(List.of(" ", "1"), splitterPieces(" 1"));
        assertEquals(List.of("  ", " ", "1"), splitterPieces("   1"));
        assertEquals(List.of("\t", "\tx"), splitterPieces("\t\tx"));
        assertEquals(List.of("\n", "x"), splitterPieces("\nx"));
        assertEquals(List.of(" !!!\n\n", "x"), splitterPieces(" !!!\n\nx"));
        assertEquals(List.of("123", "4"), splitterPieces("1234"));
    }

    private static void assertSplitsLikeTheReferences(String text) {
        List<String> pieces = splitterPieces(text);
        assertEquals(regexPieces(text), pieces, () -> escape(text));
        if (isWellFormed(text)) {
            int sum = 0;
            for (String piece : pieces) {
                sum += CL100K.countTokensOrdinary(piece);
            }
            assertEquals(CL100K.countTokensOrdinary(text), sum, () -> escape(text) + " " + pieces);
        }
    }

    private static boolean isWellFormed(String text) {
        return StandardCharsets.UTF_8.newEncoder().canEncode(text);
    }

    private static List<String> regexPieces(String text) {
        List<String> pieces = new ArrayList<>();
        Matcher m = REGEX.matcher(text);
        int covered = 0;
        while (m.find()) {
            if (m.start() != covered) {
                pieces.add("<skipped " + covered + ".." + m.start() + ">");
            }
            pieces.add(m.group());
            covered = m.end();
        }
        if (covered != text.length()) {
            pieces.add("<skipped " + covered + ".." + text.length() + ">");
        }
        return pieces;
    }

    private static List<String> splitterPieces(String text) {
        List<String> pieces = new ArrayList<>();
        for (int pos = 0; pos < text.length(); ) {
            int end = Cl100kSplitter.next(text, pos);
            pieces.add(text.substring(pos, end));
            pos = end;
        }
        return pieces;
    }

    private static String escape(String s) {
        StringBuilder sb = new StringBuilder();
        s.codePoints().forEach(cp -> sb.append(cp < 0x20 || cp > 0x7E ? String.format("\\u{%X}", cp) : Character.toString(cp)));
        return sb.toString();
    }
}
