package dev.tokenwise.providers.openai;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenwise.core.model.TokenUsage;
import dev.tokenwise.core.testing.LeakDetectingExtension;
import dev.tokenwise.providers.SseData;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@link OpenAiResponseObserver} reading chat completions with the streaming parser ({@link ChatCompletionScanner}):
 * fields in any order, look-alike fields nested elsewhere, and the payloads it leaves to the tree.
 */
@ExtendWith(LeakDetectingExtension.class)
class OpenAiResponseObserverStreamingTest {

    private static final String USAGE = """
            {"prompt_tokens": 19, "completion_tokens": 2, "total_tokens": 21,
             "prompt_tokens_details": {"cached_tokens": 8}, "completion_tokens_details": {"reasoning_tokens": 1}}""";
    private static final TokenUsage PARSED_USAGE = new TokenUsage(19, 8, 0, 2, 1);

    private static ByteBuf buffer(String text) {
        return Unpooled.copiedBuffer(text, StandardCharsets.UTF_8);
    }

    /** Hands {@code json} to the observer as one SSE event, and returns whether the event is forwarded. */
    private static boolean event(OpenAiResponseObserver observer, String json) {
        ByteBuf buf = buffer("data: " + json.replace('\n', ' ') + "\n\n");
        try {
            boolean forward = observer.onEvent(buf);
            assertEquals(0, buf.readerIndex(), "the event is borrowed");
            return forward;
        } finally {
            buf.release();
        }
    }

    private static OpenAiResponseObserver body(String json) {
        OpenAiResponseObserver observer = new OpenAiResponseObserver(false);
        ByteBuf buf = buffer(json);
        try {
            observer.onBody(buf);
            assertEquals(0, buf.readerIndex(), "the body is borrowed");
        } finally {
            buf.release();
        }
        return observer;
    }

    private static String chunk(String choices, String usage) {
        return """
                {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1741569952, "model": "gpt-4o",
                 "system_fingerprint": "fp_1", "choices": [%s], "usage": %s}""".formatted(choices, usage);
    }

    @Test
    void readsTheServiceTierTheProviderServedFromChunksBodiesAndResponsesEvents() {
        OpenAiResponseObserver streamed = new OpenAiResponseObserver(false);
        assertNull(streamed.serviceTier(), "nothing said yet");
        assertTrue(event(streamed, """
                {"id": "c", "object": "chat.completion.chunk", "service_tier": "flex",
                 "choices": [{"index": 0, "delta": {"content": "Hi"}}]}"""));
        assertTrue(event(streamed, """
                {"id": "c", "object": "chat.completion.chunk", "choices": [], "usage": %s, "service_tier": "flex"}"""
                .formatted(USAGE)));
        assertEquals(dev.tokenwise.core.model.ServiceTier.FLEX, streamed.serviceTier());

        assertEquals(dev.tokenwise.core.model.ServiceTier.PRIORITY, body("""
                {"id": "c", "object": "chat.completion", "choices": [{"message": {"content": "Hi"}}],
                 "service_tier": "priority", "usage": %s}""".formatted(USAGE)).serviceTier());
        assertEquals(dev.tokenwise.core.model.ServiceTier.STANDARD, body("""
                {"id": "c", "object": "chat.completion", "service_tier": "default", "choices": []}""").serviceTier());
        // Escaped, the byte pass leaves it to the parser, which reads the same tier.
        assertEquals(dev.tokenwise.core.model.ServiceTier.FLEX, body("""
                {"id": "c", "object": "chat.completion", "service_tier": "fl\\u0065x", "choices": []}""").serviceTier());

        OpenAiResponseObserver responses = new OpenAiResponseObserver(false);
        assertTrue(event(responses, """
                {"type": "response.completed", "response": {"id": "resp_1", "object": "response", "status": "completed",
                 "service_tier": "flex", "usage": {"input_tokens": 5, "output_tokens": 2}}}"""));
        assertEquals(dev.tokenwise.core.model.ServiceTier.FLEX, responses.serviceTier());
        assertEquals(dev.tokenwise.core.model.ServiceTier.FLEX, body("""
                {"id": "resp_1", "object": "response", "status": "completed", "service_tier": "flex",
                 "usage": {"input_tokens": 5, "output_tokens": 2}}""").serviceTier());
    }

