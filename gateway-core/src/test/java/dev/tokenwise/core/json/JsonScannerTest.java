package dev.tokenwise.core.json;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class JsonScannerTest {

    @Test
    void findsTheFirstBackslashOrNonAsciiByteAtAnyPosition() {
        for (int length = 0; length <= 40; length++) {
            byte[] text = "x".repeat(length).getBytes(StandardCharsets.US_ASCII);
            assertEquals(length, JsonScanner.plainEnd(text, 0, length), "length " + length);
            for (int at = 0; at < length; at++) {
                for (byte odd : new byte[] {'\\', (byte) 0x80, (byte) 0xC3, (byte) 0xFF}) {
                    byte[] b = text.clone();
                    b[at] = odd;
                    String where = "byte " + (odd & 0xFF) + " at " + at + " of " + length;
                    assertEquals(at, JsonScanner.plainEnd(b, 0, length), where);
                    // only the range counts; a second one later is not the first
                    assertEquals(length, JsonScanner.plainEnd(b, at + 1, length), where);
                    assertEquals(at, JsonScanner.plainEnd(b, 0, at), where);
                    if (at + 3 < length) {
                        b[at + 3] = '\\';
                        assertEquals(at, JsonScanner.plainEnd(b, 0, length), where + ", another after it");
                    }
                }
            }
        }
    }

    @Test
    void everyAsciiCharacterButTheBackslashIsPlain() {
        byte[] b = new byte[127];
        for (int c = 1; c < 128; c++) {
            b[c - 1] = (byte) c;
        }
        int backslash = '\\' - 1;
        assertEquals(backslash, JsonScanner.plainEnd(b, 0, b.length));
        assertEquals(b.length, JsonScanner.plainEnd(b, backslash + 1, b.length));
    }
}
