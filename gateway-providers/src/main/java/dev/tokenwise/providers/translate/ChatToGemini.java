package dev.tokenwise.providers.translate;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenwise.providers.translate.OpenAiChatRequest.Message;
import dev.tokenwise.providers.translate.OpenAiChatRequest.Part;
import dev.tokenwise.providers.translate.OpenAiChatRequest.Role;
import dev.tokenwise.providers.translate.OpenAiChatRequest.ToolCall;
import java.util.HashMap;
import java.util.Map;

/**
 * Rewrites an OpenAI chat completions request into a Gemini {@code GenerateContentRequest}, in place (the model
 * goes in the URL, streaming is chosen by the method, so neither stays in the body):
 *
 * <ul>
 *   <li>system and developer messages become {@code systemInstruction.parts[].text};</li>
 *   <li>user messages become {@code contents} of role {@code user} ({@code text} parts, {@code inlineData} from
 *       {@code data:} URL images); assistant messages role {@code model}, their {@code tool_calls} become
 *       {@code functionCall} parts (with Gemini's thought signature when the call carries one, see
 *       {@link ToolCallIds}); tool messages become {@code functionResponse} parts of a {@code user} turn, named after
 *       the call they answer, with the tool's text as {@code response.output} (parsed when it is JSON);
 *       consecutive turns of one role are merged;</li>
 *   <li>{@code generationConfig}: {@code maxOutputTokens}, {@code temperature}, {@code topP}, {@code stopSequences},
 *       {@code presencePenalty}, {@code frequencyPenalty}, {@code seed}; {@code response_format} {@code json_object}
 *       as {@code responseMimeType: application/json}, {@code json_schema} also as {@code responseJsonSchema};</li>
 *   <li>function {@code tools} become one tool of {@code functionDeclarations} ({@code parametersJsonSchema} takes
 *       the JSON schema as is); {@code tool_choice} becomes {@code toolConfig.functionCallingConfig.mode}
 *       {@code AUTO}, {@code NONE}, {@code ANY}, or {@code ANY} with {@code allowedFunctionNames}.</li>
 * </ul>
 *
 * <p>Dropped: {@code user}, {@code parallel_tool_calls} (Gemini has no switch for either). Refused with a 400 naming
 * the field, besides what {@link OpenAiChatRequest} refuses: images given by http(s) URL (Gemini reads only its own
 * file URIs), and a tool message answering a call id no earlier assistant message made.
 */
public final class ChatToGemini {
    /** The provider type named in refusals. */
    public static final String TARGET = "gemini";

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final ObjectMapper JSON = new ObjectMapper();

    private ChatToGemini() {
    }

    /**
     * Replaces the content of {@code body} (an OpenAI chat request) with the Gemini request that means the same.
     * Nothing is changed when the request is refused.
     *
     * @return the request as read, for what the answer's translation needs
     * @throws dev.tokenwise.core.error.GatewayException (400) naming a field that cannot be translated
     */
    public static OpenAiChatRequest translate(ObjectNode body) {
        OpenAiChatRequest chat = OpenAiChatRequest.read(body, TARGET);
        ObjectNode out = NODES.objectNode();
        out.set("contents", contents(chat));
        if (!chat.system().isEmpty()) {
            ArrayNode parts = out.putObject("systemInstruction").putArray("parts");
            chat.system().forEach(text -> parts.addObject().put("text", text));
        }
        ObjectNode config = generationConfig(chat);
        if (!config.isEmpty()) {
            out.set("generationConfig", config);
        }
        tools(chat, out);
        body.removeAll();
        body.setAll(out);
        return chat;
    }

    private static ObjectNode generationConfig(OpenAiChatRequest chat) {
        ObjectNode config = NODES.objectNode();
        if (chat.maxTokens() > 0) {
            config.put("maxOutputTokens", chat.maxTokens());
        }
        putIfSet(config, "temperature", chat.temperature());
        putIfSet(config, "topP", chat.topP());
        if (!chat.stop().isEmpty()) {
            ArrayNode stop = config.putArray("stopSequences");
            chat.stop().forEach(stop::add);
        }
        putIfSet(config, "presencePenalty", chat.presencePenalty());
        putIfSet(config, "frequencyPenalty", chat.frequencyPenalty());
        putIfSet(config, "seed", chat.seed());
        OpenAiChatRequest.ResponseFormat format = chat.responseFormat();
        if (format != null && !"text".equals(format.type())) {
            config.put("responseMimeType", "application/json");
            if ("json_schema".equals(format.type())) {
                if (format.schema() == null) {
                    throw chat.refuse("response_format.json_schema.schema", "missing");
                }
                config.set("responseJsonSchema", format.schema());
            }
        }
        return config;
    }