    @Test
    void reportsAnErrorSentInTheMiddleOfAChatStream() {
        OpenAiResponseObserver observer = new OpenAiResponseObserver(false);
        event(observer, chunk("{\"index\":0,\"delta\":{\"content\":\"Hel\"},\"finish_reason\":null}", "null"));
        assertNull(observer.streamError());

        assertTrue(event(observer, "{\"error\": {\"message\": \"The server had an error\", \"type\": \"server_error\"}}"));

        assertEquals("server_error: The server had an error", observer.streamError());
        assertEquals("Hel", observer.outputText());
    }

    @Test
    void reportsAResponsesStreamsErrorEventAndFailedResponse() {
        OpenAiResponseObserver errorEvent = new OpenAiResponseObserver(false);
        event(errorEvent, "{\"type\": \"error\", \"code\": \"server_error\", \"message\": \"boom\", \"param\": null}");
        assertEquals("server_error: boom", errorEvent.streamError());

        OpenAiResponseObserver failed = new OpenAiResponseObserver(false);
        event(failed, "{\"type\": \"response.failed\", \"response\": {\"status\": \"failed\", \"error\":"
                + " {\"code\": \"server_error\", \"message\": \"gone\"}, \"output\": []}}");
        assertEquals("server_error: gone", failed.streamError());
    }

    @Test
    void recordsAResponsesFunctionCallAsToolCallsAsAChatCompletionWould() {
        OpenAiResponseObserver whole = body("""
                {"id": "resp_1", "object": "response", "status": "completed",
                 "output": [{"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "get_weather",
                             "arguments": "{\\"city\\":\\"Paris\\"}", "status": "completed"}],
                 "usage": {"input_tokens": 20, "output_tokens": 9, "total_tokens": 29}}""");
        assertEquals("tool_calls", whole.finishReason());
        assertEquals("get_weather{\"city\":\"Paris\"}", whole.outputText());

        OpenAiResponseObserver streamed = new OpenAiResponseObserver(false);
        event(streamed, "{\"type\": \"response.output_item.added\", \"output_index\": 0, \"item\": {\"type\":"
                + " \"function_call\", \"name\": \"get_weather\", \"arguments\": \"\"}}");
        event(streamed, "{\"type\": \"response.function_call_arguments.delta\", \"delta\": \"{}\"}");
        event(streamed, "{\"type\": \"response.completed\", \"response\": {\"status\": \"completed\","
                + " \"output\": [{\"type\": \"function_call\", \"name\": \"get_weather\", \"arguments\": \"{}\"}],"
                + " \"usage\": {\"input_tokens\": 20, \"output_tokens\": 9}}}");
        assertEquals("tool_calls", streamed.finishReason());
        assertEquals("get_weather{}", streamed.outputText());
    }

    @Test
    void readsUsageWhenItArrivesBeforeChoices() {
        OpenAiResponseObserver streamed = new OpenAiResponseObserver(false);
        assertTrue(event(streamed, """
                {"usage": %s, "id": "c", "choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": "stop"}]}
                """.formatted(USAGE)));
        assertEquals(PARSED_USAGE, streamed.usage());
        assertEquals("Hi", streamed.outputText());
        assertEquals("stop", streamed.finishReason());

        OpenAiResponseObserver whole = body("""
                {"usage": %s, "choices": [{"finish_reason": "length", "message": {"content": "Hello"}}],
                 "object": "chat.completion", "id": "c"}""".formatted(USAGE));
        assertEquals(PARSED_USAGE, whole.usage());
        assertEquals("Hello", whole.outputText());
        assertEquals("length", whole.finishReason());
    }

