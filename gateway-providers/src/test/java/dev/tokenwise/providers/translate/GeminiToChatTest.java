package dev.tokenwise.providers.translate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenwise.core.model.TokenUsage;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class GeminiToChatTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void turnsAResponseIntoACompletionLeavingThoughtsOut() throws Exception {
        JsonNode response = JSON.readTree("""
                {"candidates": [{"content": {"role": "model", "parts": [
                    {"text": "thinking...", "thought": true},
                    {"text": "It is "}, {"text": "sunny."},
                    {"functionCall": {"name": "log", "args": {"level": "info"}}, "thoughtSignature": "U2ln"}]},
                  "finishReason": "STOP", "index": 0}],
                 "usageMetadata": {"promptTokenCount": 8, "candidatesTokenCount": 4, "totalTokenCount": 12},
                 "modelVersion": "gemini-2.5-flash", "responseId": "resp-1"}
                """);
        JsonNode completion = JSON.readTree(new GeminiToChat("flash", false)
                .completion(response, TokenUsage.of(8, 4), "tool_calls"));

        assertEquals("resp-1", completion.path("id").asText());
        assertEquals("flash", completion.path("model").asText());
        assertEquals("It is sunny.", completion.at("/choices/0/message/content").asText());
        JsonNode call = completion.at("/choices/0/message/tool_calls/0");
        assertTrue(call.path("id").asText().endsWith("~ts~U2ln"), call.toString());
        assertEquals("{\"level\":\"info\"}", call.at("/function/arguments").asText());
        assertEquals("U2ln", call.at("/extra_content/google/thought_signature").asText());
        assertEquals("tool_calls", completion.at("/choices/0/finish_reason").asText());
        assertEquals(12, completion.at("/usage/total_tokens").asLong());
    }

    @Test
    void turnsAStreamIntoChunksAndEndsItWithTheFinishReason() throws Exception {
        GeminiToChat chat = new GeminiToChat("flash", false);
        List<JsonNode> chunks = new ArrayList<>();
        chat.onEvent(JSON.readTree("""
                {"candidates": [{"content": {"role": "model", "parts": [{"text": "Hel"}]}, "index": 0}],
                 "usageMetadata": {"promptTokenCount": 8, "totalTokenCount": 8}, "responseId": "r-2"}
                """), TokenUsage.of(8, 0), null);
        chunks.addAll(AnthropicToChatTest.events(chat.drain()));
        chat.onEvent(JSON.readTree("""
                {"candidates": [{"content": {"role": "model", "parts": [{"text": "lo"}]}, "finishReason": "MAX_TOKENS",
                  "index": 0}], "usageMetadata": {"promptTokenCount": 8, "candidatesTokenCount": 2, "totalTokenCount": 10},
                 "responseId": "r-2"}
                """), TokenUsage.of(8, 2), "length");
        chunks.addAll(AnthropicToChatTest.events(chat.drain()));
        chat.onEvent(JSON.readTree("{\"candidates\": []}"), TokenUsage.of(8, 2), "length");

        assertEquals(5, chunks.size(), chunks.toString());
        assertEquals("r-2", chunks.get(0).path("id").asText());
        assertEquals("assistant", chunks.get(0).at("/choices/0/delta/role").asText());
        assertEquals("Hel", chunks.get(1).at("/choices/0/delta/content").asText());
        assertEquals("lo", chunks.get(2).at("/choices/0/delta/content").asText());
        assertEquals("length", chunks.get(3).at("/choices/0/finish_reason").asText());
        assertEquals("[DONE]", chunks.get(4).asText(), "no usage chunk: the client did not ask for one");
        assertEquals(0, chat.drain().length, "nothing after [DONE]");
    }

    @Test
    void sendsEachFunctionCallAsAWholeToolCallChunk() throws Exception {
        GeminiToChat chat = new GeminiToChat("flash", true);
        chat.onEvent(JSON.readTree("""
                {"candidates": [{"content": {"role": "model", "parts": [
                    {"functionCall": {"name": "a", "args": {"x": 1}}}, {"functionCall": {"name": "b", "args": {}}}]},
                  "finishReason": "STOP"}],
                 "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 6, "thoughtsTokenCount": 3}}
                """), new TokenUsage(5, 0, 0, 9, 3), "tool_calls");
        List<JsonNode> chunks = AnthropicToChatTest.events(chat.drain());

        assertEquals(6, chunks.size(), chunks.toString());
        assertEquals(0, chunks.get(1).at("/choices/0/delta/tool_calls/0/index").asInt());
        assertEquals("a", chunks.get(1).at("/choices/0/delta/tool_calls/0/function/name").asText());
        assertEquals("{\"x\":1}", chunks.get(1).at("/choices/0/delta/tool_calls/0/function/arguments").asText());
        assertEquals(1, chunks.get(2).at("/choices/0/delta/tool_calls/0/index").asInt());
        assertEquals("tool_calls", chunks.get(3).at("/choices/0/finish_reason").asText());
        assertEquals(3, chunks.get(4).at("/usage/completion_tokens_details/reasoning_tokens").asLong());
    }
}
