package dev.tokenwise.providers.openai;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The byte pass of the completion scanner against its Jackson pass: whatever the byte pass reads, it reads
 * exactly as the Jackson pass does (text, usage, finish reason, empty choices), and whatever it leaves, it
 * leaves untouched.
 */
class CompletionBytesTest {
    private static final String PREFIX = "earlier text|";

    /** A chat completion as OpenAI sends it, with a tool call and every usage detail. */
    static final String COMPLETION = """
            {"id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG", "object": "chat.completion", "created": 1741570283,
             "model": "gpt-4o-2024-08-06", "choices": [{"index": 0, "message": {"role": "assistant",
             "content": "The image shows a wooden boardwalk \\u2014 \\"lush\\" grass\\nand a blue sky. 🌿 Ünïcödé",
             "refusal": null, "annotations": [], "tool_calls": [{"id": "call_1", "type": "function",
             "function": {"arguments": "{\\"city\\": \\"Paris\\"}", "name": "get_weather"}}]},
             "logprobs": null, "finish_reason": "tool_calls"}], "usage": {"prompt_tokens": 1117,
             "completion_tokens": 46, "total_tokens": 1163, "prompt_tokens_details": {"cached_tokens": 1024,
             "audio_tokens": 0}, "completion_tokens_details": {"reasoning_tokens": 12, "audio_tokens": 0,
             "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}, "service_tier": "default",
             "system_fingerprint": "fp_fc9f1d7035"}""";

    @Test
    void readsARealCompletionInTheBytePassExactlyAsTheParserDoes() {
        byte[] b = COMPLETION.getBytes(StandardCharsets.UTF_8);
        assertTrue(compare(b, false), "the byte pass reads it");
        CompletionBytes pass = new CompletionBytes();
        StringBuilder text = new StringBuilder();
        assertTrue(pass.scan(b, 0, b.length, false, text));
        assertEquals("The image shows a wooden boardwalk \u2014 \"lush\" grass\nand a blue sky. 🌿 Ünïcödé"
                + "get_weather{\"city\": \"Paris\"}", text.toString());
        assertEquals("tool_calls", pass.finishReason);
        assertEquals(1117, pass.usage.inputTokens());
        assertEquals(1024, pass.usage.cachedInputTokens());
        assertEquals(12, pass.usage.reasoningTokens());
        assertEquals(dev.tokenwise.core.model.ServiceTier.STANDARD, pass.serviceTier, "service_tier: default");
    }

    @Test
    void readsOnlyTheBytesItIsGivenWithinALargerArray() {
        byte[] inner = "{\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}".getBytes(StandardCharsets.UTF_8);
        byte[] b = new byte[inner.length + 20];
        Arrays.fill(b, (byte) '}');
        System.arraycopy(inner, 0, b, 10, inner.length);
        CompletionBytes pass = new CompletionBytes();
        StringBuilder text = new StringBuilder();
        assertTrue(pass.scan(b, 10, 10 + inner.length, true, text));
        assertEquals("hi", text.toString());
        assertFalse(pass.scan(b, 10, 10 + inner.length - 1, true, new StringBuilder()), "cut short");
    }

    @Test
    void agreesWithTheParserOnGeneratedPayloadsAndTheirCorruptions() {
        SplittableRandom random = new SplittableRandom(20261202);
        int read = 0;
        int parsed = 0;
        for (int n = 0; n < 6_000; n++) {
            boolean chunk = random.nextBoolean();
            byte[] b = payload(random, chunk).getBytes(StandardCharsets.UTF_8);
            if (new ChatCompletionScanner().scanWithParser(b, 0, b.length, chunk, new StringBuilder())) {
                parsed++;
            }
            if (compare(b, chunk)) {
                read++;
            }
            for (int k = 0; k < 3; k++) {
                compare(corrupt(random, b), chunk);
            }
        }
        // Most payloads the parser reads are in the byte pass's subset (the others have what it leaves on purpose).
        assertTrue(read > parsed * 3 / 4, "read " + read + " of the " + parsed + " the parser read");
    }

    /** Runs both passes; fails when the byte pass read something differently. Returns whether the byte pass read it. */
    private static boolean compare(byte[] b, boolean chunk) {
        CompletionBytes bytes = new CompletionBytes();
        StringBuilder bytesText = new StringBuilder(PREFIX);
        boolean read = bytes.scan(b, 0, b.length, chunk, bytesText);
        String input = new String(b, StandardCharsets.UTF_8);
        if (!read) {
            assertEquals(PREFIX, bytesText.toString(), () -> "left untouched: " + input);
            return false;
        }
        ChatCompletionScanner parser = new ChatCompletionScanner();
        StringBuilder parserText = new StringBuilder(PREFIX);
        assertTrue(parser.scanWithParser(b, 0, b.length, chunk, parserText), () -> "the parser reads it too: " + input);
        assertEquals(parserText.toString(), bytesText.toString(), () -> "text of " + input);
        assertEquals(parser.usage, bytes.usage, () -> "usage of " + input);
        assertEquals(parser.finishReason, bytes.finishReason, () -> "finish reason of " + input);
        assertEquals(parser.choicesEmpty, bytes.choicesEmpty, () -> "empty choices of " + input);
        assertEquals(parser.serviceTier, bytes.serviceTier, () -> "service tier of " + input);
        return true;
    }