    @Test
    void readsAResponsesObjectWhoseObjectFieldComesAfterChoices() {
        OpenAiResponseObserver observer = body("""
                {"id": "resp_1", "choices": [{"message": {"content": "chat "}, "finish_reason": "stop"}],
                 "output": [{"type": "message", "content": [{"type": "output_text", "text": "Hello"}]}],
                 "usage": {"input_tokens": 5, "output_tokens": 2}, "status": "incomplete",
                 "incomplete_details": {"reason": "max_output_tokens"}, "object": "response"}""");
        assertEquals("chat Hello", observer.outputText(), "choices, then the Responses output, as the tree reads them");
        assertEquals("length", observer.finishReason());
        assertEquals(TokenUsage.of(5, 2), observer.usage());
    }

    @Test
    void readsAResponsesEventWhoseTypeComesAfterOtherFields() {
        OpenAiResponseObserver observer = new OpenAiResponseObserver(false);
        assertTrue(event(observer, """
                {"item_id": "msg_1", "choices": [{"delta": {"content": "not this"}}], "delta": "Hi",
                 "type": "response.output_text.delta"}"""));
        assertTrue(event(observer, """
                {"sequence_number": 9, "response": {"id": "resp_1", "status": "completed",
                 "usage": {"input_tokens": 7, "output_tokens": 1, "input_tokens_details": {"cached_tokens": 4}}},
                 "type": "response.completed"}"""));
        assertEquals("Hi", observer.outputText());
        assertEquals("stop", observer.finishReason());
        assertEquals(new TokenUsage(7, 4, 0, 1, 0), observer.usage());
    }

    @Test
    void stillReadsResponsesEventsThatStartWithTheirType() {
        OpenAiResponseObserver observer = new OpenAiResponseObserver(true);
        assertTrue(event(observer, """
                {"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 0, "delta": "Hello"}"""));
        assertTrue(event(observer, """
                {"type": "response.incomplete", "response": {"status": "incomplete",
                 "incomplete_details": {"reason": "content_filter"}, "usage": {"input_tokens": 3, "output_tokens": 1},
                 "output": [{"content": [{"type": "output_text", "text": "Hello"}]}]}}"""));
        assertEquals("Hello", observer.outputText());
        assertEquals("content_filter", observer.finishReason());
        assertEquals(TokenUsage.of(3, 1), observer.usage());
    }

    @Test
    void ignoresFieldsOfTheSameNamesInsideLogprobsAndOtherObjects() {
        OpenAiResponseObserver observer = new OpenAiResponseObserver(false);
        assertTrue(event(observer, """
                {"id": "chatcmpl-1", "object": "chat.completion.chunk",
                 "metadata": {"usage": {"prompt_tokens": 998}, "type": "response.completed",
                              "choices": [{"delta": {"content": "no"}, "finish_reason": "no"}]},
                 "choices": [{"index": 0,
                   "delta": {"content": "Hi", "extra": {"content": "no", "tool_calls": [
                     {"function": {"name": "no", "arguments": "no"}}]}},
                   "logprobs": {"content": [{"token": "Hi", "logprob": -0.1, "bytes": [72, 105], "top_logprobs": [
                       {"token": "Hey", "logprob": -2.3, "bytes": [72, 101, 121]}]}],
                     "usage": {"prompt_tokens": 999, "completion_tokens": 999}, "finish_reason": "no",
                     "choices": [{"delta": {"content": "no"}}]},
                   "finish_reason": null}],
                 "usage": null}"""));
        assertEquals("Hi", observer.outputText());
        assertNull(observer.usage(), "only the top-level usage counts");
        assertNull(observer.finishReason());
    }

    @Test
    void doesNotReadJsonInsideAToolCallsArgumentsString() {
        OpenAiResponseObserver observer = new OpenAiResponseObserver(true);
        String arguments = "{\\\"usage\\\": {\\\"prompt_tokens\\\": 5}, \\\"choices\\\": []}";
        assertTrue(event(observer, chunk("""
                {"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                 "function": {"name": "lookup", "arguments": "%s"}}]}, "finish_reason": null}""".formatted(arguments),
                "null")));
        assertEquals("lookup{\"usage\": {\"prompt_tokens\": 5}, \"choices\": []}", observer.outputText());
        assertNull(observer.usage());
    }

