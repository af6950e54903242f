package dev.tokenwise.providers.anthropic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenwise.core.model.TokenUsage;
import dev.tokenwise.core.testing.LeakDetectingExtension;
import dev.tokenwise.core.model.ServiceTier;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(LeakDetectingExtension.class)
class AnthropicResponseObserverTest {

    private static void feed(AnthropicResponseObserver observer, String event) {
        ByteBuf buf = Unpooled.copiedBuffer(event, StandardCharsets.UTF_8);
        try {
            observer.onEvent(buf);
        } finally {
            buf.release();
        }
    }

    private static void body(AnthropicResponseObserver observer, String json) {
        ByteBuf buf = Unpooled.copiedBuffer(json, StandardCharsets.UTF_8);
        try {
            observer.onBody(buf);
        } finally {
            buf.release();
        }
    }

    @Test
    void readsOneHourCacheWritesAndTheServedTierFromTheUsageBreakdown() {
        // The usage Anthropic returns with cache_control ttl 1h (docs: prompt caching, "Tracking cache performance").
        AnthropicResponseObserver observer = new AnthropicResponseObserver();
        body(observer, """
                {"id": "msg_1", "type": "message", "role": "assistant", "content": [{"type": "text", "text": "ok"}],
                 "stop_reason": "end_turn", "usage": {"input_tokens": 50, "cache_read_input_tokens": 100000,
                 "cache_creation_input_tokens": 248, "output_tokens": 503,
                 "cache_creation": {"ephemeral_5m_input_tokens": 148, "ephemeral_1h_input_tokens": 100},
                 "service_tier": "priority"}}""");
        assertEquals(new TokenUsage(100_298, 100_000, 248, 503, 0, 100), observer.usage());
        assertEquals(ServiceTier.PRIORITY, observer.serviceTier());

        AnthropicResponseObserver streamed = new AnthropicResponseObserver();
        feed(streamed, "event: message_start\r\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_2\","
                + "\"content\":[],\"usage\":{\"input_tokens\":10,\"cache_creation_input_tokens\":0,"
                + "\"cache_read_input_tokens\":0,\"cache_creation\":{\"ephemeral_5m_input_tokens\":0,"
                + "\"ephemeral_1h_input_tokens\":2000},\"output_tokens\":1,\"service_tier\":\"standard\"}}}\r\n\r\n");
        feed(streamed, "event: message_delta\r\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
                + "\"end_turn\"},\"usage\":{\"output_tokens\":20}}\r\n\r\n");
        // The breakdown adds up to more than cache_creation_input_tokens says: the breakdown is believed.
        assertEquals(new TokenUsage(2_010, 0, 2_000, 20, 0, 2_000), streamed.usage());
        assertEquals(ServiceTier.STANDARD, streamed.serviceTier());
    }

    @Test
    void rejectsABreakdownCountThatIsNotABelievableInteger() {
        AnthropicResponseObserver observer = new AnthropicResponseObserver();
        body(observer, """
                {"content": [], "usage": {"input_tokens": 1, "output_tokens": 1,
                 "cache_creation": {"ephemeral_1h_input_tokens": -5}}}""");
        assertTrue(observer.usageRejected());
        assertNull(observer.usage());
    }

    @Test
    void mapsStopReasonsToOpenAiFinishReasons() {
        assertEquals("stop", AnthropicResponseObserver.finishReason("end_turn"));
        assertEquals("stop", AnthropicResponseObserver.finishReason("stop_sequence"));
        assertEquals("length", AnthropicResponseObserver.finishReason("max_tokens"));
        assertEquals("length", AnthropicResponseObserver.finishReason("model_context_window_exceeded"));
        assertEquals("tool_calls", AnthropicResponseObserver.finishReason("tool_use"));
        assertEquals("content_filter", AnthropicResponseObserver.finishReason("refusal"));
        assertEquals("pause_turn", AnthropicResponseObserver.finishReason("pause_turn"));
    }

    @Test
    void collectsStreamedToolInputAndReportsToolCalls() {
        AnthropicResponseObserver observer = new AnthropicResponseObserver();
        feed(observer, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\","
                + "\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-opus-4-5\","
                + "\"stop_reason\":null,\"usage\":{\"input_tokens\":472,\"output_tokens\":2}}}\n\n");
        feed(observer, "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
                + "\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_01\",\"name\":\"get_weather\",\"input\":{}}}\n\n");
        feed(observer, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
                + "\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"location\\\": \\\"San Fra\"}}\n\n");
        feed(observer, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
                + "\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"ncisco, CA\\\"}\"}}\n\n");
        feed(observer, "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\","
                + "\"stop_sequence\":null},\"usage\":{\"output_tokens\":89}}\n\n");

        assertEquals("get_weather{\"location\": \"San Francisco, CA\"}", observer.outputText());
        assertEquals("tool_calls", observer.finishReason());
        assertEquals(TokenUsage.of(472, 89), observer.usage());
    }

