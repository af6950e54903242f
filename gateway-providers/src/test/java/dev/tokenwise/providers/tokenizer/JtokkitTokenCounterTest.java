package dev.tokenwise.providers.tokenizer;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.EncodingType;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.RequestFeature;
import dev.tokenwise.core.model.TokenCount;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

class JtokkitTokenCounterTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** Shared so that each encoding is loaded once for the whole class. */
    private static final TokenizerTable TABLE = new TokenizerTable();

    private final QueueingExecutor worker = new QueueingExecutor();
    private final JtokkitTokenCounter counter = new JtokkitTokenCounter(TABLE, worker, 1_000);

    @BeforeAll
    static void loadEncodings() {
        TABLE.warmUp();
    }

    // ---------------------------------------------------------------- reference values

    /**
     * The conversation of OpenAI Cookbook "How to count tokens with tiktoken" (examples/How_to_count_tokens_with_tiktoken.ipynb,
     * section 6, openai/openai-cookbook commit c81359cd): the notebook prints "129 prompt tokens counted by the OpenAI API"
     * for gpt-3.5-turbo, gpt-4-0613 and gpt-4, and "124 prompt tokens counted by the OpenAI API" for gpt-4o and gpt-4o-mini.
     */
    private static final String COOKBOOK_MESSAGES = """
            [
              {"role": "system", "content": "You are a helpful, pattern-following assistant that translates corporate jargon into plain English."},
              {"role": "system", "name": "example_user", "content": "New synergies will help drive top-line growth."},
              {"role": "system", "name": "example_assistant", "content": "Things working well together will increase revenue."},
              {"role": "system", "name": "example_user", "content": "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage."},
              {"role": "system", "name": "example_assistant", "content": "Let's talk later when we're less busy about how to do better."},
              {"role": "user", "content": "This late pivot means we don't have time to boil the ocean for the client deliverable."}
            ]""";

    @ParameterizedTest(name = "{0}: {1} prompt tokens")
    @CsvSource({
            "gpt-3.5-turbo, 129",
            "gpt-4-0613, 129",
            "gpt-4, 129",
            "gpt-4o, 124",
            "gpt-4o-mini, 124",
            "openai/gpt-4o-mini-2024-07-18, 124",
    })
    void countsChatPromptExactlyLikeOpenAi(String model, long promptTokens) throws Exception {
        TokenCount count = counter.countInput(model, Endpoint.CHAT_COMPLETIONS, chat(COOKBOOK_MESSAGES)).getNow(null);

        assertCount(new TokenCount(promptTokens, false), count);
    }

    static Stream<Arguments> tiktokenReferenceCounts() {
        return Stream.of(
                // cl100k_base (gpt-4)
                // openai/tiktoken tests/test_encoding.py test_simple: "hello world" -> [15339, 1917]
                Arguments.of("gpt-4", "hello world", 2),
                // OpenAI Cookbook "How to count tokens with tiktoken", sections 3 and 5 (cl100k_base outputs)
                Arguments.of("gpt-4", "tiktoken is great!", 6),
                Arguments.of("gpt-4", "antidisestablishmentarianism", 6),
                Arguments.of("gpt-4", "2 + 2 = 4", 7),
                Arguments.of("gpt-4", "お誕生日おめでとう", 9),
                // openai/tiktoken tests/test_encoding.py test_encode_surrogate_pairs: "👍" -> [9468, 239, 235]
                Arguments.of("gpt-4", "👍", 3),
                // knuddelsgmbh/jtokkit lib/src/test/resources/cl100k_base_encodings.csv (generated with tiktoken)
                Arguments.of("gpt-4", "你好，世界", 6),
                Arguments.of("gpt-4", "👋🌎", 6),
                Arguments.of("gpt-4", "What about URLs? https://www.google.com", 9),
                // third-party tiktoken parity tests (a Go port's TestOpenAIParitySmoke/EdgeCases), code-like text
                Arguments.of("gpt-4", "foo_bar/baz\n", 5),
                Arguments.of("gpt-4", "[]{}() /path/to/file.go", 8),
                // special token as ordinary text: [27, 91, 8862, 728, 428, 91, 29] in several tiktoken ports' tests
                Arguments.of("gpt-4", "<|endoftext|>", 7),
                // tiktoken Ruby gem README, encode_ordinary("Hello<|endoftext|>World") -> 9 ids
                Arguments.of("gpt-4", "Hello<|endoftext|>World", 9),

                // o200k_base (gpt-4o)
                // OpenAI Cookbook "How to count tokens with tiktoken" (o200k_base outputs)
                Arguments.of("gpt-4o", "tiktoken is great!", 6),
                Arguments.of("gpt-4o", "antidisestablishmentarianism", 6),
                Arguments.of("gpt-4o", "2 + 2 = 4", 7),
                Arguments.of("gpt-4o", "お誕生日おめでとう", 8),
                // knuddelsgmbh/jtokkit lib/src/test/resources/o200k_base_encodings.csv (generated with tiktoken)
                Arguments.of("gpt-4o", "Hello world!", 3),
                Arguments.of("gpt-4o", "こんにちは世界", 2),
                Arguments.of("gpt-4o", "你好，世界", 3),
                Arguments.of("gpt-4o", "👋🌎", 4),
                Arguments.of("gpt-4o", "I love 🍕", 4),
                // third-party tiktoken parity tests (as above)
                Arguments.of("gpt-4o", "hello world", 2),
                Arguments.of("gpt-4o", "foo_bar/baz\n", 5),
                Arguments.of("gpt-4o", "[]{}() /path/to/file.go", 8),
                Arguments.of("gpt-4o", "<|endoftext|>", 7));
    }

    @ParameterizedTest(name = "{0}: \"{1}\" is {2} tokens")
    @MethodSource("tiktokenReferenceCounts")
    void countsTextExactlyLikeTiktoken(String model, String text, long tokens) {
        assertCount(new TokenCount(tokens, false), counter.countOutput(model, text).getNow(null));
    }

    @Test
    void countsSpecialTokenTextInPromptsAsOrdinaryText() {
        CompletableFuture<TokenCount> withMarker = assertDoesNotThrow(() -> counter.countInput("gpt-4o",
                Endpoint.CHAT_COMPLETIONS, chat("[{\"role\":\"user\",\"content\":\"<|endoftext|>\"}]")));
        TokenCount empty = countChat("gpt-4o", "[{\"role\":\"user\",\"content\":\"\"}]");

        // <|endoftext|> is 7 ordinary tokens in o200k_base, not the single special token 199999.
        assertEquals(empty.tokens() + 7, withMarker.getNow(null).tokens());
        assertFalse(withMarker.getNow(null).estimated());
    }

    // ---------------------------------------------------------------- chat content shapes

    @Test
    void countsOneTextPartLikeStringContent() {
        TokenCount plain = countChat("gpt-4o", "[{\"role\":\"user\",\"content\":\"tiktoken is great!\"}]");
        TokenCount parts = countChat("gpt-4o",
                "[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"tiktoken is great!\"}]}]");

        assertEquals(plain, parts);
        assertFalse(parts.estimated());
    }

    @Test
    void marksSeveralTextPartsAsEstimated() {
        TokenCount parts = countChat("gpt-4o", "[{\"role\":\"user\",\"content\":["
                + "{\"type\":\"text\",\"text\":\"tiktoken is great!\"},{\"type\":\"text\",\"text\":\"2 + 2 = 4\"}]}]");
        TokenCount empty = countChat("gpt-4o", "[{\"role\":\"user\",\"content\":[]}]");

        assertEquals(empty.tokens() + 6 + 7, parts.tokens());
        assertTrue(parts.estimated());
    }

    @Test
    void estimatesImagePartsWithTheDocumentedFixedCosts() {
        String text = "{\"type\":\"text\",\"text\":\"What is in this image?\"}";
        TokenCount textOnly = countChat("gpt-4o", "[{\"role\":\"user\",\"content\":[" + text + "]}]");
        TokenCount low = countChat("gpt-4o", "[{\"role\":\"user\",\"content\":[" + text
                + ",{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://example.com/a.png\",\"detail\":\"low\"}}]}]");
        TokenCount auto = countChat("gpt-4o", "[{\"role\":\"user\",\"content\":[" + text
                + ",{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://example.com/a.png\"}}]}]");

        assertFalse(textOnly.estimated());
        assertCount(new TokenCount(textOnly.tokens() + 85, true), low);
        assertCount(new TokenCount(textOnly.tokens() + 765, true), auto);
    }

    @Test
    void estimatesAudioAndFileParts() {
        TokenCount empty = countChat("gpt-4o-audio-preview", "[{\"role\":\"user\",\"content\":[]}]");
        // 64,000 base64 chars = 48,000 bytes of wav = 1 s at 24 kHz 16-bit mono = 10 tokens.
        String audio = "{\"type\":\"input_audio\",\"input_audio\":{\"data\":\"" + "A".repeat(64_000) + "\",\"format\":\"wav\"}}";
        String file = "{\"type\":\"file\",\"file\":{\"file_id\":\"file-abc\"}}";

        assertCount(new TokenCount(empty.tokens() + 10, true), countChat("gpt-4o-audio-preview",
                "[{\"role\":\"user\",\"content\":[" + audio + "]}]"));
        assertCount(new TokenCount(empty.tokens() + 765, true), countChat("gpt-4o-audio-preview",
                "[{\"role\":\"user\",\"content\":[" + file + "]}]"));
    }

    @Test
    void countsNullContentAsNoText() {
        TokenCount nullContent = countChat("gpt-4o", "[{\"role\":\"assistant\",\"content\":null}]");
        TokenCount emptyContent = countChat("gpt-4o", "[{\"role\":\"assistant\",\"content\":\"\"}]");

        assertCount(emptyContent, nullContent);
    }

    @Test
    void estimatesToolCallsAndCountsProvenToolDefinitionsExactly() {
        TokenCount plain = countChat("gpt-4o", "[{\"role\":\"user\",\"content\":\"What's the weather like in San Francisco?\"}]");
        String toolCall = "[{\"role\":\"user\",\"content\":\"What's the weather like in San Francisco?\"},"
                + "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\","
                + "\"function\":{\"name\":\"get_current_weather\",\"arguments\":\"{\\\"location\\\":\\\"San Francisco, CA\\\"}\"}}]},"
                + "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"18 degrees\"}]";
        TokenCount withCalls = countChat("gpt-4o", toolCall);

        ObjectNode body = chat("[{\"role\":\"user\",\"content\":\"What's the weather like in San Francisco?\"}]");
        body.set("tools", parse("[{\"type\":\"function\",\"function\":{\"name\":\"get_current_weather\","
                + "\"description\":\"Get the current weather in a given location\",\"parameters\":{\"type\":\"object\","
                + "\"properties\":{\"location\":{\"type\":\"string\"}},\"required\":[\"location\"]}}}]"));
        TokenCount withTools = counter.countInput("gpt-4o", Endpoint.CHAT_COMPLETIONS, body).getNow(null);

        assertTrue(withCalls.estimated());
        assertTrue(withCalls.has(RequestFeature.TOOL_HISTORY));
        assertTrue(withCalls.tokens() > plain.tokens() + 2 * 3);
        assertFalse(withTools.estimated(), "a definition in the published shapes, on gpt-4o: exact");
        assertTrue(withTools.has(RequestFeature.TOOLS));
        assertTrue(withTools.tokens() > plain.tokens() + 10);
    }

    @Test
    void notesTheRequestsFeaturesAndTheBytesOfItsText() {
        TokenCount plain = countChat("gpt-4o", "[{\"role\":\"user\",\"content\":\"h\u00e9llo \ud83c\udf89\"}]");
        assertEquals(0, plain.features());
        assertEquals(4 + 11, plain.textBytes(), "'user' and 'h\u00e9llo \ud83c\udf89' in UTF-8");
        assertEquals(15, countChat("gpt-4o", "[{\"role\":\"user\",\"content\":\"h\u00e9llo \ud83c\udf89\"}]").textBytes(),
                "the same from the cache");

        ObjectNode body = chat("[{\"role\":\"system\",\"content\":\"Be brief.\"},"
                + "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"What is this?\"},"
                + "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://example.com/a.png\"}}]}]");
        body.set("response_format", parse("{\"type\":\"json_object\"}"));
        TokenCount rich = counter.countInput("gpt-4o", Endpoint.CHAT_COMPLETIONS, body).getNow(null);
        assertEquals(RequestFeature.SYSTEM_PROMPT.bit() | RequestFeature.IMAGES.bit() | RequestFeature.JSON_SCHEMA.bit(),
                rich.features());

        // A provider without a local tokenizer: the same facts.
        ObjectNode anthropic = (ObjectNode) parse("{\"system\":\"Be brief.\",\"messages\":[{\"role\":\"user\","
                + "\"content\":\"h\u00e9llo\"}],\"tools\":[{\"name\":\"f\",\"input_schema\":{\"type\":\"object\"}}]}");
        TokenCount claude = counter.countInput("claude-sonnet-4", Endpoint.MESSAGES, anthropic).getNow(null);
        assertTrue(claude.estimated());
        assertEquals(RequestFeature.SYSTEM_PROMPT.bit() | RequestFeature.TOOLS.bit(), claude.features());
        assertTrue(claude.textBytes() >= "systemBe brief.userh\u00e9llo".length() + 1);
    }

    @Test
    void countsOnlyReplyPrimingWhenMessagesAreMissing() {
        assertCount(new TokenCount(3, false), counter.countInput("gpt-4o", Endpoint.CHAT_COMPLETIONS, null).getNow(null));
        assertCount(new TokenCount(3, false),
                counter.countInput("gpt-4o", Endpoint.CHAT_COMPLETIONS, parse("{\"model\":\"gpt-4o\"}")).getNow(null));
        assertCount(new TokenCount(3, false),
                counter.countInput("gpt-4o", Endpoint.CHAT_COMPLETIONS, parse("{\"messages\":\"hi\"}")).getNow(null));
        assertCount(new TokenCount(3, true),
                counter.countInput("some-local-model", Endpoint.CHAT_COMPLETIONS, parse("{}")).getNow(null));
    }

    // ---------------------------------------------------------------- other endpoints

    @Test
    void countsEveryEmbeddingInputShape() {
        // "hello world" is [15339, 1917] and "tiktoken is great!" 6 tokens in cl100k_base (see above).
        assertCount(new TokenCount(2, false), embed("\"hello world\""));
        assertCount(new TokenCount(8, false), embed("[\"hello world\", \"tiktoken is great!\"]"));
        assertCount(new TokenCount(2, false), embed("[15339, 1917]"));
        assertCount(new TokenCount(5, false), embed("[[15339, 1917], [83, 1609, 5963]]"));
        assertCount(new TokenCount(0, false), embed("[]"));
        assertCount(new TokenCount(0, false), counter.countInput("text-embedding-3-small", Endpoint.EMBEDDINGS,
                parse("{}")).getNow(null));
    }

    @Test
    void countsResponsesStringInputAsOneUserMessage() {
        TokenCount chat = countChat("gpt-4.1", "[{\"role\":\"user\",\"content\":\"tiktoken is great!\"}]");
        TokenCount responses = counter.countInput("gpt-4.1", Endpoint.RESPONSES,
                parse("{\"model\":\"gpt-4.1\",\"input\":\"tiktoken is great!\"}")).getNow(null);
        TokenCount items = counter.countInput("gpt-4.1", Endpoint.RESPONSES, parse("{\"input\":[{\"role\":\"user\","
                + "\"content\":[{\"type\":\"input_text\",\"text\":\"tiktoken is great!\"}]}]}")).getNow(null);
        TokenCount withInstructions = counter.countInput("gpt-4.1", Endpoint.RESPONSES,
                parse("{\"instructions\":\"Be brief.\",\"input\":\"tiktoken is great!\"}")).getNow(null);

        assertEquals(chat, responses);
        assertFalse(responses.estimated());
        assertCount(new TokenCount(chat.tokens(), true), items);
        assertTrue(withInstructions.estimated());
        assertTrue(withInstructions.tokens() > chat.tokens());
    }

    @Test
    void estimatesAnthropicMessagesWithTheChatRule() {
        TokenCount openAi = countChat("gpt-4o", "[{\"role\":\"system\",\"content\":\"Be brief.\"},"
                + "{\"role\":\"user\",\"content\":\"tiktoken is great!\"}]");
        TokenCount anthropic = counter.countInput("claude-sonnet-4-20250514", Endpoint.MESSAGES, parse("{\"system\":\"Be brief.\","
                + "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"tiktoken is great!\"}]}]}")).getNow(null);

        assertCount(new TokenCount(openAi.tokens(), true), anthropic);
    }

    @Test
    void estimatesModelsWithoutAnExactTokenizer() {
        assertCount(new TokenCount(2, true), counter.countOutput("gemini-2.5-pro", "hello world").getNow(null));
        assertFalse(counter.isExact("gemini-2.5-pro"));
        assertTrue(counter.isExact("openai/gpt-4o"));
        assertTrue(counter.isExact("sim-small"));
    }

    // ---------------------------------------------------------------- threads and cache

    @Test
    void countsShortUncachedTextOnTheCallingThread() {
        CompletableFuture<TokenCount> future = counter.countInput("gpt-4o", Endpoint.CHAT_COMPLETIONS, chat(COOKBOOK_MESSAGES));

        assertTrue(future.isDone());
        assertEquals(0, worker.submitted);
    }

    @Test
    void countsLargeUncachedTextOnTheWorker() throws Exception {
        String text = "tiktoken is great! ".repeat(300); // 5,700 chars
        CompletableFuture<TokenCount> future = counter.countOutput("gpt-4o", text);
        AtomicReference<String> completedOn = new AtomicReference<>();
        future.whenComplete((count, error) -> completedOn.set(Thread.currentThread().getName()));

        assertFalse(future.isDone(), "must not count 5,700 chars on the caller");
        assertEquals(1, worker.submitted);
        Thread workerThread = new Thread(worker::runAll, "token-worker");
        workerThread.start();
        workerThread.join();

        assertEquals("token-worker", completedOn.get());
        long direct = TABLE.encoding(EncodingType.O200K_BASE).countTokensOrdinary(text);
        assertCount(new TokenCount(direct, false), future.getNow(null));
    }

    @Test
    void hashesEqualPromptsEquallyAndDifferentPromptsDifferently() {
        ObjectNode a = chat("[{\"role\":\"user\",\"content\":\"Hello there\"}]");
        ObjectNode b = chat("[{\"role\":\"user\",\"content\":\"Hello there!\"}]");
        ObjectNode reordered = chat("[{\"role\":\"user\",\"content\":\"Hi\"},{\"role\":\"user\",\"content\":\"Hello there\"}]");
        ObjectNode ordered = chat("[{\"role\":\"user\",\"content\":\"Hello there\"},{\"role\":\"user\",\"content\":\"Hi\"}]");
        long hashA = counter.countInput("gpt-4o", Endpoint.CHAT_COMPLETIONS, a).join().contentHash();
        assertTrue(hashA != 0);
        assertEquals(hashA, counter.countInput("gpt-4o", Endpoint.CHAT_COMPLETIONS, a.deepCopy()).join().contentHash());
        assertTrue(hashA != counter.countInput("gpt-4o", Endpoint.CHAT_COMPLETIONS, b).join().contentHash());
        assertTrue(counter.countInput("gpt-4o", Endpoint.CHAT_COMPLETIONS, reordered).join().contentHash()
                != counter.countInput("gpt-4o", Endpoint.CHAT_COMPLETIONS, ordered).join().contentHash(),
                "the order of messages matters");
    }

    @Test
    void secondCountOfTheSameMessagesCompletesSynchronously() {
        String big = "antidisestablishmentarianism ".repeat(200); // 5,800 chars
        ObjectNode body = chat("[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":"
                + JSON.valueToTree(big) + "}]");

        CompletableFuture<TokenCount> first = counter.countInput("gpt-4o", Endpoint.CHAT_COMPLETIONS, body);
        assertFalse(first.isDone());
        worker.runAll();
        TokenCount expected = first.getNow(null);

        CompletableFuture<TokenCount> second = counter.countInput("gpt-4o", Endpoint.CHAT_COMPLETIONS, body.deepCopy());

        assertTrue(second.isDone());
        assertEquals(expected, second.getNow(null));
        assertEquals(1, worker.submitted);
        assertEquals(2, counter.cachedEntries());
    }

    @Test
    void countsOnlyTheNewMessagesOfAGrowingConversation() {
        String big = "antidisestablishmentarianism ".repeat(200);
        String history = "{\"role\":\"user\",\"content\":" + JSON.valueToTree(big) + "}";
        counter.countInput("gpt-4o", Endpoint.CHAT_COMPLETIONS, chat("[" + history + "]"));
        worker.runAll();

        CompletableFuture<TokenCount> next = counter.countInput("gpt-4o", Endpoint.CHAT_COMPLETIONS,
                chat("[" + history + ",{\"role\":\"assistant\",\"content\":\"ok\"},{\"role\":\"user\",\"content\":\"more\"}]"));

        assertTrue(next.isDone(), "only two short uncached messages remain");
        assertEquals(1, worker.submitted);
    }

    @Test
    void keysCachedCountsByEncoding() {
        String body = "[{\"role\":\"user\",\"content\":\"お誕生日おめでとう\"}]";
        TokenCount cl100k = countChat("gpt-4", body);
        TokenCount o200k = countChat("gpt-4o", body);

        // 9 tokens in cl100k_base, 8 in o200k_base (OpenAI Cookbook, section 5); "user" is one token in both.
        assertEquals(cl100k.tokens() - 1, o200k.tokens());
    }

    @Test
    void loadsAMissingEncodingOnTheWorker() {
        QueueingExecutor pool = new QueueingExecutor();
        // A table with a registry of its own: the process's shared encodings may already be loaded by other tests.
        JtokkitTokenCounter cold = new JtokkitTokenCounter(new TokenizerTable(Encodings.newLazyEncodingRegistry()), pool, 100);

        CompletableFuture<TokenCount> future = cold.countOutput("gpt-4", "hello world");

        assertFalse(future.isDone(), "loading cl100k_base must not happen on the caller");
        pool.runAll();
        assertCount(new TokenCount(2, false), future.getNow(null));
        assertTrue(cold.countOutput("gpt-4", "hello world").isDone());
    }

    @Test
    void fallsBackToARoughEstimateWhenTheWorkerRejects() {
        Executor rejecting = task -> {
            throw new RejectedExecutionException("queue full");
        };
        JtokkitTokenCounter overloaded = new JtokkitTokenCounter(TABLE, rejecting, 100);

        TokenCount count = overloaded.countOutput("gpt-4o", "x".repeat(8_000)).getNow(null);

        assertCount(new TokenCount(2_000, true), count);
    }

    // ---------------------------------------------------------------- helpers

    private TokenCount countChat(String model, String messagesJson) {
        CompletableFuture<TokenCount> future = counter.countInput(model, Endpoint.CHAT_COMPLETIONS, chat(messagesJson));
        assertTrue(future.isDone(), "short prompts are counted on the caller");
        return future.getNow(null);
    }

    private TokenCount embed(String inputJson) {
        return counter.countInput("text-embedding-3-small", Endpoint.EMBEDDINGS,
                parse("{\"model\":\"text-embedding-3-small\",\"input\":" + inputJson + "}")).getNow(null);
    }

    private static ObjectNode chat(String messagesJson) {
        ObjectNode body = JSON.createObjectNode();
        body.put("model", "any");
        body.set("messages", (ArrayNode) parse(messagesJson));
        return body;
    }

    private static JsonNode parse(String json) {
        try {
            return JSON.readTree(json);
        } catch (Exception e) {
            throw new IllegalArgumentException(json, e);
        }
    }

    /** Holds submitted tasks until the test runs them, so "ran on the worker" is observable. */
    // ---------------------------------------------------------------- messages read as bytes

    private static final java.util.List<String> CHAT_BODIES = java.util.List.of(
            "{\"model\":\"m\",\"messages\":" + COOKBOOK_MESSAGES + "}",
            "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"What is in this image? 日本語 🎉\"},"
                    + "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://example.com/a.png\",\"detail\":\"low\"}}]}]}",
            "{\"messages\":[{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\","
                    + "\"function\":{\"name\":\"weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}}]},"
                    + "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"18 C\"}],"
                    + "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"weather\",\"parameters\":{\"type\":\"object\"}}}]}",
            "{\"messages\":[\"not an object\",{\"role\":\"user\",\"name\":\"ann\",\"content\":{\"odd\":1}},"
                    + "{\"role\":\"user\",\"content\":\"Line one\\nline \\\"two\\\" \\u00e9\"}]}",
            "{\"messages\":[{\"role\":\"user\",\"content\":\"" + "A long message that is not counted on the caller. ".repeat(120)
                    + "\"},{\"role\":\"user\",\"content\":\"short\"}]}",
            "{\"messages\":[]}",
            "{\"model\":\"m\"}",
            "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"system\",\"content\":\"Hello:\"},"
                    + "{\"role\":\"system\",\"content\":\"Hello\"}],\"tools\":[{\"type\":\"function\",\"function\":"
                    + "{\"name\":\"do_stuff\",\"parameters\":{\"type\":\"object\",\"properties\":{}}}}]}",
            "{\"messages\":[{\"role\":\"developer\",\"content\":\"Be brief\"},{\"role\":\"user\",\"content\":\"hi\"}],"
                    + "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"object\","
                    + "\"properties\":{}}}}]}");

    private static JsonNode readAsBytes(String body) throws Exception {
        return dev.tokenwise.core.json.ChatBodyReader.read(JSON.getFactory(),
                body.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    private TokenCount settle(CompletableFuture<TokenCount> count) {
        worker.runAll();
        return count.getNow(null);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"gpt-4o-mini", "gpt-4", "claude-3-5-sonnet"})
    void countsMessagesReadAsBytesExactlyAsTheirTreeUncachedAndCached(String model) throws Exception {
        JtokkitTokenCounter trees = new JtokkitTokenCounter(TABLE, worker, 1_000);
        for (String body : CHAT_BODIES) {
            TokenCount expected = settle(trees.countInput(model, Endpoint.CHAT_COMPLETIONS, JSON.readTree(body)));
            JsonNode raw = readAsBytes(body);
            TokenCount uncached = settle(counter.countInput(model, Endpoint.CHAT_COMPLETIONS, raw));
            TokenCount cached = counter.countInput(model, Endpoint.CHAT_COMPLETIONS, readAsBytes(body)).getNow(null);
            assertCount(expected, uncached);
            assertCount(expected, cached);
            for (TokenCount c : new TokenCount[] {uncached, cached}) {
                assertEquals(expected.features(), c.features(), "features of " + body);
                assertEquals(expected.textBytes(), c.textBytes(), "text bytes of " + body);
            }
            assertEquals(uncached.contentHash(), cached.contentHash(), body);
            if (raw.get("messages") instanceof dev.tokenwise.core.json.RawArrayNode messages) {
                assertFalse(messages.isParsed(), "counting parses no message of the body itself");
            }
        }
    }

    @Test
    void hashesTheFirstFourKilobytesOfALongPromptReadingDigitsAlike() throws Exception {
        String system = "{\"role\":\"system\",\"content\":\"Today is 2026-11-28 09:15. " + "You answer tax questions. ".repeat(200)
                + "\"}";
        String body = "{\"model\":\"m\",\"messages\":[" + system + ",{\"role\":\"user\",\"content\":\"Q1\"}]}";
        long first = settle(counter.countInput("gpt-4o", Endpoint.CHAT_COMPLETIONS, readAsBytes(body))).prefixHash();
        assertTrue(first != 0, "a prompt of over 4 KB has a prefix hash");
        // Another day and another question: the first 4 KB read alike once digits are read as 0.
        String later = body.replace("2026-11-28 09:15", "2026-12-01 17:42").replace("Q1", "a different question");
        assertEquals(first, settle(counter.countInput("gpt-4o", Endpoint.CHAT_COMPLETIONS, readAsBytes(later))).prefixHash());
        // The same prompt read as a tree (the messages' texts) hashes as its texts do: alike for alike texts.
        long tree = settle(counter.countInput("gpt-4o", Endpoint.CHAT_COMPLETIONS, JSON.readTree(body))).prefixHash();
        assertEquals(tree, settle(counter.countInput("gpt-4o", Endpoint.CHAT_COMPLETIONS, JSON.readTree(later))).prefixHash());
        String otherWords = body.replace("Today is", "Tonight is");
        assertFalse(first == settle(counter.countInput("gpt-4o", Endpoint.CHAT_COMPLETIONS, readAsBytes(otherWords)))
                .prefixHash(), "a word changed near the start: another prefix");
        String shortBody = "{\"messages\":[{\"role\":\"user\",\"content\":\"" + "x".repeat(3_000) + "\"}]}";
        assertEquals(0, settle(counter.countInput("gpt-4o", Endpoint.CHAT_COMPLETIONS, readAsBytes(shortBody))).prefixHash(),
                "under 4 KB: too short for a provider's prompt cache");
        String wide = "{\"messages\":[{\"role\":\"user\",\"content\":\"" + "\u20ac".repeat(1_400) + "\"}]}";
        assertTrue(settle(counter.countInput("gpt-4o", Endpoint.CHAT_COMPLETIONS, JSON.readTree(wide))).prefixHash() != 0,
                "1,400 characters of three bytes each fill the 4 KB prefix");
        assertEquals(0, settle(counter.countInput("text-embedding-3-small", Endpoint.EMBEDDINGS,
                parse("{\"input\":\"" + "y".repeat(9_000) + "\"}"))).prefixHash(), "no prompt cache for embeddings");
        assertEquals(0, settle(counter.countOutput("gpt-4o", "z".repeat(9_000))).prefixHash());
    }

    @Test
    void countsOnlyTheNewMessageOfAConversationReadAsBytes() throws Exception {
        String earlier = "{\"role\":\"system\",\"content\":\"" + "Be precise. ".repeat(400) + "\"},"
                + "{\"role\":\"user\",\"content\":\"first question\"}";
        TokenCount first = settle(counter.countInput("gpt-4o", Endpoint.CHAT_COMPLETIONS,
                readAsBytes("{\"messages\":[" + earlier + "]}")));
        assertEquals(1, worker.submitted, "the long system message is counted on the worker");
        String next = "{\"messages\":[" + earlier + ",{\"role\":\"user\",\"content\":\"a new question\"}]}";
        CompletableFuture<TokenCount> second = counter.countInput("gpt-4o", Endpoint.CHAT_COMPLETIONS, readAsBytes(next));
        assertTrue(second.isDone(), "only the short new message is left: counted on the caller");
        assertEquals(1, worker.submitted);
        assertCount(settle(new JtokkitTokenCounter(TABLE, worker, 1_000)
                .countInput("gpt-4o", Endpoint.CHAT_COMPLETIONS, JSON.readTree(next))), second.getNow(null));
        assertTrue(second.getNow(null).tokens() > first.tokens());
        assertFalse(second.getNow(null).contentHash() == first.contentHash());
    }

    // ---------------------------------------------------------------- hostile sizes

    /** A run of {@code a} is 8 letters to a token in both encodings: the exact count of this word. */
    private static final int MEGABYTE_WORD_EXACT_TOKENS = (1 << 20) / 8;

    @Test
    void countsAHugeSingleWordContentByAnUpperBoundMarkedEstimated() throws Exception {
        String word = "a".repeat(1 << 20);
        String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"" + word + "\"}]}";
        // The chat rule around it: 3 for the message, 1 for the role, 3 priming the reply.
        long exact = MEGABYTE_WORD_EXACT_TOKENS + 3 + 1 + 3;

        for (JsonNode parsed : new JsonNode[] {readAsBytes(body), JSON.readTree(body)}) {
            TokenCount count = settle(counter.countInput("gpt-4o", Endpoint.CHAT_COMPLETIONS, parsed));

            assertTrue(count.estimated(), "a bound, not an exact count");
            assertTrue(count.bounded(), "and it says why");
            assertTrue(count.tokens() >= exact, count.tokens() + " is below the exact " + exact);
            assertTrue(count.tokens() <= body.length(), "no more than the body's bytes: " + count.tokens());
        }
    }

    @Test
    void countsAHugeNoSpaceJsonDocumentInAStringContentNeverBelowItsExactCount() throws Exception {
        // A JSON document without a space, sent as the text of a message: short pieces between its punctuation,
        // and long runs of letters inside its strings.
        StringBuilder document = new StringBuilder("{");
        java.util.SplittableRandom random = new java.util.SplittableRandom(17);
        for (int i = 0; document.length() < 200_000; i++) {
            document.append("\\\"k").append(i).append("\\\":[").append(i).append(",\\\"")
                    .append(PieceCounterTest.longPiece("random lowercase", i % 7 == 0 ? 5_000 : 40, random))
                    .append("\\\"],");
        }
        String content = document.append("\\\"end\\\":true}").toString();
        String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"" + content + "\"}]}";
        String text = JSON.readTree(body).at("/messages/0/content").textValue();
        long exact = TABLE.encoding(EncodingType.O200K_BASE).countTokensOrdinary(text) + 3 + 1 + 3;

        TokenCount count = settle(counter.countInput("gpt-4o", Endpoint.CHAT_COMPLETIONS, readAsBytes(body)));

        assertTrue(count.estimated() && count.bounded(), "its long runs are bounded");
        assertTrue(count.tokens() >= exact, count.tokens() + " is below the exact " + exact);
    }

    @Test
    void countsAHugeSingleWordAnswerByAnUpperBoundMarkedEstimated() {
        TokenCount count = settle(counter.countOutput("gpt-4o", "a".repeat(1 << 20)));

        assertTrue(count.estimated() && count.bounded(), "a bound, not an exact count");
        assertTrue(count.tokens() >= MEGABYTE_WORD_EXACT_TOKENS, "below the exact count: " + count.tokens());
    }

    @Test
    void neverCachesABoundAsIfItWereExact() throws Exception {
        String longWord = "b".repeat(PieceCounter.MAX_MERGED_PIECE_CHARS + 1);
        String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"" + longWord + "\"}]}";
        for (JsonNode parsed : new JsonNode[] {readAsBytes(body), JSON.readTree(body), readAsBytes(body)}) {
            TokenCount count = settle(counter.countInput("gpt-4o", Endpoint.CHAT_COMPLETIONS, parsed));
            assertTrue(count.estimated(), "each time, cached or not");
        }
        assertEquals(0, counter.cachedEntries(), "bounds are not cached");
    }

    private static final class QueueingExecutor implements Executor {
        private final Deque<Runnable> tasks = new ArrayDeque<>();
        private int submitted;

        @Override
        public synchronized void execute(Runnable task) {
            submitted++;
            tasks.add(task);
        }

        void runAll() {
            Runnable task;
            while ((task = poll()) != null) {
                task.run();
            }
        }

        private synchronized Runnable poll() {
            return tasks.poll();
        }
    }

    /** Compares tokens and the estimated and bounded flags; the content hash is checked by its own test. */
    private static void assertCount(TokenCount expected, TokenCount actual) {
        assertEquals(expected.tokens(), actual.tokens(), "tokens");
        assertEquals(expected.estimated(), actual.estimated(), "estimated");
        assertEquals(expected.bounded(), actual.bounded(), "bounded");
    }
}
