package dev.tokenwise.providers.translate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenwise.core.model.TokenUsage;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Translates one Gemini answer ({@code GenerateContentResponse}, whole or streamed) into OpenAI's chat completion
 * shape. The caller (the Gemini response observer) reads usage and finish reason first and hands them in already
 * normalised, so this class only reshapes.
 *
 * <p>Of the first candidate, {@code text} parts become {@code content} and {@code functionCall} parts
 * {@code tool_calls} (the {@code args} as the arguments' JSON text; the id carries the part's
 * {@code thoughtSignature}, see {@link ToolCallIds}, which is also put in {@code extra_content.google}); thought parts
 * ({@code thought: true}) are not shown. In a stream every event's parts become chunks as they come; the event that
 * brings the finish reason (or blocks the prompt) also brings the finish chunk, the usage chunk when the client asked
 * for it, and {@code [DONE]}, since a Gemini stream has no closing event of its own.
 */
public final class GeminiToChat {
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private final String model;
    private final long created;
    private final OpenAiChatJson.Chunks chunks;
    private int toolCalls;

    /**
     * @param model the client's name for the model, or {@code null} to name Gemini's {@code modelVersion}
     * @param includeUsage for a stream: the client asked for the usage chunk
     */
    public GeminiToChat(String model, boolean includeUsage) {
        this.model = model;
        this.created = System.currentTimeMillis() / 1000;
        this.chunks = new OpenAiChatJson.Chunks(newId(), model, created, includeUsage);
    }

    /**
     * One streamed {@code GenerateContentResponse}.
     *
     * @param usage the usage read so far, normalised
     * @param finishReason the finish reason read so far in OpenAI's words; non-null once the answer is complete
     */
    public void onEvent(JsonNode response, TokenUsage usage, String finishReason) {
        if (chunks.ended()) {
            return;
        }
        JsonNode error = response.get("error");
        if (error != null && error.isObject()) {
            // An error Gemini reported inside the stream: passed on as OpenAI streams carry one.
            chunks.error(error.path("message").asText("provider error"), error.path("status").asText("api_error"));
            return;
        }
        chunks.describe(response.path("responseId").asText(null), response.path("modelVersion").asText(null));
        chunks.start();
        for (JsonNode part : response.path("candidates").path(0).path("content").path("parts")) {
            if (part.path("thought").asBoolean(false)) {
                continue;
            }
            JsonNode text = part.get("text");
            if (text != null && text.isTextual()) {
                chunks.content(text.textValue());
            }
            JsonNode call = part.get("functionCall");
            if (call != null && call.isObject()) {
                chunks.toolCall(toolCalls++, toolCall(part, call));
            }
        }
        if (finishReason != null) {
            chunks.finish(finishReason);
            chunks.end(usage);
        }
    }

    /** The chunks written since the last call, possibly none. */
    public byte[] drain() {
        return chunks.drain();
    }

    /**
     * A whole {@code GenerateContentResponse} as a {@code chat.completion}.
     *
     * @param usage its usage, normalised, or {@code null}
     * @param finishReason its finish reason in OpenAI's words
     */
    public byte[] completion(JsonNode response, TokenUsage usage, String finishReason) {
        StringBuilder text = null;
        List<OpenAiChatJson.ToolCall> calls = new ArrayList<>();
        for (JsonNode part : response.path("candidates").path(0).path("content").path("parts")) {
            if (part.path("thought").asBoolean(false)) {
                continue;
            }
            JsonNode t = part.get("text");
            if (t != null && t.isTextual()) {
                if (text == null) {
                    text = new StringBuilder();
                }
                text.append(t.textValue());
            }
            JsonNode call = part.get("functionCall");
            if (call != null && call.isObject()) {
                calls.add(toolCall(part, call));
            }
        }
        String id = response.path("responseId").asText("");
        return OpenAiChatJson.completion(id.isEmpty() ? newId() : id, created,
                model != null ? model : response.path("modelVersion").asText(null),
                text == null ? null : text.toString(), calls, finishReason, usage);
    }

    private static OpenAiChatJson.ToolCall toolCall(JsonNode part, JsonNode call) {
        JsonNode args = call.get("args");
        String signature = part.path("thoughtSignature").asText(null);
        ObjectNode extra = null;
        if (signature != null) {
            extra = NODES.objectNode();
            extra.putObject("google").put("thought_signature", signature);
        }
        return new OpenAiChatJson.ToolCall(ToolCallIds.forGeminiCall(call.path("id").asText(null), signature),
                call.path("name").asText(), args == null || args.isNull() ? "{}" : args.toString(), extra);
    }

    private static String newId() {
        return "chatcmpl-" + Long.toHexString(ThreadLocalRandom.current().nextLong() | Long.MIN_VALUE);
    }
}