    @Test
    void takesUpdatedInputCountsFromMessageDelta() {
        AnthropicResponseObserver observer = new AnthropicResponseObserver();
        feed(observer, "event: message_start\r\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":"
                + "{\"input_tokens\":10,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\":1}}}\r\n\r\n");
        // Server tools (web search) add input while the message runs; message_delta then carries every count.
        feed(observer, "event: message_delta\r\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},"
                + "\"usage\":{\"input_tokens\":2679,\"cache_creation_input_tokens\":100,\"cache_read_input_tokens\":50,"
                + "\"output_tokens\":510,\"server_tool_use\":{\"web_search_requests\":1}}}\r\n\r\n");

        assertEquals(new TokenUsage(2679 + 100 + 50, 50, 100, 510, 0), observer.usage());
        assertEquals("stop", observer.finishReason());
    }

    @Test
    void countsThinkingAsProducedText() {
        AnthropicResponseObserver observer = new AnthropicResponseObserver();
        body(observer, """
                {"id": "msg_2", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
                 "content": [{"type": "thinking", "thinking": "Let me add. ", "signature": "EqQBCgIYAh"},
                             {"type": "text", "text": "2 + 2 = 4"},
                             {"type": "tool_use", "id": "toolu_2", "name": "calc", "input": {"expr": "2+2"}}],
                 "stop_reason": "stop_sequence", "stop_sequence": "###",
                 "usage": {"input_tokens": 30, "output_tokens": 40}}
                """);

        assertEquals("Let me add. 2 + 2 = 4calc{\"expr\":\"2+2\"}", observer.outputText());
        assertEquals("stop", observer.finishReason());
        assertEquals(TokenUsage.of(30, 40), observer.usage());
    }

    @Test
    void reportsAnErrorEventAsAStreamErrorWithNoUsageWithoutMessageStart() {
        AnthropicResponseObserver observer = new AnthropicResponseObserver();
        assertNull(observer.streamError());
        feed(observer, "event: error\ndata: {\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\","
                + " \"message\": \"Overloaded\"}}\n\n");

        assertNull(observer.usage());
        assertNull(observer.finishReason());
        assertEquals("overloaded_error: Overloaded", observer.streamError());
    }

    @Test
    void takesMessageStartsOutputCountAsARunningFigureUntilMessageDelta() {
        AnthropicResponseObserver observer = new AnthropicResponseObserver();
        feed(observer, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":"
                + "{\"input_tokens\":30,\"output_tokens\":1}}}\n\n");
        feed(observer, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
                + "\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello there\"}}\n\n");

        assertEquals(TokenUsage.of(30, 1), observer.usage());
        assertFalse(observer.usageFinal(), "message_start's output_tokens is a placeholder");

        feed(observer, "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
                + "\"end_turn\"},\"usage\":{\"output_tokens\":3}}\n\n");
        assertEquals(TokenUsage.of(30, 3), observer.usage());
        assertTrue(observer.usageFinal());
    }

    @Test
    void takesAWholeMessagesUsageAsFinal() {
        AnthropicResponseObserver observer = new AnthropicResponseObserver();
        body(observer, "{\"type\":\"message\",\"content\":[],\"usage\":{\"input_tokens\":3,\"output_tokens\":4}}");

        assertTrue(observer.usageFinal());
    }

    @Test
    void rejectsTheUsageOfAStreamOnceACountIsNotABelievableInteger() {
        AnthropicResponseObserver observer = new AnthropicResponseObserver();
        feed(observer, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":"
                + "{\"input_tokens\":472,\"output_tokens\":2}}}\n\n");
        assertEquals(TokenUsage.of(472, 2), observer.usage());
        feed(observer, "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{},\"usage\":{\"output_tokens\":-89}}\n\n");
        assertNull(observer.usage());
        assertTrue(observer.usageRejected());
        feed(observer, "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{},\"usage\":{\"output_tokens\":89}}\n\n");
        assertNull(observer.usage(), "rejected for good");
    }

    @Test
    void rejectsACountThatIsAFractionOrAString() {
        for (String usage : new String[] {"{\"input_tokens\":4.5,\"output_tokens\":2}", "{\"input_tokens\":4,\"output_tokens\":\"2\"}",
                "{\"input_tokens\":4,\"output_tokens\":2,\"cache_read_input_tokens\":1000000000000000}"}) {
            AnthropicResponseObserver observer = new AnthropicResponseObserver();
            ByteBuf body = Unpooled.copiedBuffer("{\"type\":\"message\",\"content\":[{\"type\":\"text\",\"text\":\"Hi\"}],\"usage\":"
                    + usage + "}", StandardCharsets.UTF_8);
            try {
                observer.onBody(body);
            } finally {
                body.release();
            }
            assertNull(observer.usage(), usage);
            assertTrue(observer.usageRejected(), usage);
            assertEquals("Hi", observer.outputText());
        }
    }
}