    @Test
    void appendsContentBeforeToolCallsAndNamesBeforeArgumentsWhateverTheirOrder() {
        OpenAiResponseObserver observer = body("""
                {"choices": [{"finish_reason": "tool_calls", "message": {
                  "tool_calls": [
                    {"function": {"arguments": "{\\"city\\":\\"Paris\\"}", "name": "weather"}, "type": "function"},
                    {"type": "function", "function": {"name": "time", "arguments": "{}"}}],
                  "content": "Let me check. ", "role": "assistant"}}],
                 "object": "chat.completion"}""");
        assertEquals("Let me check. weather{\"city\":\"Paris\"}time{}", observer.outputText());
        assertEquals("tool_calls", observer.finishReason());
    }

    @Test
    void decodesEscapedUnicodeInContent() {
        OpenAiResponseObserver observer = new OpenAiResponseObserver(false);
        assertTrue(event(observer, chunk("""
                {"index": 0, "delta": {"content": "caf\\u00e9 \\ud83d\\ude00 \\"q\\"\\n\\u4e16"}, "finish_reason": null}""",
                "null")));
        assertTrue(event(observer, chunk("""
                {"index": 0, "delta": {"content": " déjà 世界"}, "finish_reason": null}""", "null")));
        assertEquals("café \uD83D\uDE00 \"q\"\n世 déjà 世界", observer.outputText());
    }

    @Test
    void appendsTheTextsOfEveryChoiceInOrderAndKeepsTheLastFinishReason() {
        OpenAiResponseObserver observer = body("""
                {"object": "chat.completion", "choices": [
                  {"index": 0, "message": {"content": "first"}, "finish_reason": "stop"},
                  {"index": 1, "message": {"content": null}, "finish_reason": null},
                  {"index": 2, "message": {"content": " third"}, "finish_reason": "length"},
                  {"index": 3, "message": {"content": 42}, "finish_reason": 7}]}""");
        assertEquals("first third", observer.outputText());
        assertEquals("length", observer.finishReason());
    }

    @Test
    void skipsNullContent() {
        OpenAiResponseObserver observer = new OpenAiResponseObserver(false);
        assertTrue(event(observer, chunk("""
                {"index": 0, "delta": {"role": "assistant", "content": null, "refusal": null}, "finish_reason": null}""",
                "null")));
        assertEquals("", observer.outputText());
        assertNull(observer.finishReason());
    }

    @Test
    void readsNoUsageFromAChunkWithNullUsage() {
        OpenAiResponseObserver observer = new OpenAiResponseObserver(true);
        assertTrue(event(observer, chunk("", "null")), "an empty chunk without usage is forwarded");
        assertTrue(event(observer, chunk("""
                {"index": 0, "delta": {"content": "Hi"}, "finish_reason": null}""", "null")));
        assertNull(observer.usage());
        assertEquals("Hi", observer.outputText());
    }

    @Test
    void dropsOnlyAUsageChunkWithoutChoicesWhenItWasInjected() {
        OpenAiResponseObserver injected = new OpenAiResponseObserver(true);
        assertTrue(event(injected, chunk("""
                {"index": 0, "delta": {"content": "Hi"}, "finish_reason": "stop"}""", USAGE)),
                "a usage chunk that still has choices is forwarded");
        assertFalse(event(injected, "{\"usage\": " + USAGE + ", \"choices\": [], \"id\": \"c\"}"));
        assertTrue(event(injected, "{\"usage\": " + USAGE + ", \"id\": \"c\"}"), "no choices array: forwarded");
        assertTrue(event(injected, "{\"usage\": " + USAGE + ", \"choices\": null}"));
        assertTrue(event(injected, "[DONE]"));
        assertEquals(PARSED_USAGE, injected.usage());
        assertEquals("Hi", injected.outputText());

        OpenAiResponseObserver asked = new OpenAiResponseObserver(false);
        assertTrue(event(asked, chunk("", USAGE)), "the client asked for the usage chunk");
        assertEquals(PARSED_USAGE, asked.usage());
    }