    private static byte[] corrupt(SplittableRandom random, byte[] b) {
        byte[] pool = "{}[]\",:\\0-1e.tnfu \n\u0001x".getBytes(StandardCharsets.ISO_8859_1);
        byte[] extra = {(byte) 0x80, (byte) 0xC3, (byte) 0xE2, (byte) 0xED, (byte) 0xF0, (byte) 0xFF};
        int at = random.nextInt(b.length);
        byte with = random.nextInt(4) == 0 ? extra[random.nextInt(extra.length)] : pool[random.nextInt(pool.length)];
        switch (random.nextInt(3)) {
            case 0 -> {
                byte[] c = b.clone();
                c[at] = with;
                return c;
            }
            case 1 -> {
                byte[] c = new byte[b.length - 1];
                System.arraycopy(b, 0, c, 0, at);
                System.arraycopy(b, at + 1, c, at, b.length - at - 1);
                return c;
            }
            default -> {
                byte[] c = new byte[b.length + 1];
                System.arraycopy(b, 0, c, 0, at);
                c[at] = with;
                System.arraycopy(b, at, c, at + 1, b.length - at);
                return c;
            }
        }
    }

    // --- generated payloads: an OpenAI-like shape, with the variations each pass must agree on ---

    private static String payload(SplittableRandom r, boolean chunk) {
        Obj root = new Obj(r);
        root.put("id", str(r));
        root.put("object", r.nextInt(20) == 0 ? (chunk ? "\"response\"" : "\"response\"")
                : r.nextInt(20) == 0 ? "\"res\\u0070onse\"" : chunk ? "\"chat.completion.chunk\"" : "\"chat.completion\"");
        if (r.nextInt(15) == 0) {
            root.put("type", r.nextBoolean() ? "\"response.output_text.delta\"" : r.nextBoolean() ? "\"responses\"" : "7");
        }
        root.put("created", String.valueOf(r.nextLong(2_000_000_000L)));
        root.put("model", "\"gpt-4o-mini\"");
        if (r.nextInt(8) != 0) {
            StringBuilder choices = new StringBuilder("[");
            int count = r.nextInt(4);
            for (int i = 0; i < count; i++) {
                choices.append(i == 0 ? "" : ",").append(ws(r)).append(r.nextInt(12) == 0 ? junk(r, 2) : choice(r, chunk));
            }
            root.put("choices", choices.append(ws(r)).append(']').toString());
        } else if (r.nextBoolean()) {
            root.put("choices", junk(r, 2));
        }
        if (r.nextInt(3) != 0) {
            root.put("usage", r.nextInt(10) == 0 ? junk(r, 2) : usage(r));
        }
        if (r.nextInt(3) == 0) {
            String[] tiers = {"\"default\"", "\"flex\"", "\"priority\"", "\"batch\"", "\"scale\"", "\"fl\\u0065x\"",
                    "\"flexible\"", "null", "3", "{}"};
            root.put("service_tier", tiers[r.nextInt(tiers.length)]);
        }
        if (r.nextInt(4) == 0) {
            root.put("system_fingerprint", r.nextBoolean() ? "null" : str(r));
        }
        if (r.nextInt(5) == 0) {
            root.put("extra", junk(r, 3));
        }
        return ws(r) + root + ws(r);
    }

    private static String choice(SplittableRandom r, boolean chunk) {
        Obj c = new Obj(r);
        c.put("index", String.valueOf(r.nextInt(3)));
        String field = r.nextInt(15) == 0 ? (chunk ? "message" : "delta") : chunk ? "delta" : "message";
        if (r.nextInt(10) != 0) {
            Obj m = new Obj(r);
            m.put("role", "\"assistant\"");
            int content = r.nextInt(10);
            m.put("content", content < 7 ? str(r) : content == 7 ? "null" : junk(r, 1));
            if (r.nextInt(4) == 0) {
                StringBuilder calls = new StringBuilder("[");
                int count = r.nextInt(3);
                for (int i = 0; i < count; i++) {
                    Obj call = new Obj(r);
                    call.put("id", str(r));
                    Obj function = new Obj(r);
                    if (r.nextInt(5) != 0) {
                        function.put("name", r.nextInt(8) == 0 ? "3" : str(r));
                    }
                    if (r.nextInt(5) != 0) {
                        function.put("arguments", str(r));
                    }
                    call.put("function", r.nextInt(10) == 0 ? "null" : function.toString());
                    calls.append(i == 0 ? "" : ",").append(r.nextInt(10) == 0 ? "null" : call.toString());
                }
                m.put("tool_calls", r.nextInt(15) == 0 ? "{\"0\": 1}" : calls.append(']').toString());
            }
            c.put(field, r.nextInt(20) == 0 ? "[]" : m.toString());
        }
        if (r.nextInt(5) != 0) {
            c.put("finish_reason", r.nextInt(4) == 0 ? "null" : r.nextInt(10) == 0 ? "1" : str(r));
        }
        c.put("logprobs", r.nextBoolean() ? "null" : junk(r, 2));
        return c.toString();
    }

