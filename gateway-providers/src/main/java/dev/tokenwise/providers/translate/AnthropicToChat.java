package dev.tokenwise.providers.translate;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tokenwise.core.model.TokenUsage;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Translates one Anthropic Messages answer into OpenAI's chat completion shape. The caller (the Anthropic response
 * observer) reads usage and stop reason from each event first and hands them in already normalised, so this class
 * only reshapes.
 *
 * <p>A {@code message} becomes a {@code chat.completion}: its {@code text} blocks joined as {@code content}
 * ({@code null} when there are none), its {@code tool_use} blocks as {@code tool_calls} (the input as the arguments'
 * JSON text). A stream becomes chunks:
 *
 * <table>
 *   <caption>Anthropic events and the chunks they become</caption>
 *   <tr><th>event</th><th>chunk</th></tr>
 *   <tr><td>{@code message_start}</td><td>{@code delta: {role: assistant, content: ""}} (id: the message's)</td></tr>
 *   <tr><td>{@code content_block_delta} {@code text_delta}</td><td>{@code delta: {content}}</td></tr>
 *   <tr><td>{@code content_block_start} {@code tool_use}</td><td>{@code delta: {tool_calls: [{index, id, type,
 *       function: {name, arguments: ""}}]}}</td></tr>
 *   <tr><td>{@code content_block_delta} {@code input_json_delta}</td><td>{@code delta: {tool_calls: [{index,
 *       function: {arguments}}]}}</td></tr>
 *   <tr><td>{@code message_delta}</td><td>{@code delta: {}}, {@code finish_reason}</td></tr>
 *   <tr><td>{@code message_stop}</td><td>the usage chunk ({@code choices: []}) if asked for, then
 *       {@code [DONE]}</td></tr>
 *   <tr><td>{@code error}</td><td>{@code {"error": {message, type}}}</td></tr>
 *   <tr><td>{@code ping}, {@code content_block_stop}, thinking</td><td>nothing</td></tr>
 * </table>
 *
 * <p>Thinking blocks are not shown (chat completions have no place for them); they are billed as output all the same.
 */
public final class AnthropicToChat {
    private final String model;
    private final long created;
    private final OpenAiChatJson.Chunks chunks;
    /** Content block index to tool call index: tool calls are numbered apart from text blocks. */
    private final Map<Integer, Integer> toolIndexOfBlock = new HashMap<>();
    /** The answer's JSON object comes as the input of {@link ChatToAnthropic#JSON_TOOL}: it is shown as the content. */
    private final boolean jsonObject;
    /** The content block index of the {@link ChatToAnthropic#JSON_TOOL} call, {@code -1} before it starts. */
    private int jsonBlock = -1;

    /**
     * @param model the client's name for the model, or {@code null} to name Anthropic's
     * @param includeUsage for a stream: the client asked for the usage chunk
     */
    public AnthropicToChat(String model, boolean includeUsage) {
        this(model, includeUsage, false);
    }

    /**
     * @param jsonObject the client asked for {@code response_format: json_object}, answered through
     *     {@link ChatToAnthropic#JSON_TOOL}, whose input becomes the content
     */
    public AnthropicToChat(String model, boolean includeUsage, boolean jsonObject) {
        this.model = model;
        this.jsonObject = jsonObject;
        this.created = System.currentTimeMillis() / 1000;
        this.chunks = new OpenAiChatJson.Chunks("chatcmpl-anthropic", model, created, includeUsage);
    }

    /** {@code true} when the answer's JSON object comes through {@link ChatToAnthropic#JSON_TOOL}. */
    public boolean jsonObject() {
        return jsonObject;
    }

    private boolean isJsonTool(JsonNode block) {
        return jsonObject && ChatToAnthropic.JSON_TOOL.equals(block.path("name").asText());
    }

    /**
     * One stream event's data.
     *
     * @param usage the usage read so far, normalised
     * @param finishReason the finish reason read so far, in OpenAI's words
     */
    public void onEvent(JsonNode data, TokenUsage usage, String finishReason) {
        if (chunks.ended()) {
            return;
        }
        switch (data.path("type").asText("")) {
            case "message_start" -> {
                JsonNode message = data.path("message");
                chunks.describe(message.path("id").asText(null), message.path("model").asText(null));
                chunks.start();
            }
            case "content_block_start" -> {
                JsonNode block = data.path("content_block");
                switch (block.path("type").asText("")) {
                    case "text" -> chunks.content(block.path("text").asText(""));
                    case "tool_use" -> {
                        if (isJsonTool(block)) {
                            jsonBlock = data.path("index").asInt();
                            chunks.start();
                            return;
                        }
                        int index = toolIndexOfBlock.size();
                        toolIndexOfBlock.put(data.path("index").asInt(), index);
                        JsonNode input = block.get("input");
                        // In a stream the input arrives as input_json_delta; the start holds an empty object.
                        String arguments = input != null && input.isObject() && !input.isEmpty() ? input.toString() : "";
                        chunks.toolCall(index, new OpenAiChatJson.ToolCall(block.path("id").asText(),
                                block.path("name").asText(), arguments, null));
                    }
                    default -> {
                        // thinking, redacted_thinking, server tool blocks: nothing to show
                    }
                }
            }
            case "content_block_delta" -> {
                JsonNode delta = data.path("delta");
                switch (delta.path("type").asText("")) {
                    case "text_delta" -> chunks.content(delta.path("text").asText(""));
                    case "input_json_delta" -> {
                        if (jsonBlock >= 0 && data.path("index").asInt() == jsonBlock) {
                            chunks.content(delta.path("partial_json").asText(""));
                            return;
                        }
                        Integer index = toolIndexOfBlock.get(data.path("index").asInt());
                        if (index != null) {
                            chunks.toolArguments(index, delta.path("partial_json").asText(""));
                        }
                    }
                    default -> {
                        // thinking_delta, signature_delta, citations_delta
                    }
                }
            }
            case "message_delta" -> {
                if (data.path("delta").hasNonNull("stop_reason")) {
                    chunks.finish(finishReason);
                }
            }
            case "message_stop" -> chunks.end(usage);
            case "error" -> {
                JsonNode error = data.path("error");
                chunks.error(error.path("message").asText("provider error"), error.path("type").asText("api_error"));
            }
            default -> {
                // ping, content_block_stop, event types added later
            }
        }
    }

    /** The chunks written since the last call, possibly none. */
    public byte[] drain() {
        return chunks.drain();
    }

    /**
     * A whole {@code message} as a {@code chat.completion}.
     *
     * @param usage its usage, normalised, or {@code null}
     * @param finishReason its stop reason in OpenAI's words
     */
    public byte[] completion(JsonNode message, TokenUsage usage, String finishReason) {
        StringBuilder text = null;
        List<OpenAiChatJson.ToolCall> calls = new ArrayList<>();
        for (JsonNode block : message.path("content")) {
            switch (block.path("type").asText("")) {
                case "text" -> {
                    if (text == null) {
                        text = new StringBuilder();
                    }
                    text.append(block.path("text").asText(""));
                }
                case "tool_use" -> {
                    JsonNode input = block.get("input");
                    if (isJsonTool(block)) {
                        if (text == null) {
                            text = new StringBuilder();
                        }
                        text.append(input == null || input.isNull() ? "{}" : input.toString());
                        continue;
                    }
                    calls.add(new OpenAiChatJson.ToolCall(block.path("id").asText(), block.path("name").asText(),
                            input == null || input.isNull() ? "{}" : input.toString(), null));
                }
                default -> {
                    // thinking and server tool blocks are not shown
                }
            }
        }
        return OpenAiChatJson.completion(message.path("id").asText("chatcmpl-anthropic"), created,
                model != null ? model : message.path("model").asText(null), text == null ? null : text.toString(),
                calls, finishReason, usage);
    }
}
