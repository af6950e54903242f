package dev.tokenwise.providers.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class O200kSplitterTest {
    /** The o200k_base pre-tokenizer as jtokkit compiles it. */
    private static final Pattern REGEX = Pattern.compile(O200kSplitter.PATTERN, O200kSplitter.FLAGS);

    /** Characters that exercise every class and every give-back of the expression. */
    private static final String[] ALPHABET = {
            "a", "z", "A", "Z", "s", "S", "t", "d", "m", "l", "r", "v", "e", "'", "'", " ", " ", "  ", "\t", "\n",
            "\r", "\r\n", "\u000B", "\f", "\u0085", "\u00A0", "\u2028", "\u2029", "\u3000", "0", "7", "½", "²",
            "Ⅻ", "٣", ".", ",", "/", "//", "-", "_", "!", "?", "(", ")", "{", "}", "\"", "#", "@", "é", "É", "ß",
            "ſ", "ǅ", "ʰ", "ˆ", "中", "文", "お", "カ", "한", "ф", "Ж", "ا", "\u0301", "\u0308", "\u20DD", "\u0903",
            "😀", "👍🏽", "🇩🇪", "‍", "\uFE0F", "𝒜", "𝒶", "\uD800", "\uDC00", "€", "—", "’", "\u0000", "\u007F"};

    @Test
    void implementsTheExpressionJtokkitUsesForO200k() throws Exception {
        Encoding o200k = Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.O200K_BASE);
        Field field = o200k.getClass().getDeclaredField("pattern");
        field.setAccessible(true);
        Pattern jtokkit = (Pattern) field.get(o200k);
        assertEquals(O200kSplitter.PATTERN, jtokkit.pattern());
        assertEquals(O200kSplitter.FLAGS, jtokkit.flags());
    }

    @Test
    void splitsExactlyLikeTheRegexOnTheCorpus() {
        for (String text : PieceCounterTest.CORPUS) {
            assertEquals(regexPieces(text), splitterPieces(text), text);
        }
    }

    @Test
    void splitsExactlyLikeTheRegexOnEveryPairAndTripleOfTheAlphabet() {
        for (String a : ALPHABET) {
            for (String b : ALPHABET) {
                String two = a + b;
                assertEquals(regexPieces(two), splitterPieces(two), () -> escape(two));
                for (String c : ALPHABET) {
                    String three = a + b + c;
                    assertEquals(regexPieces(three), splitterPieces(three), () -> escape(three));
                }
            }
        }
    }

    @Test
    void splitsExactlyLikeTheRegexOnRandomStrings() {
        SplittableRandom random = new SplittableRandom(7);
        for (int i = 0; i < 50_000; i++) {
            StringBuilder sb = new StringBuilder();
            int length = random.nextInt(24);
            for (int j = 0; j < length; j++) {
                sb.append(ALPHABET[random.nextInt(ALPHABET.length)]);
            }
            String text = sb.toString();
            assertEquals(regexPieces(text), splitterPieces(text), () -> escape(text));
        }
    }

    @Test
    void splitsExactlyLikeTheRegexOnRandomCodePointsOfEveryPlane() {
        SplittableRandom random = new SplittableRandom(11);
        for (int i = 0; i < 20_000; i++) {
            StringBuilder sb = new StringBuilder();
            int length = random.nextInt(12);
            for (int j = 0; j < length; j++) {
                int cp = random.nextInt(4) == 0 ? random.nextInt(0x80) : random.nextInt(0x30000);
                sb.appendCodePoint(cp);
            }
            String text = sb.toString();
            assertEquals(regexPieces(text), splitterPieces(text), () -> escape(text));
        }
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
        return pieces;
    }

    private static List<String> splitterPieces(String text) {
        List<String> pieces = new ArrayList<>();
        for (int pos = 0; pos < text.length(); ) {
            int end = O200kSplitter.next(text, pos);
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
