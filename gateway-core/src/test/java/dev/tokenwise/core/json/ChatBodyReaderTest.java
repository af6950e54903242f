package dev.tokenwise.core.json;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.ArrayList;
import org.junit.jupiter.api.Test;

class ChatBodyReaderTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static final List<String> BODIES = List.of(
            "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},"
                    + "{\"role\":\"user\",\"content\":\"Hi \\\"there\\\" \\u00e9\\n\"}],\"max_tokens\":12}",
            " { \"messages\" : [ ] , \"stream\" : true } ",
            "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"日本語 🎉\"},"
                    + "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,AAAA\",\"detail\":\"low\"}}]}]}",
            "{\"messages\":[\"a \\\" string\",12,-3.5e7,true,false,null,[1,[2]],{}],\"n\":1}",
            "{\"messages\":[12345678901234567890123, 0.1, 1e400]}",
            "{\"messages\":{\"not\":\"an array\"},\"temperature\":0.2,\"seed\":9007199254740993}",
            "{\"model\":\"m\",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{}}}],"
                    + "\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c\",\"type\":\"function\","
                    + "\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},{\"role\":\"tool\",\"tool_call_id\":\"c\",\"content\":\"ok\"}]}",
            "{\"messages\":[\n  {\"role\":\"user\",\n   \"content\":\"spaced\"}\n ,\n {\"role\":\"user\",\"content\":\"\"} ]}",
            "[1,2]",
            "\"text\"",
            "{}");

    private static JsonNode read(String body) throws Exception {
        return ChatBodyReader.read(JSON.getFactory(), body.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void readsEveryBodyIntoTheTreeReadTreeMakesWithTheSameNodeTypes() throws Exception {
        for (String body : BODIES) {
            JsonNode expected = JSON.readTree(body);
            JsonNode actual = read(body);
            assertEquals(expected, actual, body);
            assertEquals(expected.toString(), actual.toString(), body);
            assertSameTypes(expected, actual, body);
        }
    }

    @Test
    void refusesATopLevelFieldNamedTwiceNamingIt() {
        for (String field : List.of("model", "max_tokens", "messages", "stream")) {
            String body = "{\"" + field + "\":1,\"messages\":[],\"x\":2,\"" + field + "\":3}";
            if (field.equals("messages")) {
                body = "{\"messages\":[{\"role\":\"user\",\"content\":\"first\"}],\"messages\":[]}";
            }
            String b = body;
            JsonProcessingException e = assertThrows(JsonProcessingException.class, () -> read(b), body);
            assertEquals("Duplicate field '" + field + "'", e.getOriginalMessage(), body);
            assertThrows(JsonProcessingException.class,
                    () -> ChatBodyReader.readStrict(JSON.getFactory(), b.getBytes(StandardCharsets.UTF_8)), body);
        }
    }

    @Test
    void refusesContentAfterTheBodyAndNumbersBeyondADouble() {
        for (String body : List.of("{\"model\":\"a\",\"messages\":[]}{\"model\":\"b\"}", "{\"messages\":[]} x",
                "{\"messages\":[],\"temperature\":1e400}", "{\"model\":\"m\",\"input\":[-1e999]}")) {
            assertThrows(JsonProcessingException.class, () -> read(body), body);
            assertThrows(JsonProcessingException.class,
                    () -> ChatBodyReader.readStrict(JSON.getFactory(), body.getBytes(StandardCharsets.UTF_8)), body);
        }
    }

    @Test
    void refusesBodiesInUtf16OrUtf32() throws Exception {
        String body = "{\"model\":\"m\",\"messages\":[]}";
        for (java.nio.charset.Charset charset : List.of(StandardCharsets.UTF_16, StandardCharsets.UTF_16LE,
                StandardCharsets.UTF_16BE, java.nio.charset.Charset.forName("UTF-32"))) {
            byte[] bytes = body.getBytes(charset);
            assertTrue(JSON.readTree(bytes).has("model"), "a parser reads it as " + charset);
            assertThrows(JsonProcessingException.class, () -> ChatBodyReader.requireUtf8(bytes), charset.name());
        }
        ChatBodyReader.requireUtf8(body.getBytes(StandardCharsets.UTF_8));
        ChatBodyReader.requireUtf8(("\uFEFF" + body).getBytes(StandardCharsets.UTF_8)); // UTF-8 with a mark is UTF-8
    }

    private static void assertSameTypes(JsonNode expected, JsonNode actual, String where) {
        assertEquals(expected.getClass(), actual.getClass() == RawArrayNode.class
                ? com.fasterxml.jackson.databind.node.ArrayNode.class : actual.getClass(), where);
        for (int i = 0; i < expected.size(); i++) {
            if (expected.isArray()) {
                assertSameTypes(expected.get(i), actual.get(i), where);
            }
        }
        expected.fieldNames().forEachRemaining(name -> assertSameTypes(expected.get(name), actual.get(name), where));
    }

    @Test
    void keepsTheMessagesAsBytesUntilOneIsRead() throws Exception {
        String body = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"é\"} , [1, 2] ,\"s\\\"\", 7, null]}";
        ObjectNode root = (ObjectNode) read(body);
        RawArrayNode messages = assertInstanceOf(RawArrayNode.class, root.get("messages"));
        assertFalse(messages.isParsed());
        assertEquals(5, messages.size());
        assertFalse(messages.isParsed(), "size() reads no element");
        byte[] source = messages.source();
        List<String> spans = new ArrayList<>();
        for (int i = 0; i < messages.rawSize(); i++) {
            spans.add(new String(source, messages.elementStart(i), messages.elementEnd(i) - messages.elementStart(i),
                    StandardCharsets.UTF_8));
        }
        assertEquals(List.of("{\"role\":\"user\",\"content\":\"é\"}", "[1, 2]", "\"s\\\"\"", "7", "null"), spans);
        assertEquals("user", messages.get(0).get("role").asText());
        assertTrue(messages.isParsed());
    }

    @Test
    void writesUnreadMessagesAsTheirOriginalBytesAndChangedOnesAsNodes() throws Exception {
        String body = "{\"model\":\"m\",\"messages\":[ {\"role\" : \"user\",\"content\":\"x\"} ]}";
        ObjectNode root = (ObjectNode) read(body);
        root.put("model", "upstream");
        root.putObject("stream_options").put("include_usage", true);
        assertEquals("{\"model\":\"upstream\",\"messages\":[ {\"role\" : \"user\",\"content\":\"x\"} ],"
                + "\"stream_options\":{\"include_usage\":true}}", new String(JSON.writeValueAsBytes(root), StandardCharsets.UTF_8));
        assertEquals("{\"model\":\"upstream\",\"messages\":[ {\"role\" : \"user\",\"content\":\"x\"} ],"
                + "\"stream_options\":{\"include_usage\":true}}", JSON.writeValueAsString(root));

        ((ObjectNode) root.get("messages").get(0)).put("content", "changed");
        ((com.fasterxml.jackson.databind.node.ArrayNode) root.get("messages")).addObject().put("role", "assistant");
        assertEquals("{\"model\":\"upstream\",\"messages\":[{\"role\":\"user\",\"content\":\"changed\"},{\"role\":\"assistant\"}],"
                + "\"stream_options\":{\"include_usage\":true}}", JSON.writeValueAsString(root));
    }

    @Test
    void aDeepCopyOfUnreadMessagesSharesTheBytesAndIsIndependentOnceChanged() throws Exception {
        ObjectNode root = (ObjectNode) read("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
        ObjectNode copy = root.deepCopy();
        RawArrayNode copied = assertInstanceOf(RawArrayNode.class, copy.get("messages"));
        assertFalse(copied.isParsed());
        ((ObjectNode) root.get("messages").get(0)).put("content", "changed");
        assertEquals("x", copy.get("messages").get(0).get("content").asText());
        assertEquals(JSON.readTree("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}"), copy);
    }

    @Test
    void failsOnMalformedBodiesWithReadTreesComplaintAndLocation() {
        for (String body : List.of("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}",
                "{\"messages\":[{\"role\":\"user\" \"content\":\"x\"}]}",
                "{\"messages\":[{\"role\":\"user\",\"content\":\"x\u0001\"}]}",
                "{\"messages\":[{\"role\":\"user\",\"content\":\"\\q\"}]}",
                "{\"messages\":[tru]}",
                "{\"messages\":[1,]}",
                "{\"model\":\"m\",}",
                "{\"messages\":[{\"a\":01}]}")) {
            JsonProcessingException expected = assertThrows(JsonProcessingException.class, () -> JSON.readTree(body), body);
            JsonProcessingException actual = assertThrows(JsonProcessingException.class, () -> read(body), body);
            // The same complaint; only the hint after it may be worded differently (a trailing comma).
            assertEquals(complaint(expected), complaint(actual), body);
            assertEquals(expected.getLocation().getLineNr(), actual.getLocation().getLineNr(), body);
            assertEquals(expected.getLocation().getColumnNr(), actual.getLocation().getColumnNr(), body);
        }
    }

    private static String complaint(JsonProcessingException e) {
        String message = e.getOriginalMessage();
        int hint = message.indexOf("): expected");
        return hint < 0 ? message : message.substring(0, hint);
    }

    @Test
    void rejectsInvalidUtf8InsideUnreadMessages() {
        byte[] body = "{\"messages\":[{\"content\":\"ab\"}]}".getBytes(StandardCharsets.UTF_8);
        body[body.length - 5] = (byte) 0xC3; // a lead byte followed by an ASCII byte
        assertThrows(JsonProcessingException.class, () -> JSON.readTree(body));
        assertThrows(JsonProcessingException.class, () -> ChatBodyReader.read(JSON.getFactory(), body));
    }

    @Test
    void refusesAnEncodedSurrogateInUnreadMessagesAsReadTreeDoes() {
        // ED A0 80 is U+D800 encoded as if it were a character: skipping a string lets it through, reading does not.
        for (int at : new int[] {0, 3, 7, 8, 13}) {
            String filler = "x".repeat(at);
            byte[] body = ("{\"messages\":[{\"content\":\"" + filler + "###y\"}]}").getBytes(StandardCharsets.UTF_8);
            int mark = ("{\"messages\":[{\"content\":\"" + filler).length();
            body[mark] = (byte) 0xED;
            body[mark + 1] = (byte) 0xA0;
            body[mark + 2] = (byte) 0x80;
            JsonProcessingException expected = assertThrows(JsonProcessingException.class, () -> JSON.readTree(body));
            JsonProcessingException actual = assertThrows(JsonProcessingException.class,
                    () -> ChatBodyReader.read(JSON.getFactory(), body), "at " + at);
            assertEquals(expected.getOriginalMessage(), actual.getOriginalMessage());
            assertEquals(expected.getLocation().getColumnNr(), actual.getLocation().getColumnNr());
        }
    }

    @Test
    void findsEncodedSurrogatesAtEveryOffsetAndNothingInOrdinaryText() {
        byte[] text = "plain text, é, 日本語, 🎉, \uD83C\uDF89 escaped".repeat(3).getBytes(StandardCharsets.UTF_8);
        assertFalse(ChatBodyReader.hasEncodedSurrogate(text, 0, text.length));
        byte[] ed = {(byte) 0xED, (byte) 0x9F, (byte) 0xBF}; // U+D7FF: the last character before the surrogates
        assertFalse(ChatBodyReader.hasEncodedSurrogate(ed, 0, ed.length));
        for (int at = 0; at < 20; at++) {
            byte[] b = new byte[24];
            java.util.Arrays.fill(b, (byte) 'a');
            b[at] = (byte) 0xED;
            b[at + 1] = (byte) 0xBF;
            b[at + 2] = (byte) 0xBF;
            assertTrue(ChatBodyReader.hasEncodedSurrogate(b, 0, b.length), "at " + at);
            assertFalse(ChatBodyReader.hasEncodedSurrogate(b, at + 1, b.length), "from " + (at + 1));
        }
    }

    @Test
    void readsRandomBodiesAndTheirCorruptionsExactlyAsReadTreeDoes() throws Exception {
        java.util.Random random = new java.util.Random(20261202);
        int scanned = 0;
        for (int n = 0; n < 2_000; n++) {
            String body = randomBody(random);
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            assertSameAsReadTree(bytes, body);
            if (JsonScanner.locateArray(bytes, "messages".getBytes(StandardCharsets.US_ASCII)) != null) {
                scanned++;
            }
            for (int m = 0; m < 4; m++) {
                byte[] corrupt = corrupt(bytes, random);
                assertSameAsReadTree(corrupt, new String(corrupt, StandardCharsets.ISO_8859_1));
            }
        }
        assertTrue(scanned > 1_500, "the scanner took only " + scanned + " of 2000 well-formed bodies");
    }

    /** The same tree with the same node types, or the same complaint at the same place. */
    private static void assertSameAsReadTree(byte[] body, String where) throws Exception {
        JsonNode expected;
        try {
            expected = JSON.readTree(body);
        } catch (JsonProcessingException e) {
            JsonProcessingException actual = assertThrows(JsonProcessingException.class,
                    () -> ChatBodyReader.read(JSON.getFactory(), body), where);
            if (actual.getOriginalMessage().startsWith("Duplicate field '")
                    || actual.getOriginalMessage().startsWith("Number out of range")) {
                return; // stricter, and found before the parser reached the error further on
            }
            assertEquals(complaint(e), complaint(actual), where);
            assertEquals(e.getLocation().getLineNr(), actual.getLocation().getLineNr(), where);
            assertEquals(e.getLocation().getColumnNr(), actual.getLocation().getColumnNr(), where);
            return;
        }
        JsonNode actual;
        try {
            actual = ChatBodyReader.read(JSON.getFactory(), body);
        } catch (JsonProcessingException stricter) {
            // readTree keeps the last of a repeated field and reads on past the root value: the reader refuses both.
            String message = stricter.getOriginalMessage();
            assertTrue(message.startsWith("Duplicate field '") && topLevelCount(body, message.substring(17,
                    message.length() - 1)) > 1 || message.startsWith("Unexpected content after")
                    || message.startsWith("Number out of range"), where + ": " + message);
            return;
        }
        assertEquals(expected, actual, where);
        assertEquals(expected.toString(), actual.toString(), where);
        assertSameTypes(expected, actual, where);
        if (actual.get("messages") instanceof RawArrayNode raw && !raw.isParsed()) {
            for (int i = 0; i < raw.rawSize(); i++) {
                assertEquals(expected.get("messages").get(i), raw.parseElement(i), where);
            }
        }
    }

    /** How often {@code name} is a field of the root object of {@code body}. */
    private static int topLevelCount(byte[] body, String name) throws Exception {
        int count = 0;
        try (com.fasterxml.jackson.core.JsonParser p = JSON.getFactory().createParser(body)) {
            p.nextToken();
            while (p.nextToken() == com.fasterxml.jackson.core.JsonToken.FIELD_NAME) {
                count += name.equals(p.currentName()) ? 1 : 0;
                p.nextToken();
                p.skipChildren();
            }
        }
        return count;
    }

    private static byte[] corrupt(byte[] body, java.util.Random random) {
        byte[] nasty = {'"', '\\', ',', ':', '{', '}', '[', ']', '0', '-', '.', 'e', 'n', ' ', '\n', 0, 1, 0x1F, 0x7F,
                (byte) 0x80, (byte) 0xC0, (byte) 0xC3, (byte) 0xE0, (byte) 0xED, (byte) 0xA0, (byte) 0xF4, (byte) 0xF5,
                (byte) 0xFF};
        int at = random.nextInt(body.length + 1);
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        out.write(body, 0, at);
        switch (random.nextInt(3)) {
            case 0 -> out.write(nasty[random.nextInt(nasty.length)]); // insert
            case 1 -> { // replace
                out.write(nasty[random.nextInt(nasty.length)]);
                at = Math.min(body.length, at + 1);
            }
            default -> at = Math.min(body.length, at + 1 + random.nextInt(3)); // delete
        }
        out.write(body, at, body.length - at);
        return out.toByteArray();
    }

    private static String randomBody(java.util.Random random) {
        StringBuilder b = new StringBuilder();
        b.append(space(random)).append('{').append(space(random));
        List<String> fields = new ArrayList<>(List.of("\"model\":" + space(random) + "\"gpt-4o-mini\"", messages(random)));
        for (int i = random.nextInt(4); i > 0; i--) {
            fields.add(key(random) + space(random) + ":" + space(random) + value(random, 0));
        }
        java.util.Collections.shuffle(fields, random);
        for (int i = 0; i < fields.size(); i++) {
            String field = fields.get(i);
            b.append(i == 0 ? "" : "," + space(random)).append(field).append(space(random));
        }
        return b.append('}').append(space(random)).toString();
    }

    private static String messages(java.util.Random random) {
        StringBuilder b = new StringBuilder("\"messages\"").append(space(random)).append(':').append(space(random)).append('[');
        int n = random.nextInt(6);
        for (int i = 0; i < n; i++) {
            b.append(i == 0 ? space(random) : "," + space(random));
            if (random.nextInt(8) == 0) {
                b.append(value(random, 1));
            } else {
                b.append("{\"role\":").append(space(random)).append(random.nextBoolean() ? "\"user\"" : "\"assistant\"")
                        .append(",").append(space(random)).append("\"content\":").append(space(random))
                        .append(random.nextInt(4) == 0 ? value(random, 2) : quoted(random)).append('}');
            }
            b.append(space(random));
        }
        return b.append(']').toString();
    }

    private static String value(java.util.Random random, int depth) {
        int kind = random.nextInt(depth > 3 ? 6 : 8);
        return switch (kind) {
            case 0, 1 -> quoted(random);
            case 2 -> number(random);
            case 3 -> "true";
            case 4 -> "false";
            case 5 -> "null";
            case 6 -> {
                StringBuilder b = new StringBuilder("[").append(space(random));
                for (int i = random.nextInt(4); i > 0; i--) {
                    b.append(value(random, depth + 1)).append(space(random)).append(i > 1 ? "," + space(random) : "");
                }
                yield b.append(']').toString();
            }
            default -> {
                StringBuilder b = new StringBuilder("{").append(space(random));
                for (int i = random.nextInt(4); i > 0; i--) {
                    b.append(key(random)).append(space(random)).append(':').append(space(random))
                            .append(value(random, depth + 1)).append(space(random)).append(i > 1 ? "," + space(random) : "");
                }
                yield b.append('}').toString();
            }
        };
    }

    /** Mostly the plain keys of chat bodies; now and then any string, which the scanner leaves to Jackson. */
    private static String key(java.util.Random random) {
        String[] keys = {"\"type\"", "\"text\"", "\"name\"", "\"id\"", "\"arguments\"", "\"detail\"", "\"\"", "\"a b\""};
        return random.nextInt(50) == 0 ? quoted(random) : keys[random.nextInt(keys.length)];
    }

    private static String number(java.util.Random random) {
        String[] numbers = {"0", "-0", "7", "-12", "3.25", "-0.5", "1e5", "2E-3", "6.02e+23", "12345678901234567890123",
                "1e400", "9007199254740993", "0.000001"};
        return numbers[random.nextInt(numbers.length)];
    }

    private static String quoted(java.util.Random random) {
        String[] pieces = {"a", "Hello", " world", "\\n", "\\\"", "\\\\", "\\/", "\\t", "\\u00e9", "\\uD83C\\uDF89", "é",
                "日本語", "🎉", "ß", "\u007f", "x".repeat(20), ", ", "{[:]}"};
        StringBuilder b = new StringBuilder("\"");
        for (int i = random.nextInt(12); i > 0; i--) {
            b.append(pieces[random.nextInt(pieces.length)]);
        }
        return b.append('"').toString();
    }

    private static String space(java.util.Random random) {
        String[] spaces = {"", "", "", " ", "\n  ", "\t", "\r\n"};
        return spaces[random.nextInt(spaces.length)];
    }

    @Test
    void readsAnEmptyBodyAsTheMissingNodeReadTreeReturns() throws Exception {
        assertEquals(JSON.readTree("  "), read("  "));
    }

    @Test
    void parsesTheMessagesOnceWhenThreadsReadThemTogether() throws Exception {
        StringBuilder body = new StringBuilder("{\"messages\":[");
        for (int i = 0; i < 200; i++) {
            body.append(i == 0 ? "" : ",").append("{\"role\":\"user\",\"content\":\"message ").append(i).append("\"}");
        }
        String text = body.append("]}").toString();
        JsonNode expected = JSON.readTree(text).get("messages");
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            for (int round = 0; round < 50; round++) {
                JsonNode messages = read(text).get("messages");
                CountDownLatch go = new CountDownLatch(1);
                List<Future<JsonNode>> seen = new ArrayList<>();
                for (int t = 0; t < 4; t++) {
                    seen.add(pool.submit(() -> {
                        go.await();
                        return messages.get(199);
                    }));
                }
                go.countDown();
                JsonNode first = seen.get(0).get();
                for (Future<JsonNode> f : seen) {
                    assertTrue(first == f.get(), "every thread sees the same parsed nodes");
                }
                assertEquals(expected, messages);
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