    private static String usage(SplittableRandom r) {
        Obj u = new Obj(r);
        String[] fields = {"prompt_tokens", "input_tokens", "completion_tokens", "output_tokens", "total_tokens",
            "prompt_cache_hit_tokens", "prompt_cache_miss_tokens"};
        for (String f : fields) {
            if (r.nextInt(3) != 0) {
                u.put(f, tokenValue(r));
            }
        }
        String[][] details = {{"prompt_tokens_details", "cached_tokens"}, {"input_tokens_details", "cached_tokens"},
            {"completion_tokens_details", "reasoning_tokens"}, {"output_tokens_details", "reasoning_tokens"}};
        for (String[] d : details) {
            if (r.nextInt(3) == 0) {
                int kind = r.nextInt(8);
                if (kind == 0) {
                    u.put(d[0], "null");
                } else if (kind == 1) {
                    u.put(d[0], junk(r, 1));
                } else {
                    Obj o = new Obj(r);
                    if (r.nextInt(4) != 0) {
                        o.put(d[1], tokenValue(r));
                    }
                    o.put("audio_tokens", "0");
                    u.put(d[0], o.toString());
                }
            }
        }
        return u.toString();
    }

    private static String tokenValue(SplittableRandom r) {
        return switch (r.nextInt(60)) {
            case 0 -> "null";
            case 1 -> "\"12\"";
            case 2 -> "12.5";
            case 3 -> "1e3";
            case 4 -> "true";
            case 5 -> "-" + r.nextInt(100);
            case 6 -> "123456789012345678";
            case 7 -> "1234567890123456789";
            case 8 -> "99999999999999999999";
            case 9 -> "-0";
            default -> String.valueOf(r.nextInt(5000));
        };
    }

    /** Any value, nested up to {@code depth}. */
    private static String junk(SplittableRandom r, int depth) {
        int kind = r.nextInt(depth > 0 ? 9 : 6);
        return switch (kind) {
            case 0 -> "null";
            case 1 -> r.nextBoolean() ? "true" : "false";
            case 2 -> String.valueOf(r.nextInt(1000) - 500) + (r.nextBoolean() ? ".25" : "") + (r.nextInt(4) == 0 ? "E-2" : "");
            case 3, 4, 5 -> str(r);
            case 6 -> {
                StringBuilder a = new StringBuilder("[");
                for (int i = 0, n = r.nextInt(3); i < n; i++) {
                    a.append(i == 0 ? "" : ",").append(ws(r)).append(junk(r, depth - 1));
                }
                yield a.append(']').toString();
            }
            default -> {
                Obj o = new Obj(r);
                String[] names = {"content", "usage", "choices", "finish_reason", "prompt_tokens", "x", "type"};
                for (int i = 0, n = r.nextInt(3); i < n; i++) {
                    o.put(names[r.nextInt(names.length)], junk(r, depth - 1));
                }
                yield o.toString();
            }
        };
    }

    /** A JSON string of varied characters and escapes. */
    private static String str(SplittableRandom r) {
        String[] parts = {"hello", " world", "Paris", "\\n", "\\\"", "\\\\", "\\/", "\\t", "\\b\\f\\r", "\\u00e9",
            "\\u2014", "\\ud83d\\ude00", "\\udc00", "é", "世界", "😀", "{\"a\":1}", "response.", "tool_calls", "'", " ",
            "\u007f", "\\u0000"};
        StringBuilder s = new StringBuilder("\"");
        for (int i = 0, n = r.nextInt(5); i < n; i++) {
            s.append(parts[r.nextInt(parts.length)]);
        }
        return s.append('"').toString();
    }

    private static String ws(SplittableRandom r) {
        return switch (r.nextInt(6)) {
            case 0 -> " ";
            case 1 -> "\n  ";
            case 2 -> "\t";
            default -> "";
        };
    }

    /** An object whose members come in a random order, sometimes one of them twice. */
    private static final class Obj {
        private final SplittableRandom r;
        private final java.util.List<String> members = new java.util.ArrayList<>();

        Obj(SplittableRandom r) {
            this.r = r;
        }

        void put(String name, String value) {
            String member = "\"" + name + "\"" + ws(r) + ":" + ws(r) + value;
            members.add(r.nextInt(members.size() + 1), member);
            if (r.nextInt(40) == 0) {
                members.add(r.nextInt(members.size() + 1), member);
            }
        }

        @Override
        public String toString() {
            StringBuilder s = new StringBuilder("{");
            for (int i = 0; i < members.size(); i++) {
                s.append(i == 0 ? "" : ",").append(ws(r)).append(members.get(i));
            }
            return s.append(ws(r)).append('}').toString();
        }
    }
}
