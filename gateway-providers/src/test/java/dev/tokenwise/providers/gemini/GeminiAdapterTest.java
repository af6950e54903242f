package dev.tokenwise.providers.gemini;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.TokenUsage;
import dev.tokenwise.core.spi.ProviderAdapter;
import dev.tokenwise.core.spi.ResponseObserver;
import dev.tokenwise.core.testing.LeakDetectingExtension;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

@ExtendWith(LeakDetectingExtension.class)
class GeminiAdapterTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ByteBufAllocator ALLOC = UnpooledByteBufAllocator.DEFAULT;
    private final GeminiAdapter adapter = new GeminiAdapter("AIza");

    @Test
    void callsGenerateContentOrTheSseStreamWithTheModelInThePath() {
        assertEquals("/models/gemini-2.5-pro:generateContent", adapter.upstreamPath(Endpoint.GEMINI_GENERATE, "gemini-2.5-pro"));
        assertEquals("/models/gemini-2.5-pro:streamGenerateContent?alt=sse",
                adapter.upstreamPath(Endpoint.GEMINI_STREAM_GENERATE, "gemini-2.5-pro"));
        assertEquals("/models/my%20model:generateContent", adapter.upstreamPath(Endpoint.GEMINI_GENERATE, "my model"));
    }

    @Test
    void callsEmbedContentBatchEmbedContentsAndCountTokensOfTheUpstreamModel() {
        assertEquals("/models/gemini-embedding-001:embedContent",
                adapter.upstreamPath(Endpoint.GEMINI_EMBED, "gemini-embedding-001"));
        assertEquals("/models/gemini-embedding-001:batchEmbedContents",
                adapter.upstreamPath(Endpoint.GEMINI_BATCH_EMBED, "gemini-embedding-001"));
        assertEquals("/models/gemini-2.5-flash:countTokens", adapter.upstreamPath(Endpoint.GEMINI_COUNT_TOKENS, "gemini-2.5-flash"));
    }

    @Test
    void namesTheUpstreamModelInEachRequestOfABatchOfEmbeddings() throws Exception {
        ObjectNode same = (ObjectNode) JSON.readTree("""
                {"requests": [{"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "a"}]}}]}""");
        assertSame(ProviderAdapter.Rewrite.UNCHANGED,
                adapter.rewrite(Endpoint.GEMINI_BATCH_EMBED, same, "gemini-embedding-001", false));

        ObjectNode renamed = (ObjectNode) JSON.readTree("""
                {"requests": [{"model": "models/embed", "content": {"parts": [{"text": "a"}]}},
                              {"model": "models/embed", "content": {"parts": [{"text": "b"}]}}]}""");
        assertTrue(adapter.rewrite(Endpoint.GEMINI_BATCH_EMBED, renamed, "gemini-embedding-001", false).bodyChanged());
        assertEquals("models/gemini-embedding-001", renamed.at("/requests/1/model").asText());
    }

    @Test
    void takesAStreamsUsageAsFinalOnlyOnceItsFinishingEventCameAndReadsAnErrorInIt() {
        ResponseObserver observer = adapter.observer(Endpoint.GEMINI_STREAM_GENERATE, true, ProviderAdapter.Rewrite.UNCHANGED);
        event(observer, "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Hello\"}]}}],"
                + " \"usageMetadata\": {\"promptTokenCount\": 9, \"candidatesTokenCount\": 1}}\n\n");
        assertEquals(TokenUsage.of(9, 1), observer.usage());
        assertFalse(observer.usageFinal(), "a running count");
        assertNull(observer.streamError());

        event(observer, "data: {\"error\": {\"code\": 503, \"message\": \"The model is overloaded.\","
                + " \"status\": \"UNAVAILABLE\"}}\n\n");
        assertEquals("UNAVAILABLE: The model is overloaded.", observer.streamError());

        ResponseObserver finished = adapter.observer(Endpoint.GEMINI_STREAM_GENERATE, true, ProviderAdapter.Rewrite.UNCHANGED);
        event(finished, "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Hi\"}]},"
                + " \"finishReason\": \"STOP\"}], \"usageMetadata\": {\"promptTokenCount\": 9, \"candidatesTokenCount\": 2}}\n\n");
        assertTrue(finished.usageFinal());
    }

    private static void event(ResponseObserver observer, String event) {
        ByteBuf in = Unpooled.copiedBuffer(event, StandardCharsets.UTF_8);
        try {
            observer.onEvent(in);
        } finally {
            in.release();
        }
    }

    @Test
    void choosesEachTranslatedChatsUrlFromItsOwnRewriteWhenCallsInterleave() throws Exception {
        ObjectNode streamed = (ObjectNode) JSON.readTree("""
                {"model": "flash", "stream": true, "messages": [{"role": "user", "content": "Hi"}]}""");
        ProviderAdapter.Rewrite streaming = adapter.rewrite(Endpoint.CHAT_COMPLETIONS, streamed, "gemini-2.5-flash", true);
        ObjectNode plain = (ObjectNode) JSON.readTree("""
                {"model": "flash", "messages": [{"role": "user", "content": "Hi"}]}""");
        // Another call's rewrite comes between the first call's rewrite and its path.
        ProviderAdapter.Rewrite whole = adapter.rewrite(Endpoint.CHAT_COMPLETIONS, plain, "gemini-2.5-flash", false);

        assertEquals("/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
                adapter.upstreamPath(Endpoint.CHAT_COMPLETIONS, "gemini-2.5-flash", streaming));
        assertEquals("/models/gemini-2.5-flash:generateContent",
                adapter.upstreamPath(Endpoint.CHAT_COMPLETIONS, "gemini-2.5-flash", whole));
        assertEquals("/models/gemini-2.5-flash:generateContent",
                adapter.upstreamPath(Endpoint.CHAT_COMPLETIONS, "gemini-2.5-flash"), "without a rewrite: not streaming");
    }

    @Test
    void namesEachCallsModelFromItsOwnRewriteWhenCallsInterleave() throws Exception {
        ObjectNode first = (ObjectNode) JSON.readTree("{\"model\": \"flash\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}");
        ProviderAdapter.Rewrite firstRewrite = adapter.rewrite(Endpoint.CHAT_COMPLETIONS, first, "gemini-2.5-flash", false);
        ObjectNode second = (ObjectNode) JSON.readTree("{\"model\": \"pro\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}");
        ProviderAdapter.Rewrite secondRewrite = adapter.rewrite(Endpoint.CHAT_COMPLETIONS, second, "gemini-2.5-pro", false);

        assertEquals("pro", wholeAnswerModel(adapter.observer(Endpoint.CHAT_COMPLETIONS, false, secondRewrite)));
        assertEquals("flash", wholeAnswerModel(adapter.observer(Endpoint.CHAT_COMPLETIONS, false, firstRewrite)));
    }

    /** The model a translated whole answer names. */
    private static String wholeAnswerModel(ResponseObserver observer) throws Exception {
        ByteBuf upstream = Unpooled.copiedBuffer("""
                {"candidates": [{"content": {"parts": [{"text": "Hi!"}], "role": "model"}, "finishReason": "STOP"}],
                 "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 2, "totalTokenCount": 6}}
                """, StandardCharsets.UTF_8);
        try {
            observer.onBody(upstream);
            ByteBuf translated = observer.translateBody(upstream, ALLOC);
            try {
                return JSON.readTree(translated.toString(StandardCharsets.UTF_8)).path("model").asText();
            } finally {
                translated.release();
            }
        } finally {
            upstream.release();
        }
    }

    @Test
    void forwardsNativeRequestsUnchangedAndTranslatesChatOnes() throws Exception {
        ObjectNode native_ = (ObjectNode) JSON.readTree("{\"contents\": [{\"parts\": [{\"text\": \"Hi\"}]}]}");
        assertSame(ProviderAdapter.Rewrite.UNCHANGED,
                adapter.rewrite(Endpoint.GEMINI_STREAM_GENERATE, native_, "gemini-2.5-flash", true));

        ObjectNode chat = (ObjectNode) JSON.readTree("""
                {"model": "flash", "stream": true, "stream_options": {"include_usage": true},
                 "messages": [{"role": "user", "content": "Hi"}]}""");
        ProviderAdapter.Rewrite rewrite = adapter.rewrite(Endpoint.CHAT_COMPLETIONS, chat, "gemini-2.5-flash", true);
        assertTrue(rewrite.bodyChanged());
        assertFalse(rewrite.usageEventInjected(), "the client asked for the usage chunk");
        assertEquals("{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"Hi\"}]}]}", chat.toString());
        adapter.observer(Endpoint.CHAT_COMPLETIONS, true, rewrite);
    }

    @Test
    void translatesAStreamedAnswerIntoChatChunksNamingTheClientsModel() throws Exception {
        ObjectNode body = (ObjectNode) JSON.readTree("""
                {"model": "flash", "stream": true, "messages": [{"role": "user", "content": "Hi"}]}""");
        ProviderAdapter.Rewrite rewrite = adapter.rewrite(Endpoint.CHAT_COMPLETIONS, body, "gemini-2.5-flash", true);
        ResponseObserver observer = adapter.observer(Endpoint.CHAT_COMPLETIONS, true, rewrite);

        StringBuilder client = new StringBuilder();
        for (String event : List.of(
                "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hello\"}],\"role\":\"model\"},\"index\":0}],"
                        + "\"usageMetadata\":{\"promptTokenCount\":3,\"totalTokenCount\":3},\"modelVersion\":\"gemini-2.5-flash\"}\r\n\r\n",
                "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\" there\"}],\"role\":\"model\"},"
                        + "\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":3,"
                        + "\"candidatesTokenCount\":2,\"totalTokenCount\":5},\"modelVersion\":\"gemini-2.5-flash\"}\r\n\r\n")) {
            client.append(relay(observer, event));
        }

        String out = client.toString();
        assertTrue(out.startsWith("data: {\"id\":\"chatcmpl-"), out);
        assertTrue(out.contains("\"model\":\"flash\""), "the client's model name: " + out);
        assertTrue(out.contains("\"delta\":{\"content\":\"Hello\"}") && out.contains("\"delta\":{\"content\":\" there\"}"), out);
        assertTrue(out.contains("\"finish_reason\":\"stop\""), out);
        assertFalse(out.contains("\"usage\""), "not asked for: " + out);
        assertTrue(out.endsWith("data: [DONE]\n\n"), out);
        assertEquals(TokenUsage.of(3, 2), observer.usage());
        assertEquals("Hello there", observer.outputText());
    }

    @Test
    void translatesAWholeAnswerIntoAChatCompletion() throws Exception {
        ObjectNode body = (ObjectNode) JSON.readTree("{\"model\": \"flash\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}");
        ProviderAdapter.Rewrite rewrite = adapter.rewrite(Endpoint.CHAT_COMPLETIONS, body, "gemini-2.5-flash", false);
        ResponseObserver observer = adapter.observer(Endpoint.CHAT_COMPLETIONS, false, rewrite);
        assertTrue(observer.translatesBody());

        ByteBuf upstream = Unpooled.copiedBuffer("""
                {"candidates": [{"content": {"parts": [{"text": "Hi!"}], "role": "model"}, "finishReason": "STOP"}],
                 "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 2, "cachedContentTokenCount": 1,
                                   "totalTokenCount": 6}, "responseId": "abc"}
                """, StandardCharsets.UTF_8);
        JsonNode completion;
        try {
            observer.onBody(upstream);
            ByteBuf translated = observer.translateBody(upstream, ALLOC);
            try {
                completion = JSON.readTree(translated.toString(StandardCharsets.UTF_8));
            } finally {
                translated.release();
            }
        } finally {
            upstream.release();
        }
        assertEquals("chat.completion", completion.path("object").asText());
        assertEquals("abc", completion.path("id").asText());
        assertEquals("flash", completion.path("model").asText());
        assertEquals("Hi!", completion.at("/choices/0/message/content").asText());
        assertEquals("stop", completion.at("/choices/0/finish_reason").asText());
        assertEquals(JSON.readTree("""
                {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6,
                 "prompt_tokens_details": {"cached_tokens": 1}, "completion_tokens_details": {"reasoning_tokens": 0}}
                """), completion.get("usage"));
    }

    @Test
    void relaysNativeAnswersUntouched() {
        ResponseObserver observer = adapter.observer(Endpoint.GEMINI_STREAM_GENERATE, true, ProviderAdapter.Rewrite.UNCHANGED);
        assertFalse(observer.translatesBody());
        ByteBuf event = Unpooled.copiedBuffer("data: {\"candidates\": []}\n\n", StandardCharsets.UTF_8);
        try {
            assertTrue(observer.onEvent(event));
            assertNull(observer.translateEvent(event, ALLOC));
        } finally {
            event.release();
        }
    }

    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"{\"promptTokenCount\": -4, \"candidatesTokenCount\": 2}",
            "{\"promptTokenCount\": 4.5, \"candidatesTokenCount\": 2}",
            "{\"promptTokenCount\": 4, \"candidatesTokenCount\": \"2\"}",
            "{\"promptTokenCount\": 4, \"candidatesTokenCount\": 2, \"thoughtsTokenCount\": 1000000000000000}"})
    void rejectsUsageMetadataWithACountThatIsNotABelievableInteger(String metadata) {
        ResponseObserver observer = adapter.observer(Endpoint.GEMINI_GENERATE, false, ProviderAdapter.Rewrite.UNCHANGED);
        ByteBuf body = Unpooled.copiedBuffer("{\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Hi\"}]}}],"
                + " \"usageMetadata\": " + metadata + "}", StandardCharsets.UTF_8);
        try {
            observer.onBody(body);
            assertNull(observer.usage(), metadata);
            assertTrue(observer.usageRejected(), metadata);
            assertEquals("Hi", observer.outputText());
        } finally {
            body.release();
        }
    }

    @ParameterizedTest
    @CsvSource({"STOP, false, stop", "STOP, true, tool_calls", "MAX_TOKENS, false, length",
            "SAFETY, false, content_filter", "RECITATION, false, content_filter", "PROHIBITED_CONTENT, false, content_filter",
            "MALFORMED_FUNCTION_CALL, false, malformed_function_call", "OTHER, false, other"})
    void mapsFinishReasonsToOpenAisWords(String gemini, boolean calledFunction, String openAi) {
        assertEquals(openAi, GeminiResponseObserver.finishReason(gemini, calledFunction));
    }

    @Test
    void countsToolUsePromptsAsInputAndThoughtsAsReasoningOutput() throws Exception {
        assertEquals(new TokenUsage(130, 50, 0, 45, 15), GeminiResponseObserver.parseUsage(JSON.readTree("""
                {"promptTokenCount": 100, "toolUsePromptTokenCount": 30, "cachedContentTokenCount": 50,
                 "candidatesTokenCount": 30, "thoughtsTokenCount": 15, "totalTokenCount": 175}""")));
    }

    @Test
    void readsABlockedPromptAsContentFilteredWithItsUsage() {
        ResponseObserver observer = adapter.observer(Endpoint.GEMINI_GENERATE, false, ProviderAdapter.Rewrite.UNCHANGED);
        ByteBuf body = Unpooled.copiedBuffer("""
                {"promptFeedback": {"blockReason": "SAFETY"},
                 "usageMetadata": {"promptTokenCount": 12, "totalTokenCount": 12}}""", StandardCharsets.UTF_8);
        try {
            observer.onBody(body);
        } finally {
            body.release();
        }
        assertEquals("content_filter", observer.finishReason());
        assertEquals(TokenUsage.of(12, 0), observer.usage());
    }

    /** What the client gets for one upstream event, as the proxy relays it. */
    private static String relay(ResponseObserver observer, String event) {
        ByteBuf in = Unpooled.copiedBuffer(event, StandardCharsets.UTF_8);
        try {
            assertTrue(observer.onEvent(in));
            ByteBuf out = observer.translateEvent(in, ALLOC);
            try {
                return out.toString(StandardCharsets.UTF_8);
            } finally {
                out.release();
            }
        } finally {
            in.release();
        }
    }
}
