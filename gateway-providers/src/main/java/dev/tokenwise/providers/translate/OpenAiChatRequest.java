package dev.tokenwise.providers.translate;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenwise.core.error.GatewayException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * An OpenAI chat completions request, read once and checked for what can be expressed in another provider's API.
 * What no target can express is refused here with a 400 naming the field; what only one target cannot express
 * is refused by its translator ({@link ChatToAnthropic}, {@link ChatToGemini}). Every top-level field is either
 * translated, deliberately dropped ({@link #DROPPED}) or refused: an unknown field is refused rather than
 * silently lost.
 *
 * <pre>{@code
 * OpenAiChatRequest chat = OpenAiChatRequest.read(body, "anthropic");
 * chat.system();      // the system and developer messages' text, in order
 * chat.messages();    // user, assistant and tool messages
 * }</pre>
 */
public final class OpenAiChatRequest {
    /**
     * Fields that only concern OpenAI's own platform (stored completions, its prompt cache, its service tiers), so
     * another provider has nothing to do with them; they are dropped without a word.
     */
    static final Set<String> DROPPED = Set.of("store", "metadata", "service_tier", "prompt_cache_key");

    private static final ObjectMapper JSON = new ObjectMapper();

    /** The role of a conversation message; system and developer messages go to {@link #system()}. */
    public enum Role { USER, ASSISTANT, TOOL }

    /**
     * An image part: inline ({@code data:} URL, so {@code mediaType} and {@code base64Data}) or by {@code url}.
     *
     * @param field the JSON path of the part's URL, for refusals
     */
    public record Image(String mediaType, String base64Data, String url, String field) {
        public boolean inline() {
            return base64Data != null;
        }
    }

    /** A piece of message content: a text or an image. */
    public record Part(String text, Image image) {
        static Part text(String text) {
            return new Part(text, null);
        }
    }

    /**
     * A tool call an assistant message made.
     *
     * @param arguments the parsed {@code function.arguments}, always a JSON object
     * @param extraContent the call's {@code extra_content} (Google's OpenAI-compatible API carries Gemini's thought
     *     signature there), or {@code null}
     */
    public record ToolCall(String id, String name, ObjectNode arguments, JsonNode extraContent) {
    }

    /**
     * A user, assistant or tool message.
     *
     * @param field its JSON path, e.g. {@code messages[3]}
     * @param parts its content (for a tool message, the tool's result)
     * @param toolCalls an assistant's tool calls (empty otherwise)
     * @param toolCallId a tool message's {@code tool_call_id} ({@code null} otherwise)
     */
    public record Message(String field, Role role, List<Part> parts, List<ToolCall> toolCalls, String toolCallId) {
        /** The texts of the parts, joined. */
        public String joinedText() {
            StringBuilder b = new StringBuilder();
            for (Part p : parts) {
                if (p.text() != null) {
                    b.append(p.text());
                }
            }
            return b.toString();
        }
    }

    /** A function tool; {@code parameters} is its JSON schema, or {@code null}. */
    public record Tool(String name, String description, JsonNode parameters) {
    }

    /** How tools may be used. */
    public enum ToolMode { AUTO, NONE, REQUIRED, FUNCTION }

    /** {@code tool_choice}; {@code name} is set for {@link ToolMode#FUNCTION}. */
    public record ToolChoice(ToolMode mode, String name) {
    }

    /** {@code response_format}: {@code type} is {@code text}, {@code json_object} or {@code json_schema}. */
    public record ResponseFormat(String type, String name, JsonNode schema) {
    }

    private final String target;
    private final List<String> system = new ArrayList<>();
    private final List<Message> messages = new ArrayList<>();
    private final List<Tool> tools = new ArrayList<>();
    private final List<String> stop = new ArrayList<>();
    private String model;
    private long maxTokens;
    private JsonNode temperature;
    private JsonNode topP;
    private JsonNode presencePenalty;
    private JsonNode frequencyPenalty;
    private JsonNode seed;
    private ToolChoice toolChoice;
    private Boolean parallelToolCalls;
    private boolean stream;
    private boolean includeUsage;
    private String user;
    private ResponseFormat responseFormat;

    private OpenAiChatRequest(String target) {
        this.target = target;
    }

    /**
     * Reads {@code body} (not changed).
     *
     * @param target the provider type translated to, named in refusals
     * @throws dev.tokenwise.core.error.GatewayException (400) naming the first field that cannot be translated
     */
    public static OpenAiChatRequest read(ObjectNode body, String target) {
        OpenAiChatRequest r = new OpenAiChatRequest(target);
        JsonNode messages = body.get("messages");
        if (messages == null || messages.isNull()) {
            throw r.refuse("messages", "missing");
        }
        for (Map.Entry<String, JsonNode> e : body.properties()) {
            JsonNode value = e.getValue();
            if (value == null || value.isNull()) {
                continue; // an explicit null is the API's default
            }
            r.readField(e.getKey(), value);
        }
        return r;
    }

    private void readField(String name, JsonNode value) {
        switch (name) {
            case "model" -> model = value.asText();
            case "messages" -> readMessages(value);
            case "max_completion_tokens" -> maxTokens = positive(name, value);
            case "max_tokens" -> {
                // max_completion_tokens is the newer name and wins when both are sent.
                if (maxTokens == 0) {
                    maxTokens = positive(name, value);
                }
            }
            case "temperature" -> temperature = number(name, value);
            case "top_p" -> topP = number(name, value);
            case "presence_penalty" -> presencePenalty = number(name, value);
            case "frequency_penalty" -> frequencyPenalty = number(name, value);
            case "seed" -> seed = integer(name, value);
            case "stop" -> readStop(value);
            case "stream" -> stream = value.asBoolean(false);
            case "stream_options" -> {
                if (!value.isObject()) {
                    throw refuse(name, "expected an object");
                }
                includeUsage = value.path("include_usage").asBoolean(false);
            }
            case "tools" -> readTools(value);
            case "tool_choice" -> readToolChoice(value);
            case "parallel_tool_calls" -> {
                if (!value.isBoolean()) {
                    throw refuse(name, "expected a boolean");
                }
                parallelToolCalls = value.booleanValue();
            }
            case "user", "safety_identifier" -> {
                if (!value.isTextual()) {
                    throw refuse(name, "expected a string");
                }
                if (user == null || "user".equals(name)) {
                    user = value.textValue();
                }
            }
            case "response_format" -> readResponseFormat(value);
            case "n" -> {
                if (!value.isIntegralNumber() || value.asLong() != 1) {
                    throw refuse(name, value + " choices (only 1 can be translated)");
                }
            }
            case "logprobs" -> {
                if (value.asBoolean(true)) {
                    throw refuse(name, "log probabilities are not available");
                }
            }
            case "top_logprobs" -> throw refuse(name, "log probabilities are not available");
            case "logit_bias" -> {
                if (!value.isObject() || !value.isEmpty()) {
                    throw refuse(name, "token ids are OpenAI's; there is no equivalent");
                }
            }
            case "modalities" -> {
                for (JsonNode m : value) {
                    if (!"text".equals(m.asText())) {
                        throw refuse(name, "only text output can be translated, not " + m);
                    }
                }
            }
            case "functions", "function_call" -> throw refuse(name, "the deprecated functions API is not translated"
                    + " (use tools and tool_choice)");
            default -> {
                if (!DROPPED.contains(name)) {
                    // audio, prediction, reasoning_effort, verbosity, web_search_options and fields added later
                    throw refuse(name, "no equivalent");
                }
            }
        }
    }

    private void readMessages(JsonNode value) {
        if (!value.isArray()) {
            throw refuse("messages", "expected an array");
        }
        int i = 0;
        for (JsonNode m : value) {
            readMessage("messages[" + i++ + "]", m);
        }
    }

    private void readMessage(String field, JsonNode m) {
        if (!m.isObject()) {
            throw refuse(field, "expected an object");
        }
        String role = m.path("role").asText("");
        JsonNode content = m.get("content");
        switch (role) {
            case "system", "developer" -> {
                List<Part> parts = content(field, content, false);
                StringBuilder text = new StringBuilder();
                for (Part p : parts) {
                    text.append(p.text());
                }
                system.add(text.toString());
            }
            case "user" -> messages.add(new Message(field, Role.USER, content(field, content, true), List.of(), null));
            case "assistant" -> {
                for (String unsupported : List.of("audio", "function_call")) {
                    JsonNode v = m.get(unsupported);
                    if (v != null && !v.isNull()) {
                        throw refuse(field + "." + unsupported, "no equivalent");
                    }
                }
                messages.add(new Message(field, Role.ASSISTANT, content(field, content, false),
                        toolCalls(field, m.get("tool_calls")), null));
            }
            case "tool" -> {
                JsonNode id = m.get("tool_call_id");
                if (id == null || !id.isTextual() || id.textValue().isEmpty()) {
                    throw refuse(field + ".tool_call_id", "missing");
                }
                messages.add(new Message(field, Role.TOOL, content(field, content, false), List.of(), id.textValue()));
            }
            case "function" -> throw refuse(field + ".role", "the deprecated function role is not translated"
                    + " (use tool messages)");
            default -> throw refuse(field + ".role", "'" + role + "' (expected system, developer, user, assistant"
                    + " or tool)");
        }
    }

    /** The content of a message: a string, an array of parts, or absent. */
    private List<Part> content(String field, JsonNode content, boolean imagesAllowed) {
        if (content == null || content.isNull()) {
            return List.of();
        }
        if (content.isTextual()) {
            return List.of(Part.text(content.textValue()));
        }
        if (!content.isArray()) {
            throw refuse(field + ".content", "expected a string or an array of parts");
        }
        List<Part> parts = new ArrayList<>(content.size());
        int j = 0;
        for (JsonNode part : content) {
            String partField = field + ".content[" + j++ + "]";
            String type = part.path("type").asText("");
            switch (type) {
                case "text" -> parts.add(Part.text(part.path("text").asText("")));
                case "refusal" -> parts.add(Part.text(part.path("refusal").asText("")));
                case "image_url" -> {
                    if (!imagesAllowed) {
                        throw refuse(partField + ".type", "images are only translated in user messages");
                    }
                    parts.add(new Part(null, image(partField + ".image_url.url", part.path("image_url").path("url"))));
                }
                default -> throw refuse(partField + ".type", "'" + type + "' (only text and image_url parts are"
                        + " translated)");
            }
        }
        return parts;
    }

    private Image image(String field, JsonNode urlNode) {
        String url = urlNode.asText("");
        if (url.startsWith("data:")) {
            int comma = url.indexOf(',');
            String meta = comma < 0 ? "" : url.substring(5, comma);
            if (comma < 0 || !meta.endsWith(";base64")) {
                throw refuse(field, "a data: URL must be base64-encoded (data:<media type>;base64,<data>)");
            }
            return new Image(meta.substring(0, meta.length() - ";base64".length()), url.substring(comma + 1), null, field);
        }
        if (url.startsWith("https://") || url.startsWith("http://")) {
            return new Image(null, null, url, field);
        }
        throw refuse(field, "expected an http(s) or data: URL");
    }

    private List<ToolCall> toolCalls(String field, JsonNode calls) {
        if (calls == null || calls.isNull()) {
            return List.of();
        }
        if (!calls.isArray()) {
            throw refuse(field + ".tool_calls", "expected an array");
        }
        List<ToolCall> out = new ArrayList<>(calls.size());
        int j = 0;
        for (JsonNode call : calls) {
            String callField = field + ".tool_calls[" + j++ + "]";
            String type = call.path("type").asText("function");
            if (!"function".equals(type)) {
                throw refuse(callField + ".type", "'" + type + "' (only function calls are translated)");
            }
            String id = call.path("id").asText("");
            String name = call.path("function").path("name").asText("");
            if (id.isEmpty()) {
                throw refuse(callField + ".id", "missing");
            }
            if (name.isEmpty()) {
                throw refuse(callField + ".function.name", "missing");
            }
            JsonNode extra = call.get("extra_content");
            out.add(new ToolCall(id, name, arguments(callField + ".function.arguments",
                    call.path("function").get("arguments")), extra == null || extra.isNull() ? null : extra));
        }
        return out;
    }

    private ObjectNode arguments(String field, JsonNode arguments) {
        if (arguments == null || arguments.isNull() || (arguments.isTextual() && arguments.textValue().isBlank())) {
            return JSON.createObjectNode();
        }
        if (arguments.isObject()) {
            return (ObjectNode) arguments; // lenient: some clients send the object itself
        }
        try {
            JsonNode parsed = JSON.readTree(arguments.asText());
            if (parsed instanceof ObjectNode object) {
                return object;
            }
        } catch (JsonProcessingException e) {
            // answered below
        }
        throw refuse(field, "not a JSON object (the arguments are sent as structured input)");
    }

    private void readStop(JsonNode value) {
        if (value.isTextual()) {
            stop.add(value.textValue());
        } else if (value.isArray()) {
            for (JsonNode s : value) {
                if (!s.isTextual()) {
                    throw refuse("stop", "expected a string or an array of strings");
                }
                stop.add(s.textValue());
            }
        } else {
            throw refuse("stop", "expected a string or an array of strings");
        }
    }

    private void readTools(JsonNode value) {
        if (!value.isArray()) {
            throw refuse("tools", "expected an array");
        }
        int i = 0;
        for (JsonNode tool : value) {
            String field = "tools[" + i++ + "]";
            String type = tool.path("type").asText("");
            if (!"function".equals(type)) {
                throw refuse(field + ".type", "'" + type + "' (only function tools are translated)");
            }
            JsonNode function = tool.path("function");
            String name = function.path("name").asText("");
            if (name.isEmpty()) {
                throw refuse(field + ".function.name", "missing");
            }
            JsonNode description = function.get("description");
            JsonNode parameters = function.get("parameters");
            tools.add(new Tool(name, description == null || description.isNull() ? null : description.asText(),
                    parameters == null || parameters.isNull() ? null : parameters));
        }
    }

    private void readToolChoice(JsonNode value) {
        if (value.isTextual()) {
            toolChoice = switch (value.textValue()) {
                case "auto" -> new ToolChoice(ToolMode.AUTO, null);
                case "none" -> new ToolChoice(ToolMode.NONE, null);
                case "required" -> new ToolChoice(ToolMode.REQUIRED, null);
                default -> throw refuse("tool_choice", "'" + value.textValue() + "' (expected auto, none, required"
                        + " or a function)");
            };
            return;
        }
        String type = value.path("type").asText("");
        String name = value.path("function").path("name").asText("");
        if (!"function".equals(type) || name.isEmpty()) {
            throw refuse("tool_choice", value.isObject() ? "type '" + type + "' (only a named function is translated)"
                    : "expected a string or an object");
        }
        toolChoice = new ToolChoice(ToolMode.FUNCTION, name);
    }

    private void readResponseFormat(JsonNode value) {
        String type = value.path("type").asText("");
        switch (type) {
            case "text", "json_object" -> responseFormat = new ResponseFormat(type, null, null);
            case "json_schema" -> {
                JsonNode schema = value.path("json_schema");
                responseFormat = new ResponseFormat(type, schema.path("name").asText(null), schema.get("schema"));
            }
            default -> throw refuse("response_format.type", "'" + type + "' (expected text, json_object or"
                    + " json_schema)");
        }
    }

    private long positive(String field, JsonNode value) {
        if (!value.isIntegralNumber() || value.asLong() < 1) {
            throw refuse(field, "expected a positive integer");
        }
        return value.asLong();
    }

    private JsonNode number(String field, JsonNode value) {
        if (!value.isNumber()) {
            throw refuse(field, "expected a number");
        }
        return value;
    }

    private JsonNode integer(String field, JsonNode value) {
        if (!value.isIntegralNumber()) {
            throw refuse(field, "expected an integer");
        }
        return value;
    }

    /** A 400 naming {@code field}, for the provider type this request is translated to. */
    public GatewayException refuse(String field, String why) {
        return Refusal.of(target, field, why);
    }

    /** The client's {@code model}. */
    public String model() {
        return model;
    }

    /** The texts of the system and developer messages, in order. */
    public List<String> system() {
        return Collections.unmodifiableList(system);
    }

    /** User, assistant and tool messages, in order. */
    public List<Message> messages() {
        return Collections.unmodifiableList(messages);
    }

    /** {@code max_completion_tokens}, else {@code max_tokens}; 0 when neither was sent. */
    public long maxTokens() {
        return maxTokens;
    }

    /** A number node, or {@code null}. */
    public JsonNode temperature() {
        return temperature;
    }

    /** A number node, or {@code null}. */
    public JsonNode topP() {
        return topP;
    }

    /** A number node, or {@code null}. */
    public JsonNode presencePenalty() {
        return presencePenalty;
    }

    /** A number node, or {@code null}. */
    public JsonNode frequencyPenalty() {
        return frequencyPenalty;
    }

    /** An integer node, or {@code null}. */
    public JsonNode seed() {
        return seed;
    }

    /** The stop sequences ({@code stop} as a string or a list). */
    public List<String> stop() {
        return Collections.unmodifiableList(stop);
    }

    public List<Tool> tools() {
        return Collections.unmodifiableList(tools);
    }

    /** {@code tool_choice}, or {@code null}. */
    public ToolChoice toolChoice() {
        return toolChoice;
    }

    /** {@code parallel_tool_calls}, or {@code null}. */
    public Boolean parallelToolCalls() {
        return parallelToolCalls;
    }

    public boolean stream() {
        return stream;
    }

    /** {@code stream_options.include_usage}: the client wants a last chunk with the usage. */
    public boolean includeUsage() {
        return includeUsage;
    }

    /** {@code user}, else {@code safety_identifier}; or {@code null}. */
    public String user() {
        return user;
    }

    /** {@code response_format}, or {@code null}. */
    public ResponseFormat responseFormat() {
        return responseFormat;
    }

    /** {@code true} when {@code node} is absent or the number zero (an OpenAI default that needs no translation). */
    static boolean absentOrZero(JsonNode node) {
        return node == null || (node.isNumber() && node.doubleValue() == 0);
    }
}
