package dev.tokenwise.providers.translate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenwise.core.model.TokenUsage;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class OpenAiChatJsonTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void writesACompletionWithEveryFieldStrictClientsExpect() throws Exception {
        byte[] json = OpenAiChatJson.completion("msg_1", 1700000000, "claude-sonnet-4-5", null,
                List.of(new OpenAiChatJson.ToolCall("toolu_1", "f", "{\"a\":1}", null)), "tool_calls",
                TokenUsage.of(10, 5));
        assertEquals(JSON.readTree("""
                {"id": "msg_1", "object": "chat.completion", "created": 1700000000, "model": "claude-sonnet-4-5",
                 "choices": [{"index": 0, "message": {"role": "assistant", "content": null, "refusal": null,
                   "tool_calls": [{"id": "toolu_1", "type": "function", "function": {"name": "f", "arguments": "{\\"a\\":1}"}}]},
                   "logprobs": null, "finish_reason": "tool_calls"}],
                 "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15,
                           "prompt_tokens_details": {"cached_tokens": 0}, "completion_tokens_details": {"reasoning_tokens": 0}}}
                """), JSON.readTree(json));
    }

    @Test
    void framesChunksAsServerSentEventsAndEndsWithUsageThenDone() {
        OpenAiChatJson.Chunks chunks = new OpenAiChatJson.Chunks("id-0", "m", 1, true);
        chunks.describe("msg_9", "provider-model");
        chunks.content("Hi");
        chunks.finish("stop");
        chunks.end(TokenUsage.of(3, 1));
        chunks.end(TokenUsage.of(3, 1));
        String out = new String(chunks.drain(), StandardCharsets.UTF_8);

        String[] events = out.split("\n\n");
        assertEquals(5, events.length, out);
        assertEquals("data: {\"id\":\"msg_9\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\","
                + "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,"
                + "\"finish_reason\":null}]}", events[0]);
        assertTrue(events[1].contains("\"delta\":{\"content\":\"Hi\"}"), events[1]);
        assertTrue(events[2].contains("\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\""), events[2]);
        assertTrue(events[3].contains("\"choices\":[],\"usage\":{\"prompt_tokens\":3,"), events[3]);
        assertEquals("data: [DONE]", events[4]);
        assertTrue(chunks.ended());
        assertEquals(0, chunks.drain().length, "drained");
    }

    @Test
    void leavesTheUsageChunkOutWhenTheClientDidNotAskForIt() {
        OpenAiChatJson.Chunks chunks = new OpenAiChatJson.Chunks("id-0", null, 1, false);
        chunks.describe(null, "gemini-2.5-flash");
        chunks.finish("length");
        chunks.end(TokenUsage.of(3, 1));
        String out = new String(chunks.drain(), StandardCharsets.UTF_8);

        assertTrue(out.contains("\"model\":\"gemini-2.5-flash\""), "the provider's model when the client's is unknown");
        assertTrue(!out.contains("usage"), out);
        assertTrue(out.endsWith("data: [DONE]\n\n"), out);
    }

    @Test
    void carriesGeminiThoughtSignaturesInTheToolCallId() {
        String id = ToolCallIds.forGeminiCall(null, "c2ln/+=");
        assertTrue(id.startsWith("call_") && id.endsWith("~ts~c2ln/+="), id);
        assertEquals("c2ln/+=", ToolCallIds.thoughtSignature(id, null));
        assertEquals("own", ToolCallIds.thoughtSignature(id, JSON.createObjectNode().set("google",
                JSON.createObjectNode().put("thought_signature", "own"))), "extra_content wins when the client kept it");
        assertEquals(null, ToolCallIds.thoughtSignature("call_abc", null));
        assertEquals("fc-1", ToolCallIds.forGeminiCall("fc-1", null), "Gemini's own id, when it gives one");
    }
}
