package dev.tokenwise.providers.translate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenwise.providers.translate.OpenAiChatRequest.Message;
import dev.tokenwise.providers.translate.OpenAiChatRequest.Part;
import dev.tokenwise.providers.translate.OpenAiChatRequest.Role;
import dev.tokenwise.providers.translate.OpenAiChatRequest.ToolCall;

/**
 * Rewrites an OpenAI chat completions request into an Anthropic Messages request, in place:
 *
 * <ul>
 *   <li>system and developer messages become the top-level {@code system} (joined by a blank line, wherever they
 *       stood in the conversation);</li>
 *   <li>user and assistant messages keep their role; a message of one text keeps it as a string, others become
 *       content blocks ({@code text}, {@code image} from a {@code data:} URL (base64) or an http(s) URL,
 *       {@code tool_use} for an assistant's {@code tool_calls});</li>
 *   <li>tool messages become {@code tool_result} blocks of a user message; consecutive messages of one role are
 *       merged, as Anthropic wants alternating turns and all results of a turn's calls in one message;</li>
 *   <li>{@code max_completion_tokens} / {@code max_tokens} become {@code max_tokens}, {@value #DEFAULT_MAX_TOKENS}
 *       when absent (Anthropic requires it); {@code temperature} (0 to 1 only), {@code top_p}, {@code stop} as
 *       {@code stop_sequences}, {@code stream}, {@code user} as {@code metadata.user_id};</li>
 *   <li>function {@code tools} become {@code {name, description, input_schema}}; {@code tool_choice} {@code auto},
 *       {@code none}, {@code required} ({@code any}) or a named function ({@code tool}); {@code parallel_tool_calls:
 *       false} sets {@code disable_parallel_tool_use}.</li>
 * </ul>
 *
 * <p>{@code response_format} {@code json_schema} becomes Anthropic's structured outputs ({@code output_config.format});
 * {@code json_object} a forced call of {@link #JSON_TOOL}, whose input the answer's translation shows as the content.
 *
 * <p>Refused with a 400 naming the field, besides what {@link OpenAiChatRequest} refuses: a temperature above 1,
 * non-zero {@code presence_penalty} or {@code frequency_penalty}, {@code seed}, a {@code json_schema} without a
 * schema, and {@code json_object} together with tools.
 */
public final class ChatToAnthropic {
    /** The provider type named in refusals. */
    public static final String TARGET = "anthropic";
    /** {@code max_tokens} sent when the client set no limit: Anthropic requires one. */
    public static final long DEFAULT_MAX_TOKENS = 4096;
    /**
     * The tool Claude is made to call for {@code response_format: json_object}: its input is the JSON object asked for
     * (structured outputs need a schema whose objects are closed, so an open object is asked for this way).
     */
    public static final String JSON_TOOL = "json_object_output";

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private ChatToAnthropic() {
    }

    /**
     * Replaces the content of {@code body} (an OpenAI chat request) with the Anthropic Messages request that means
     * the same, for {@code upstreamModel}. Nothing is changed when the request is refused.
     *
     * @return the request as read, for what the answer's translation needs ({@link OpenAiChatRequest#includeUsage()})
     * @throws dev.tokenwise.core.error.GatewayException (400) naming a field that cannot be translated
     */
    public static OpenAiChatRequest translate(ObjectNode body, String upstreamModel) {
        OpenAiChatRequest chat = OpenAiChatRequest.read(body, TARGET);
        ObjectNode out = NODES.objectNode();
        out.put("model", upstreamModel);
        out.put("max_tokens", chat.maxTokens() > 0 ? chat.maxTokens() : DEFAULT_MAX_TOKENS);
        if (!chat.system().isEmpty()) {
            out.put("system", String.join("\n\n", chat.system()));
        }
        out.set("messages", messages(chat));
        if (chat.temperature() != null) {
            if (chat.temperature().doubleValue() > 1) {
                throw chat.refuse("temperature", chat.temperature() + " (Anthropic accepts 0 to 1)");
            }
            out.set("temperature", chat.temperature());
        }
        if (chat.topP() != null) {
            out.set("top_p", chat.topP());
        }
        if (!chat.stop().isEmpty()) {
            ArrayNode stop = out.putArray("stop_sequences");
            chat.stop().forEach(stop::add);
        }
        if (chat.stream()) {
            out.put("stream", true);
        }
        refuseUnsupported(chat);
        tools(chat, out);
        responseFormat(chat, out);
        if (chat.user() != null) {
            out.putObject("metadata").put("user_id", chat.user());
        }
        body.removeAll();
        body.setAll(out);
        return chat;
    }

    private static void refuseUnsupported(OpenAiChatRequest chat) {
        if (!OpenAiChatRequest.absentOrZero(chat.presencePenalty())) {
            throw chat.refuse("presence_penalty", "Anthropic has no presence penalty");
        }
        if (!OpenAiChatRequest.absentOrZero(chat.frequencyPenalty())) {
            throw chat.refuse("frequency_penalty", "Anthropic has no frequency penalty");
        }
        if (chat.seed() != null) {
            throw chat.refuse("seed", "Anthropic has no seed");
        }
    }

    /** {@code true} when the request asks for a JSON object without a schema ({@link #JSON_TOOL} answers it). */
    public static boolean jsonObjectMode(OpenAiChatRequest chat) {
        return chat.responseFormat() != null && "json_object".equals(chat.responseFormat().type());
    }