    private static void putIfSet(ObjectNode config, String name, JsonNode value) {
        if (value != null) {
            config.set(name, value);
        }
    }

    private static ArrayNode contents(OpenAiChatRequest chat) {
        ArrayNode contents = NODES.arrayNode();
        Map<String, String> callNames = new HashMap<>();
        String lastRole = null;
        ArrayNode lastParts = null;
        for (Message m : chat.messages()) {
            String role = m.role() == Role.ASSISTANT ? "model" : "user";
            ArrayNode parts = parts(chat, m, callNames);
            if (!role.equals(lastRole)) {
                ObjectNode content = contents.addObject().put("role", role);
                lastParts = content.putArray("parts");
                lastRole = role;
            }
            lastParts.addAll(parts);
        }
        return contents;
    }

    private static ArrayNode parts(OpenAiChatRequest chat, Message m, Map<String, String> callNames) {
        ArrayNode parts = NODES.arrayNode();
        if (m.role() == Role.TOOL) {
            String name = callNames.get(m.toolCallId());
            if (name == null) {
                throw chat.refuse(m.field() + ".tool_call_id", "'" + m.toolCallId() + "' answers no tool call of an"
                        + " earlier assistant message (Gemini names function responses after their call)");
            }
            parts.addObject().putObject("functionResponse").put("name", name)
                    .putObject("response").set("output", toolOutput(m.joinedText()));
            return parts;
        }
        for (Part p : m.parts()) {
            if (p.image() != null) {
                if (!p.image().inline()) {
                    throw chat.refuse(p.image().field(), "Gemini takes images inline: send a data: URL"
                            + " (data:<media type>;base64,<data>)");
                }
                parts.addObject().putObject("inlineData").put("mimeType", p.image().mediaType())
                        .put("data", p.image().base64Data());
            } else if (!p.text().isEmpty() || m.parts().size() == 1 && m.toolCalls().isEmpty()) {
                parts.addObject().put("text", p.text());
            }
        }
        for (ToolCall call : m.toolCalls()) {
            callNames.put(call.id(), call.name());
            ObjectNode part = parts.addObject();
            ObjectNode functionCall = part.putObject("functionCall").put("name", call.name());
            functionCall.set("args", call.arguments());
            String signature = ToolCallIds.thoughtSignature(call.id(), call.extraContent());
            if (signature != null) {
                part.put("thoughtSignature", signature);
            }
        }
        if (parts.isEmpty()) {
            throw chat.refuse(m.field() + ".content", "empty (Gemini needs content in every turn)");
        }
        return parts;
    }

    /** The tool's result: its JSON when the text is JSON, else the text. */
    private static JsonNode toolOutput(String text) {
        String trimmed = text.trim();
        if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
            try {
                return JSON.readTree(trimmed);
            } catch (JsonProcessingException e) {
                // not JSON after all: sent as text
            }
        }
        return NODES.textNode(text);
    }

    private static void tools(OpenAiChatRequest chat, ObjectNode out) {
        if (chat.tools().isEmpty()) {
            return;
        }
        ArrayNode declarations = out.putArray("tools").addObject().putArray("functionDeclarations");
        for (OpenAiChatRequest.Tool tool : chat.tools()) {
            ObjectNode d = declarations.addObject().put("name", tool.name());
            if (tool.description() != null) {
                d.put("description", tool.description());
            }
            if (tool.parameters() != null) {
                d.set("parametersJsonSchema", tool.parameters());
            }
        }
        OpenAiChatRequest.ToolChoice choice = chat.toolChoice();
        if (choice != null) {
            ObjectNode config = out.putObject("toolConfig").putObject("functionCallingConfig");
            switch (choice.mode()) {
                case AUTO -> config.put("mode", "AUTO");
                case NONE -> config.put("mode", "NONE");
                case REQUIRED -> config.put("mode", "ANY");
                case FUNCTION -> config.put("mode", "ANY").putArray("allowedFunctionNames").add(choice.name());
            }
        }
    }
}
