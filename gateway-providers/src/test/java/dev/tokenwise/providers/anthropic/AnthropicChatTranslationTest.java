package dev.tokenwise.providers.anthropic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenwise.core.error.GatewayException;
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

/** OpenAI chat completions for Anthropic models: the adapter's rewrite and its observer's translation, wired. */
@ExtendWith(LeakDetectingExtension.class)
class AnthropicChatTranslationTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ByteBufAllocator ALLOC = UnpooledByteBufAllocator.DEFAULT;
    private final AnthropicAdapter adapter = new AnthropicAdapter("sk-ant");

    private ResponseObserver call(String body, boolean stream) throws Exception {
        ObjectNode node = (ObjectNode) JSON.readTree(body);
        ProviderAdapter.Rewrite rewrite = adapter.rewrite(Endpoint.CHAT_COMPLETIONS, node, "claude-sonnet-4-5-20250929", stream);
        assertTrue(rewrite.bodyChanged());
        assertEquals("claude-sonnet-4-5-20250929", node.path("model").asText());
        return adapter.observer(Endpoint.CHAT_COMPLETIONS, stream, rewrite);
    }

    @Test
    void answersAChatWithAChatCompletionAndBillsAnthropicsUsage() throws Exception {
        ResponseObserver observer = call("""
                {"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "Hi"}]}""", false);
        assertTrue(observer.translatesBody());

        ByteBuf upstream = Unpooled.copiedBuffer("""
                {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
                 "content": [{"type": "text", "text": "Hello!"}], "stop_reason": "max_tokens",
                 "usage": {"input_tokens": 12, "cache_creation_input_tokens": 100, "cache_read_input_tokens": 2000,
                           "output_tokens": 40}}""", StandardCharsets.UTF_8);
        JsonNode completion;
        try {
            observer.onBody(upstream);
            ByteBuf out = observer.translateBody(upstream, ALLOC);
            try {
                completion = JSON.readTree(out.toString(StandardCharsets.UTF_8));
            } finally {
                out.release();
            }
        } finally {
            upstream.release();
        }

        assertEquals(new TokenUsage(2112, 2000, 100, 40, 0), observer.usage(), "the record keeps Anthropic's counts");
        assertEquals("claude-sonnet-4-5", completion.path("model").asText());
        assertEquals("Hello!", completion.at("/choices/0/message/content").asText());
        assertEquals("length", completion.at("/choices/0/finish_reason").asText());
        assertEquals(2112, completion.at("/usage/prompt_tokens").asLong(), "prompt tokens include cache reads and writes");
        assertEquals(2000, completion.at("/usage/prompt_tokens_details/cached_tokens").asLong());
        assertEquals(2152, completion.at("/usage/total_tokens").asLong());
    }

    @Test
    void streamsChunksAndTheUsageChunkOnlyWhenAskedFor() throws Exception {
        List<String> events = List.of(
                "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_2\",\"type\":\"message\","
                        + "\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5-20250929\",\"content\":[],\"stop_reason\":null,"
                        + "\"usage\":{\"input_tokens\":30,\"cache_read_input_tokens\":0,\"output_tokens\":1}}}\n\n",
                "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
                "event: ping\ndata: {\"type\": \"ping\"}\n\n",
                "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n",
                "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
                "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":5}}\n\n",
                "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");

        ResponseObserver asked = call("""
                {"model": "claude-sonnet-4-5", "stream": true, "stream_options": {"include_usage": true},
                 "messages": [{"role": "user", "content": "Hi"}]}""", true);
        String withUsage = relayAll(asked, events);
        assertTrue(withUsage.contains("\"choices\":[],\"usage\":{\"prompt_tokens\":30,\"completion_tokens\":5,"), withUsage);
        assertTrue(withUsage.endsWith("\"finish_reason\":\"stop\"}]}\n\ndata: {\"id\":\"msg_2\",\"object\":\"chat.completion.chunk\","
                + "\"created\":" + JSON.readTree(withUsage.split("\n\n")[0].substring(6)).path("created").asLong()
                + ",\"model\":\"claude-sonnet-4-5\",\"choices\":[],\"usage\":{\"prompt_tokens\":30,\"completion_tokens\":5,"
                + "\"total_tokens\":35,\"prompt_tokens_details\":{\"cached_tokens\":0},"
                + "\"completion_tokens_details\":{\"reasoning_tokens\":0}}}\n\ndata: [DONE]\n\n"), withUsage);

        ResponseObserver notAsked = call("""
                {"model": "claude-sonnet-4-5", "stream": true, "messages": [{"role": "user", "content": "Hi"}]}""", true);
        String withoutUsage = relayAll(notAsked, events);
        assertFalse(withoutUsage.contains("usage"), withoutUsage);
        assertEquals(4, withoutUsage.split("\n\n").length, "role, content, finish, [DONE]: " + withoutUsage);
        assertEquals(TokenUsage.of(30, 5), notAsked.usage(), "usage is billed whether or not the client sees it");
        assertEquals("Hi", notAsked.outputText());
        assertEquals("stop", notAsked.finishReason());
    }

    @Test
    void refusesBeforeForwardingWhatCannotBeTranslated() throws Exception {
        ObjectNode body = (ObjectNode) JSON.readTree("""
                {"model": "claude-sonnet-4-5", "n": 2, "messages": [{"role": "user", "content": "Hi"}]}""");
        GatewayException e = assertThrows(GatewayException.class,
                () -> adapter.rewrite(Endpoint.CHAT_COMPLETIONS, body, "claude-sonnet-4-5-20250929", false));
        assertEquals("cannot translate field n for anthropic: 2 choices (only 1 can be translated)", e.getMessage());
    }

    @Test
    void leavesNativeMessagesUntranslated() {
        ResponseObserver observer = adapter.observer(Endpoint.MESSAGES, true, ProviderAdapter.Rewrite.UNCHANGED);
        assertFalse(observer.translatesBody());
        ByteBuf event = Unpooled.copiedBuffer("event: ping\ndata: {\"type\": \"ping\"}\n\n", StandardCharsets.UTF_8);
        try {
            assertTrue(observer.onEvent(event));
            assertNull(observer.translateEvent(event, ALLOC));
        } finally {
            event.release();
        }
    }

    private static String relayAll(ResponseObserver observer, List<String> events) {
        StringBuilder client = new StringBuilder();
        for (String event : events) {
            ByteBuf in = Unpooled.copiedBuffer(event, StandardCharsets.UTF_8);
            try {
                assertTrue(observer.onEvent(in));
                ByteBuf out = observer.translateEvent(in, ALLOC);
                try {
                    client.append(out.toString(StandardCharsets.UTF_8));
                } finally {
                    out.release();
                }
            } finally {
                in.release();
            }
        }
        return client.toString();
    }
}