    /**
     * {@code json_schema}: Anthropic's structured outputs, {@code output_config.format: {type: json_schema, schema}};
     * the answer is a text block holding the JSON, which becomes the message's content. {@code json_object}: a forced
     * call of {@link #JSON_TOOL}, whose input becomes the content (Anthropic's structured outputs take only closed
     * object schemas).
     */
    private static void responseFormat(OpenAiChatRequest chat, ObjectNode out) {
        OpenAiChatRequest.ResponseFormat format = chat.responseFormat();
        if (format == null || "text".equals(format.type())) {
            return;
        }
        if ("json_schema".equals(format.type())) {
            if (format.schema() == null || !format.schema().isObject()) {
                throw chat.refuse("response_format.json_schema.schema", "missing (Anthropic's structured outputs need"
                        + " a JSON schema)");
            }
            out.putObject("output_config").putObject("format").put("type", "json_schema").set("schema", format.schema());
            return;
        }
        if (!chat.tools().isEmpty()) {
            throw chat.refuse("response_format.type", "'json_object' together with tools (Anthropic answers a JSON"
                    + " object through a tool of its own; use json_schema)");
        }
        ObjectNode tool = out.putArray("tools").addObject().put("name", JSON_TOOL)
                .put("description", "Give the answer as a JSON object: this tool's input is the answer.");
        tool.putObject("input_schema").put("type", "object");
        out.putObject("tool_choice").put("type", "tool").put("name", JSON_TOOL);
    }

    private static ArrayNode messages(OpenAiChatRequest chat) {
        ArrayNode messages = NODES.arrayNode();
        String lastRole = null;
        ArrayNode lastBlocks = null;
        ObjectNode last = null;
        for (Message m : chat.messages()) {
            String role = m.role() == Role.ASSISTANT ? "assistant" : "user";
            ArrayNode blocks = blocks(chat, m);
            if (role.equals(lastRole)) {
                if (lastBlocks == null) {
                    // The previous message was kept as a string: make it a block to append to.
                    lastBlocks = NODES.arrayNode();
                    lastBlocks.addObject().put("type", "text").put("text", last.get("content").textValue());
                    last.set("content", lastBlocks);
                }
                lastBlocks.addAll(blocks);
                continue;
            }
            last = messages.addObject().put("role", role);
            lastRole = role;
            if (blocks.size() == 1 && "text".equals(blocks.get(0).path("type").asText())) {
                last.put("content", blocks.get(0).path("text").asText());
                lastBlocks = null;
            } else {
                last.set("content", blocks);
                lastBlocks = blocks;
            }
        }
        return messages;
    }

    private static ArrayNode blocks(OpenAiChatRequest chat, Message m) {
        ArrayNode blocks = NODES.arrayNode();
        if (m.role() == Role.TOOL) {
            blocks.addObject().put("type", "tool_result").put("tool_use_id", m.toolCallId())
                    .put("content", m.joinedText());
            return blocks;
        }
        for (Part p : m.parts()) {
            if (p.image() != null) {
                ObjectNode source = blocks.addObject().put("type", "image").putObject("source");
                if (p.image().inline()) {
                    source.put("type", "base64").put("media_type", p.image().mediaType())
                            .put("data", p.image().base64Data());
                } else {
                    source.put("type", "url").put("url", p.image().url());
                }
            } else if (!p.text().isEmpty() || m.parts().size() == 1 && m.toolCalls().isEmpty()) {
                // Anthropic refuses empty text blocks; an empty message is left for Anthropic to judge.
                blocks.addObject().put("type", "text").put("text", p.text());
            }
        }
        for (ToolCall call : m.toolCalls()) {
            blocks.addObject().put("type", "tool_use").put("id", call.id()).put("name", call.name())
                    .set("input", call.arguments());
        }
        if (blocks.isEmpty()) {
            throw chat.refuse(m.field() + ".content", "empty (Anthropic needs content in every message)");
        }
        return blocks;
    }

    private static void tools(OpenAiChatRequest chat, ObjectNode out) {
        if (chat.tools().isEmpty()) {
            return; // a tool_choice without tools means nothing
        }
        ArrayNode tools = out.putArray("tools");
        for (OpenAiChatRequest.Tool tool : chat.tools()) {
            ObjectNode t = tools.addObject().put("name", tool.name());
            if (tool.description() != null) {
                t.put("description", tool.description());
            }
            JsonNode schema = tool.parameters();
            if (schema == null) {
                schema = NODES.objectNode().put("type", "object").set("properties", NODES.objectNode());
            }
            t.set("input_schema", schema);
        }
        OpenAiChatRequest.ToolChoice choice = chat.toolChoice();
        ObjectNode toolChoice = null;
        if (choice != null) {
            toolChoice = out.putObject("tool_choice");
            switch (choice.mode()) {
                case AUTO -> toolChoice.put("type", "auto");
                case NONE -> toolChoice.put("type", "none");
                case REQUIRED -> toolChoice.put("type", "any");
                case FUNCTION -> toolChoice.put("type", "tool").put("name", choice.name());
            }
        }
        if (Boolean.FALSE.equals(chat.parallelToolCalls())) {
            if (toolChoice == null) {
                toolChoice = out.putObject("tool_choice").put("type", "auto");
            }
            if (!"none".equals(toolChoice.path("type").asText())) {
                toolChoice.put("disable_parallel_tool_use", true);
            }
        }
    }
}