    @Test
    void keepsTheLastOfARepeatedFieldAsTheTreeDoes() {
        OpenAiResponseObserver observer = new OpenAiResponseObserver(false);
        assertTrue(event(observer, """
                {"choices": [{"delta": {"content": "dropped"}}], "usage": {"prompt_tokens": 1},
                 "choices": [{"delta": {"content": "kept", "content": " last"}, "finish_reason": "stop",
                              "finish_reason": null}],
                 "usage": null}"""));
        assertEquals(" last", observer.outputText());
        assertNull(observer.finishReason());
        assertNull(observer.usage());
    }

    @Test
    void readsEmbeddingListsWithoutReadingTheVectors() {
        OpenAiResponseObserver observer = body("""
                {"object": "list", "data": [{"object": "embedding", "index": 0,
                  "embedding": [0.0023064255, -0.009327292, 0.015797347, {"usage": {"prompt_tokens": 9}}]}],
                 "model": "text-embedding-3-small", "usage": {"prompt_tokens": 8, "total_tokens": 8}}""");
        assertEquals(TokenUsage.of(8, 0), observer.usage());
        assertEquals("", observer.outputText());
    }

    @Test
    void readsDirectBuffersAndSlicesOfLargerArrays() {
        String event = "data: " + chunk("""
                {"index": 0, "delta": {"content": "Hi"}, "finish_reason": "stop"}""", USAGE).replace('\n', ' ') + "\n\n";
        byte[] bytes = event.getBytes(StandardCharsets.UTF_8);
        for (Function<byte[], ByteBuf> make : List.<Function<byte[], ByteBuf>>of(
                b -> Unpooled.directBuffer(b.length).writeBytes(b),
                b -> Unpooled.wrappedBuffer(new byte[7], b, new byte[3]).slice(7, b.length),
                b -> {
                    byte[] larger = new byte[b.length + 13];
                    System.arraycopy(b, 0, larger, 9, b.length);
                    return Unpooled.wrappedBuffer(larger).slice(9, b.length); // arrayOffset 9
                },
                b -> Unpooled.buffer(b.length + 16).writeZero(11).writeBytes(b).writeZero(5).readerIndex(11)
                        .writerIndex(11 + b.length))) {
            OpenAiResponseObserver observer = new OpenAiResponseObserver(false);
            ByteBuf buf = make.apply(bytes);
            try {
                assertTrue(observer.onEvent(buf));
            } finally {
                buf.release();
            }
            assertEquals("Hi", observer.outputText());
            assertEquals("stop", observer.finishReason());
            assertEquals(PARSED_USAGE, observer.usage());
        }
    }

    @Test
    void reportsMalformedJsonAsTheTreeParseDidAndKeepsWhatWasRead() {
        OpenAiResponseObserver observer = new OpenAiResponseObserver(false);
        assertTrue(event(observer, chunk("""
                {"index": 0, "delta": {"content": "Hi"}, "finish_reason": null}""", "null")));
        for (String bad : new String[] {
                "{\"choices\": [{\"delta\": {\"content\": \" truncated\"}}], \"usage\": {\"prompt_tokens\": 1",
                "{\"choices\": [{\"delta\": {\"content\": \" bad\"}, \"finish_reason\": \"stop\"}], \"id\": tru}",
                "{\"choices\": [{\"delta\": {\"content\": \" bad\"}}], \"created\": " + "1".repeat(1001) + "}",
                "not json"}) {
            ByteBuf data = buffer(bad);
            ByteBuf buf = buffer("data: " + bad + "\n\n");
            try {
                UncheckedIOException expected = assertThrows(UncheckedIOException.class, () -> SseData.json(data));
                UncheckedIOException thrown = assertThrows(UncheckedIOException.class, () -> observer.onEvent(buf));
                assertEquals(expected.getMessage(), thrown.getMessage());
                assertTrue(thrown.getMessage().startsWith("not JSON: "), thrown.getMessage());
            } finally {
                data.release();
                buf.release();
            }
        }
        assertEquals("Hi", observer.outputText(), "nothing of a payload that is not JSON is kept");
        assertNull(observer.finishReason());
        assertNull(observer.usage());
    }
}
