package dev.tokenwise.providers.translate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenwise.core.model.TokenUsage;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class AnthropicToChatTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void turnsAMessageWithTextAndToolUseIntoACompletion() throws Exception {
        JsonNode message = JSON.readTree("""
                {"id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
                 "content": [{"type": "thinking", "thinking": "hidden", "signature": "s"},
                             {"type": "text", "text": "Let me check."},
                             {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}}],
                 "stop_reason": "tool_use", "usage": {"input_tokens": 10, "output_tokens": 20}}
                """);
        JsonNode completion = JSON.readTree(new AnthropicToChat("claude-sonnet-4-5", false)
                .completion(message, TokenUsage.of(10, 20), "tool_calls"));

        assertEquals("msg_01", completion.path("id").asText());
        assertEquals("claude-sonnet-4-5", completion.path("model").asText(), "the client's name for the model");
        assertEquals("Let me check.", completion.at("/choices/0/message/content").asText());
        assertEquals(JSON.readTree("""
                [{"id": "toolu_01", "type": "function", "function": {"name": "get_weather", "arguments": "{\\"city\\":\\"Paris\\"}"}}]
                """), completion.at("/choices/0/message/tool_calls"));
        assertEquals("tool_calls", completion.at("/choices/0/finish_reason").asText());
        assertEquals(30, completion.at("/usage/total_tokens").asLong());
    }

    @Test
    void showsTheJsonToolsInputAsTheContentOfAJsonObjectAnswer() throws Exception {
        JsonNode message = JSON.readTree("""
                {"id": "msg_02", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
                 "content": [{"type": "tool_use", "id": "toolu_02", "name": "json_object_output", "input": {"city": "Paris"}}],
                 "stop_reason": "tool_use", "usage": {"input_tokens": 10, "output_tokens": 20}}
                """);
        JsonNode completion = JSON.readTree(new AnthropicToChat("c", false, true)
                .completion(message, TokenUsage.of(10, 20), "stop"));

        assertEquals("{\"city\":\"Paris\"}", completion.at("/choices/0/message/content").asText());
        assertTrue(completion.at("/choices/0/message/tool_calls").isMissingNode());

        AnthropicToChat chat = new AnthropicToChat("c", false, true);
        StringBuilder content = new StringBuilder();
        for (String event : List.of(
                "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_8\",\"content\":[],\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}",
                "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_8\",\"name\":\"json_object_output\",\"input\":{}}}",
                "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\\\":\"}}",
                "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"1}\"}}",
                "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":9}}",
                "{\"type\":\"message_stop\"}")) {
            chat.onEvent(JSON.readTree(event), TokenUsage.of(5, 9), "stop");
            for (JsonNode chunk : events(chat.drain())) {
                assertTrue(chunk.at("/choices/0/delta/tool_calls").isMissingNode(), chunk.toString());
                content.append(chunk.at("/choices/0/delta/content").asText(""));
            }
        }
        assertEquals("{\"a\":1}", content.toString());
    }

    @Test
    void turnsAStreamWithTextAndAToolCallIntoChunks() throws Exception {
        AnthropicToChat chat = new AnthropicToChat(null, true);
        TokenUsage usage = TokenUsage.of(25, 9);
        List<JsonNode> chunks = new ArrayList<>();
        for (String event : List.of(
                "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_7\",\"model\":\"claude-haiku-4-5\",\"content\":[],\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}",
                "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}",
                "{\"type\":\"ping\"}",
                "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Checking\"}}",
                "{\"type\":\"content_block_stop\",\"index\":0}",
                "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_9\",\"name\":\"f\",\"input\":{}}}",
                "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\\\":\"}}",
                "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"1}\"}}",
                "{\"type\":\"content_block_stop\",\"index\":1}",
                "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":9}}",
                "{\"type\":\"message_stop\"}")) {
            chat.onEvent(JSON.readTree(event), usage, "tool_calls");
            chunks.addAll(events(chat.drain()));
        }

        assertEquals(8, chunks.size(), chunks.toString());
        assertEquals("{\"role\":\"assistant\",\"content\":\"\"}", chunks.get(0).at("/choices/0/delta").toString());
        assertEquals("msg_7", chunks.get(0).path("id").asText());
        assertEquals("claude-haiku-4-5", chunks.get(0).path("model").asText(), "Anthropic's name when the client's is unknown");
        assertEquals("Checking", chunks.get(1).at("/choices/0/delta/content").asText());
        assertEquals(JSON.readTree("""
                {"tool_calls": [{"index": 0, "id": "toolu_9", "type": "function", "function": {"name": "f", "arguments": ""}}]}
                """), chunks.get(2).at("/choices/0/delta"));
        assertEquals("{\"a\":", chunks.get(3).at("/choices/0/delta/tool_calls/0/function/arguments").asText());
        assertEquals("1}", chunks.get(4).at("/choices/0/delta/tool_calls/0/function/arguments").asText());
        assertEquals("tool_calls", chunks.get(5).at("/choices/0/finish_reason").asText());
        assertEquals(0, chunks.get(6).path("choices").size());
        assertEquals(34, chunks.get(6).at("/usage/total_tokens").asLong());
        assertEquals("[DONE]", chunks.get(7).asText());
    }

    @Test
    void relaysAnErrorEventInOpenAisShape() throws Exception {
        AnthropicToChat chat = new AnthropicToChat("m", false);
        chat.onEvent(JSON.readTree("{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}"),
                null, null);
        assertEquals(JSON.readTree("{\"error\": {\"message\": \"Overloaded\", \"type\": \"overloaded_error\", \"param\": null, \"code\": null}}"),
                events(chat.drain()).get(0));
    }

    /** The data of each SSE event; {@code [DONE]} as a text node. */
    static List<JsonNode> events(byte[] bytes) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (String event : new String(bytes, StandardCharsets.UTF_8).split("\n\n")) {
            if (event.isEmpty()) {
                continue;
            }
            String data = event.substring("data: ".length());
            out.add("[DONE]".equals(data) ? JSON.getNodeFactory().textNode(data) : JSON.readTree(data));
        }
        return out;
    }
}
