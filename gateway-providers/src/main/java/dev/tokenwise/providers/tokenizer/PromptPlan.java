package dev.tokenwise.providers.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tokenwise.core.json.RawArrayNode;
import dev.tokenwise.core.model.RequestFeature;
import java.util.ArrayList;
import java.util.List;

/**
 * What to count for one request body, read from the JSON without tokenizing anything: the pieces of
 * text to tokenize (one {@link Piece} per message, cached as a unit), the tokens known without a
 * tokenizer (message framing, token-id inputs, image estimates) and whether the result is an estimate.
 *
 * <p>The chat rule is OpenAI's documented accounting ("How to count tokens with tiktoken", OpenAI
 * Cookbook): every message costs 3 tokens plus the tokens of its role, content and name, a name costs
 * 1 more, and 3 tokens prime the reply. It reproduces {@code usage.prompt_tokens} for text messages. Chat tool
 * definitions are rendered as OpenAI renders them into the system prompt ({@link FunctionDefinitions}), which
 * reproduces {@code usage.prompt_tokens} for the published examples.
 *
 * <p>While it reads the body the plan also notes the request's {@link RequestFeature}s and, through its pieces,
 * the UTF-8 bytes of the text it counts.
 */
final class PromptPlan {

    /** Tokens framing each message ({@code <|start|>{role}<|message|>...<|end|>}). */
    static final int TOKENS_PER_MESSAGE = 3;
    /** Tokens added when a message carries a {@code name}. */
    static final int TOKENS_PER_NAME = 1;
    /** Tokens priming the reply ({@code <|start|>assistant<|message|>}). */
    static final int REPLY_PRIMING_TOKENS = 3;
    /** OpenAI's documented cost of an image at {@code detail: low}. */
    static final int IMAGE_LOW_DETAIL_TOKENS = 85;
    /**
     * Fixed estimate for an image at {@code detail: high/auto}: OpenAI documents 85 base tokens plus 170
     * per 512-pixel tile, 765 for a 1024×1024 image. The real size is unknown without fetching and
     * decoding the image, so every such image is counted as 765 (models billed by patches, such as
     * gpt-4o-mini and gpt-4.1-mini, charge differently).
     */
    static final int IMAGE_HIGH_DETAIL_TOKENS = 765;
    /** Placeholder for a file part (a PDF costs its text plus one image per page): one high-detail image. */
    static final int FILE_PART_TOKENS = IMAGE_HIGH_DETAIL_TOKENS;
    /** Input audio costs about 10 tokens per second (OpenAI: one token per 100 ms of user audio). */
    static final int AUDIO_TOKENS_PER_SECOND = 10;

    /** Texts tokenized one by one and summed; counted and cached as one unit. */
    static final class Piece {
        final List<String> texts;
        final long chars;
        long key;
        /** The UTF-8 bytes of the texts, once {@link #bytes()} computed them. */
        private long bytes = -1;

        Piece(List<String> texts) {
            this.texts = texts;
            long n = 0;
            for (String t : texts) {
                n += t.length();
            }
            this.chars = n;
        }

        /** The UTF-8 bytes of the texts (a pass over them the first time: the counter caches it with the tokens). */
        long bytes() {
            if (bytes < 0) {
                long b = 0;
                for (String t : texts) {
                    b += utf8Length(t);
                }
                bytes = b;
            }
            return bytes;
        }
    }

    /** The UTF-8 length of {@code s} (an unpaired surrogate counts 3 bytes, as the replacement character it becomes). */
    static long utf8Length(String s) {
        long n = s.length();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c >= 0x80) {
                if (c < 0x800) {
                    n += 1;
                } else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                    n += 2; // 4 bytes for the pair of 2 chars
                    i++;
                } else {
                    n += 2;
                }
            }
        }
        return n;
    }

    final List<Piece> pieces = new ArrayList<>();
    /**
     * Chat messages still as bytes ({@link RawArrayNode}, unread), counted message by message under a hash of
     * each one's bytes instead of as pieces; {@code null} when the messages are in {@link #pieces}.
     */
    RawArrayNode rawMessages;
    long fixedTokens;
    boolean estimated;
    /** The {@link RequestFeature}s seen so far, as a bitset. */
    int features;
    /**
     * OpenAI chat tool definitions were rendered into the system prompt: the first {@code system} message is counted
     * with a trailing newline, and a prompt with a system message costs {@link FunctionDefinitions#SHARED_SYSTEM_TOKENS}
     * fewer. For {@link #rawMessages} the counter applies both once it knows the messages' roles.
     */
    boolean toolsJoinSystem;
    /** A message with the role {@code system} was added (tree messages), or this plan's one message is one. */
    boolean systemMessage;
    /** For a one-message plan whose role is {@code system}: its piece with the trailing newline of {@link #toolsJoinSystem}. */
    Piece paddedPiece;

    private PromptPlan() {
    }

    /** One text, no framing (completions output, embeddings). */
    static PromptPlan ofText(String text) {
        PromptPlan plan = new PromptPlan();
        if (text != null && !text.isEmpty()) {
            plan.pieces.add(new Piece(List.of(text)));
        }
        return plan;
    }

    /**
     * {@code POST /v1/chat/completions}: {@code messages}, the tool definitions rendered as OpenAI renders them,
     * and, as estimates, a forced {@code tool_choice}, a {@code response_format} schema and a {@code prediction}.
     *
     * @param toolsProven whether the model is one whose tool rendering the published examples prove
     *     ({@link TokenizerTable#toolRenderingProven}); if not, a request with tools is an estimate
     */
    static PromptPlan ofChat(JsonNode body, boolean toolsProven) {
        PromptPlan plan = new PromptPlan();
        plan.fixedTokens = REPLY_PRIMING_TOKENS;
        if (body == null) {
            return plan;
        }
        FunctionDefinitions.Rendering tools = plan.chatTools(body, toolsProven);
        JsonNode messages = body.get("messages");
        if (messages instanceof RawArrayNode raw && !raw.isParsed()) {
            plan.rawMessages = raw;
        } else if (messages != null && messages.isArray()) {
            for (JsonNode message : messages) {
                plan.addChatMessage(message, plan.toolsJoinSystem);
            }
            if (plan.toolsJoinSystem && plan.systemMessage) {
                plan.fixedTokens -= FunctionDefinitions.SHARED_SYSTEM_TOKENS;
            }
        }
        if (tools != null) {
            if (tools.text() != null) {
                plan.pieces.add(new Piece(List.of(tools.text())));
            }
            for (String other : tools.others()) {
                plan.pieces.add(new Piece(List.of(other)));
            }
        }
        plan.toolChoice(body.get("tool_choice"));
        plan.toolChoice(body.get("function_call"));
        plan.responseFormat(body.get("response_format"));
        JsonNode n = body.get("n");
        if (n != null && n.isIntegralNumber() && n.asLong() > 1) {
            plan.features |= RequestFeature.SEVERAL_CHOICES.bit();
        }
        JsonNode prediction = body.get("prediction");
        if (prediction != null && !prediction.isNull()) {
            // The predicted text is billed as output when rejected; whether any of it counts as input is not documented.
            plan.features |= RequestFeature.PREDICTION.bit();
            plan.estimated = true;
        }
        return plan;
    }

    /** Renders {@code tools} (or the legacy {@code functions}); the pieces are added by the caller, after the messages. */
    private FunctionDefinitions.Rendering chatTools(JsonNode body, boolean toolsProven) {
        JsonNode tools = body.get("tools");
        JsonNode functions = body.get("functions");
        boolean hasTools = tools != null && tools.isArray() && !tools.isEmpty();
        boolean hasFunctions = functions != null && functions.isArray() && !functions.isEmpty();
        if (!hasTools && !hasFunctions) {
            return null;
        }
        features |= RequestFeature.TOOLS.bit();
        FunctionDefinitions.Rendering rendering = FunctionDefinitions.render(hasTools ? tools : functions);
        if (hasTools && hasFunctions) {
            // Both lists in one request: how they are combined is not documented.
            estimated = true;
            List<String> others = new ArrayList<>(rendering.others());
            others.add(functions.toString());
            rendering = new FunctionDefinitions.Rendering(rendering.text(), false, others);
        }
        if (!rendering.proven() || !toolsProven) {
            estimated = true;
        }
        if (rendering.text() != null) {
            fixedTokens += FunctionDefinitions.FRAMING_TOKENS;
            toolsJoinSystem = true;
        }
        return rendering;
    }

    /**
     * {@code tool_choice} or {@code function_call}: {@code auto} costs nothing; naming a function costs about 4
     * tokens plus its name, {@code none} about 1 (measured for {@code function_call} by the openai-chat-tokens
     * project, not proven for {@code tool_choice}): estimates. A named function or {@code required} forces a tool
     * call, whose answer then ends with {@code stop} rather than {@code tool_calls}.
     */
    private void toolChoice(JsonNode choice) {
        if (choice == null || choice.isNull()) {
            return;
        }
        if (choice.isTextual()) {
            switch (choice.textValue()) {
                case "auto" -> {
                    // the default: nothing added
                }
                case "none" -> {
                    estimated = true;
                    fixedTokens += 1;
                }
                case "required", "any" -> {
                    estimated = true;
                    features |= RequestFeature.TOOL_CHOICE_FORCED.bit();
                }
                default -> estimated = true;
            }
            return;
        }
        estimated = true;
        if (!choice.isObject()) {
            return;
        }
        String type = choice.path("type").asText("");
        if ("auto".equals(type) || "none".equals(type)) {
            return;
        }
        features |= RequestFeature.TOOL_CHOICE_FORCED.bit();
        JsonNode name = choice.path("function").get("name");
        if (name == null) {
            name = choice.get("name");
        }
        if (name != null && name.isTextual()) {
            fixedTokens += 4;
            pieces.add(new Piece(List.of(name.textValue())));
        }
    }

    /**
     * {@code response_format}: a JSON schema is given to the model in a form OpenAI does not document, so it is
     * counted as the JSON text of its name, description and schema, an estimate; JSON mode adds an undocumented
     * instruction, also an estimate.
     */
    private void responseFormat(JsonNode format) {
        if (format == null || !format.isObject()) {
            return;
        }
        switch (format.path("type").asText("")) {
            case "json_schema" -> {
                features |= RequestFeature.JSON_SCHEMA.bit();
                estimated = true;
                JsonNode schema = format.get("json_schema");
                if (schema == null || !schema.isObject()) {
                    schema = format; // the Responses API's text.format puts the fields at the top
                }
                List<String> texts = new ArrayList<>();
                addIfText(schema.get("name"), texts);
                addIfText(schema.get("description"), texts);
                JsonNode body = schema.get("schema");
                if (body != null && !body.isNull()) {
                    texts.add(body.toString());
                }
                pieces.add(new Piece(texts));
            }
            case "json_object" -> {
                features |= RequestFeature.JSON_SCHEMA.bit();
                estimated = true;
            }
            default -> {
                // text: nothing added
            }
        }
    }

    /**
     * One chat message under the chat rule, without the reply priming: its share of a chat prompt. A {@code system}
     * message also gets its {@link #paddedPiece}, for prompts whose tool definitions join it.
     */
    static PromptPlan ofChatMessage(JsonNode message) {
        PromptPlan plan = new PromptPlan();
        plan.addChatMessage(message, false);
        if (plan.systemMessage) {
            PromptPlan padded = new PromptPlan();
            padded.addChatMessage(message, true);
            plan.paddedPiece = padded.pieces.get(padded.pieces.size() - 1);
        }
        return plan;
    }

    /** {@code POST /v1/embeddings}: {@code input} as a string, strings, token ids or arrays of token ids. */
    static PromptPlan ofEmbeddings(JsonNode body) {
        PromptPlan plan = new PromptPlan();
        JsonNode input = body == null ? null : body.get("input");
        if (input == null || input.isNull()) {
            return plan;
        }
        if (input.isTextual()) {
            plan.addTextPiece(input.asText());
        } else if (input.isArray()) {
            for (JsonNode item : input) {
                if (item.isTextual()) {
                    plan.addTextPiece(item.asText());
                } else if (item.isIntegralNumber()) {
                    plan.fixedTokens++;
                } else if (item.isArray()) {
                    plan.fixedTokens += item.size();
                } else {
                    plan.estimated = true;
                }
            }
        } else {
            plan.estimated = true;
        }
        return plan;
    }

    /**
     * {@code POST /v1/responses}: a string {@code input} is one user message under the chat rule; an
     * array of items, {@code instructions}, {@code tools} and {@code previous_response_id} (whose
     * context is billed but unknown here) make the count an estimate.
     */
    static PromptPlan ofResponses(JsonNode body) {
        PromptPlan plan = new PromptPlan();
        plan.fixedTokens = REPLY_PRIMING_TOKENS;
        if (body == null) {
            return plan;
        }
        JsonNode instructions = body.get("instructions");
        if (instructions != null && instructions.isTextual()) {
            plan.estimated = true;
            plan.features |= RequestFeature.SYSTEM_PROMPT.bit();
            plan.addMessage("developer", List.of(instructions.asText()), null);
        }
        JsonNode input = body.get("input");
        if (input != null && input.isTextual()) {
            plan.addMessage("user", List.of(input.asText()), null);
        } else if (input != null && input.isArray()) {
            plan.estimated = true;
            for (JsonNode item : input) {
                plan.addResponsesItem(item);
            }
        }
        JsonNode previous = body.get("previous_response_id");
        if (previous != null && !previous.isNull()) {
            plan.estimated = true;
        }
        plan.addToolDefinitions(body.get("tools"));
        plan.toolChoice(body.get("tool_choice"));
        plan.responseFormat(body.path("text").get("format"));
        return plan;
    }

    /** {@code POST /v1/messages} (Anthropic): {@code system} and {@code messages} under the chat rule, always an estimate. */
    static PromptPlan ofAnthropicMessages(JsonNode body) {
        PromptPlan plan = new PromptPlan();
        plan.estimated = true;
        plan.fixedTokens = REPLY_PRIMING_TOKENS;
        if (body == null) {
            return plan;
        }
        JsonNode system = body.get("system");
        if (system != null && !system.isNull()) {
            plan.features |= RequestFeature.SYSTEM_PROMPT.bit();
            List<String> texts = new ArrayList<>();
            plan.addAnthropicContent(system, texts);
            plan.addMessage("system", texts, null);
        }
        JsonNode messages = body.get("messages");
        if (messages != null && messages.isArray()) {
            for (JsonNode message : messages) {
                if (message.isObject()) {
                    List<String> texts = new ArrayList<>();
                    plan.addAnthropicContent(message.get("content"), texts);
                    plan.addMessage(textOrNull(message.get("role")), texts, null);
                }
            }
        }
        plan.addToolDefinitions(body.get("tools"));
        JsonNode choice = body.get("tool_choice");
        if (choice != null && choice.isObject()) {
            String type = choice.path("type").asText("");
            if ("any".equals(type) || "tool".equals(type)) {
                plan.features |= RequestFeature.TOOL_CHOICE_FORCED.bit();
            }
        }
        JsonNode format = body.get("output_format");
        if (format != null && format.isObject()) {
            plan.features |= RequestFeature.JSON_SCHEMA.bit();
            JsonNode schema = format.get("schema");
            if (schema != null && !schema.isNull()) {
                plan.pieces.add(new Piece(List.of(schema.toString())));
            }
        }
        return plan;
    }

    /**
     * Gemini's {@code generateContent}: {@code systemInstruction} and the text parts of {@code contents}
     * under the chat rule, always an estimate (Gemini's tokenizer is not public).
     */
    static PromptPlan ofGemini(JsonNode body) {
        PromptPlan plan = new PromptPlan();
        plan.estimated = true;
        plan.fixedTokens = REPLY_PRIMING_TOKENS;
        if (body == null) {
            return plan;
        }
        JsonNode system = body.get("systemInstruction");
        if (system != null && system.isObject()) {
            plan.features |= RequestFeature.SYSTEM_PROMPT.bit();
            plan.addMessage("system", plan.geminiTexts(system.get("parts")), null);
        }
        JsonNode contents = body.get("contents");
        if (contents != null && contents.isArray()) {
            for (JsonNode content : contents) {
                if (content.isObject()) {
                    plan.addMessage(textOrNull(content.get("role")), plan.geminiTexts(content.get("parts")), null);
                }
            }
        }
        JsonNode tools = body.get("tools");
        if (tools != null && tools.isArray() && !tools.isEmpty()) {
            plan.features |= RequestFeature.TOOLS.bit();
            plan.pieces.add(new Piece(List.of(tools.toString())));
        }
        if ("ANY".equals(body.path("toolConfig").path("functionCallingConfig").path("mode").asText(""))) {
            plan.features |= RequestFeature.TOOL_CHOICE_FORCED.bit();
        }
        JsonNode generation = body.path("generationConfig");
        if (generation.has("responseSchema") || generation.has("responseJsonSchema")
                || "application/json".equals(generation.path("responseMimeType").asText(""))) {
            plan.features |= RequestFeature.JSON_SCHEMA.bit();
        }
        return plan;
    }

    /**
     * Gemini's {@code embedContent} ({@code content.parts[].text}) and {@code batchEmbedContents}
     * ({@code requests[].content.parts[].text}): the texts, without framing, as an estimate (Gemini's tokenizer is
     * not public, and Gemini reports no usage for embeddings, so this count is what is billed).
     */
    static PromptPlan ofGeminiEmbeddings(JsonNode body) {
        PromptPlan plan = new PromptPlan();
        plan.estimated = true;
        if (body == null) {
            return plan;
        }
        JsonNode requests = body.get("requests");
        if (requests != null && requests.isArray()) {
            for (JsonNode request : requests) {
                plan.addGeminiEmbedContent(request.get("content"));
            }
        } else {
            plan.addGeminiEmbedContent(body.get("content"));
        }
        return plan;
    }

    private void addGeminiEmbedContent(JsonNode content) {
        if (content != null && content.isObject()) {
            for (String text : geminiTexts(content.get("parts"))) {
                addTextPiece(text);
            }
        }
    }

    /** The text parts; other parts are noted as features (their tokens are not known here). */
    private List<String> geminiTexts(JsonNode parts) {
        List<String> texts = new ArrayList<>();
        if (parts != null && parts.isArray()) {
            for (JsonNode part : parts) {
                JsonNode text = part.get("text");
                if (text != null && text.isTextual()) {
                    texts.add(text.textValue());
                } else if (part.has("functionCall") || part.has("functionResponse")) {
                    features |= RequestFeature.TOOL_HISTORY.bit();
                } else if (part.has("inlineData") || part.has("fileData")) {
                    JsonNode data = part.has("inlineData") ? part.get("inlineData") : part.get("fileData");
                    String mime = data.path("mimeType").asText("");
                    features |= mime.startsWith("image/") ? RequestFeature.IMAGES.bit()
                            : mime.startsWith("audio/") ? RequestFeature.AUDIO.bit() : RequestFeature.FILES.bit();
                }
            }
        }
        return texts;
    }

    /**
     * @param padSystem when the tool definitions join the system prompt: the first {@code system} message's content
     *     gets a trailing newline
     */
    private void addChatMessage(JsonNode message, boolean padSystem) {
        if (!message.isObject()) {
            estimated = true;
            return;
        }
        String role = textOrNull(message.get("role"));
        if ("tool".equals(role) || "function".equals(role)) {
            // How tool results are framed in the prompt is not documented.
            estimated = true;
            features |= RequestFeature.TOOL_HISTORY.bit();
        }
        if ("system".equals(role) || "developer".equals(role)) {
            features |= RequestFeature.SYSTEM_PROMPT.bit();
        }
        List<String> texts = new ArrayList<>();
        addChatContent(message.get("content"), texts);
        addToolCalls(message.get("tool_calls"), texts);
        JsonNode functionCall = message.get("function_call");
        if (functionCall != null && functionCall.isObject()) {
            estimated = true;
            features |= RequestFeature.TOOL_HISTORY.bit();
            addFunction(functionCall, texts);
        }
        if ("system".equals(role)) {
            if (padSystem && !systemMessage) {
                if (texts.isEmpty()) {
                    texts.add("\n");
                } else {
                    texts.set(texts.size() - 1, texts.get(texts.size() - 1) + "\n");
                }
            }
            systemMessage = true;
        } else if ("developer".equals(role) && padSystem) {
            // Whether tool definitions join a developer message is not documented.
            estimated = true;
        }
        addMessage(role, texts, textOrNull(message.get("name")));
    }

    private void addChatContent(JsonNode content, List<String> texts) {
        if (content == null || content.isNull()) {
            return;
        }
        if (content.isTextual()) {
            texts.add(content.asText());
            return;
        }
        if (!content.isArray()) {
            estimated = true;
            texts.add(content.toString());
            return;
        }
        int textParts = 0;
        for (JsonNode part : content) {
            String type = part.path("type").asText("");
            switch (type) {
                case "text", "input_text", "output_text" -> {
                    texts.add(part.path("text").asText(""));
                    textParts++;
                }
                case "refusal" -> {
                    texts.add(part.path("refusal").asText(""));
                    textParts++;
                }
                case "image_url" -> addImage(part.path("image_url").path("detail").asText(""));
                case "input_image" -> addImage(part.path("detail").asText(""));
                case "input_audio" -> addAudio(part.path("input_audio"));
                case "file", "input_file" -> {
                    estimated = true;
                    features |= RequestFeature.FILES.bit();
                    fixedTokens += FILE_PART_TOKENS;
                }
                default -> {
                    estimated = true;
                    texts.add(part.toString());
                }
            }
        }
        if (textParts > 1) {
            // Each part is tokenized on its own; whether the model sees them joined is not documented.
            estimated = true;
        }
    }

    private void addResponsesItem(JsonNode item) {
        if (!item.isObject()) {
            return;
        }
        String type = item.path("type").asText("message");
        List<String> texts = new ArrayList<>();
        switch (type) {
            case "message" -> {
                String role = textOrNull(item.get("role"));
                if ("system".equals(role) || "developer".equals(role)) {
                    features |= RequestFeature.SYSTEM_PROMPT.bit();
                }
                addChatContent(item.get("content"), texts);
                addMessage(role, texts, null);
            }
            case "function_call", "custom_tool_call" -> {
                features |= RequestFeature.TOOL_HISTORY.bit();
                addFunction(item, texts);
                JsonNode input = item.get("input");
                if (input != null && input.isTextual()) {
                    texts.add(input.asText());
                }
                addMessage("assistant", texts, null);
            }
            case "function_call_output", "custom_tool_call_output" -> {
                features |= RequestFeature.TOOL_HISTORY.bit();
                JsonNode output = item.get("output");
                if (output != null && output.isTextual()) {
                    texts.add(output.asText());
                } else {
                    addChatContent(output, texts);
                }
                addMessage("tool", texts, null);
            }
            default -> {
                // reasoning, item_reference, built-in tool calls: their billed size is not in the request.
            }
        }
    }

    private void addAnthropicContent(JsonNode content, List<String> texts) {
        if (content == null || content.isNull()) {
            return;
        }
        if (content.isTextual()) {
            texts.add(content.asText());
            return;
        }
        if (!content.isArray()) {
            texts.add(content.toString());
            return;
        }
        for (JsonNode block : content) {
            switch (block.path("type").asText("")) {
                case "text" -> texts.add(block.path("text").asText(""));
                case "thinking" -> texts.add(block.path("thinking").asText(""));
                case "image" -> {
                    features |= RequestFeature.IMAGES.bit();
                    fixedTokens += IMAGE_HIGH_DETAIL_TOKENS;
                }
                case "document" -> {
                    features |= RequestFeature.FILES.bit();
                    fixedTokens += FILE_PART_TOKENS;
                }
                case "tool_use" -> {
                    features |= RequestFeature.TOOL_HISTORY.bit();
                    texts.add(block.path("name").asText(""));
                    JsonNode input = block.get("input");
                    if (input != null && !input.isNull()) {
                        texts.add(input.toString());
                    }
                }
                case "tool_result" -> {
                    features |= RequestFeature.TOOL_HISTORY.bit();
                    addAnthropicContent(block.get("content"), texts);
                }
                case "redacted_thinking" -> {
                    // Encrypted; its size is not knowable here.
                }
                default -> texts.add(block.toString());
            }
        }
    }

    private void addToolCalls(JsonNode toolCalls, List<String> texts) {
        if (toolCalls == null || !toolCalls.isArray() || toolCalls.isEmpty()) {
            return;
        }
        // OpenAI does not document how tool calls are rendered into the prompt.
        estimated = true;
        features |= RequestFeature.TOOL_HISTORY.bit();
        for (JsonNode call : toolCalls) {
            JsonNode function = call.get("function");
            if (function != null && function.isObject()) {
                addFunction(function, texts);
            } else {
                texts.add(call.toString());
            }
        }
    }

    /**
     * Tool definitions of the Responses API and Anthropic (flat tools): the JSON text of name, description and
     * parameter schema, one cached unit for the whole list, an estimate (how these APIs render tools into the
     * prompt is not published). Chat tools are rendered by {@link FunctionDefinitions}.
     */
    private void addToolDefinitions(JsonNode tools) {
        if (tools == null || !tools.isArray() || tools.isEmpty()) {
            return;
        }
        estimated = true;
        features |= RequestFeature.TOOLS.bit();
        List<String> texts = new ArrayList<>();
        for (JsonNode tool : tools) {
            JsonNode function = tool.has("function") ? tool.get("function") : tool;
            if (!function.isObject()) {
                continue;
            }
            addIfText(function.get("name"), texts);
            addIfText(function.get("description"), texts);
            for (String schemaField : new String[] {"parameters", "input_schema"}) {
                JsonNode schema = function.get(schemaField);
                if (schema != null && !schema.isNull()) {
                    texts.add(schema.toString());
                }
            }
            if (!function.has("name")) {
                // Built-in tools (web search, file search, ...) have no name: count what was sent.
                texts.add(function.toString());
            }
        }
        pieces.add(new Piece(texts));
    }

    private static void addFunction(JsonNode function, List<String> texts) {
        addIfText(function.get("name"), texts);
        JsonNode arguments = function.get("arguments");
        if (arguments != null && !arguments.isNull()) {
            texts.add(arguments.isTextual() ? arguments.asText() : arguments.toString());
        }
    }

    private void addMessage(String role, List<String> contentTexts, String name) {
        fixedTokens += TOKENS_PER_MESSAGE;
        List<String> texts = new ArrayList<>(contentTexts.size() + 2);
        if (role != null) {
            texts.add(role);
        }
        texts.addAll(contentTexts);
        if (name != null) {
            texts.add(name);
            fixedTokens += TOKENS_PER_NAME;
        }
        pieces.add(new Piece(texts));
    }

    private void addTextPiece(String text) {
        if (!text.isEmpty()) {
            pieces.add(new Piece(List.of(text)));
        }
    }

    private void addImage(String detail) {
        estimated = true;
        features |= RequestFeature.IMAGES.bit();
        fixedTokens += "low".equals(detail) ? IMAGE_LOW_DETAIL_TOKENS : IMAGE_HIGH_DETAIL_TOKENS;
    }

    /**
     * Estimates audio from the size of its base64 data: wav taken as 16-bit mono at 24 kHz (48,000
     * bytes a second), mp3 as 128 kbit/s (16,000 bytes a second), at {@link #AUDIO_TOKENS_PER_SECOND}.
     */
    private void addAudio(JsonNode audio) {
        estimated = true;
        features |= RequestFeature.AUDIO.bit();
        long base64Chars = audio.path("data").asText("").length();
        long bytes = base64Chars * 3 / 4;
        long bytesPerSecond = "mp3".equals(audio.path("format").asText("")) ? 16_000 : 48_000;
        long tokens = (bytes * AUDIO_TOKENS_PER_SECOND + bytesPerSecond - 1) / bytesPerSecond;
        fixedTokens += Math.max(1, tokens);
    }

    private static void addIfText(JsonNode node, List<String> texts) {
        if (node != null && node.isTextual()) {
            texts.add(node.asText());
        }
    }

    private static String textOrNull(JsonNode node) {
        return node != null && node.isTextual() ? node.asText() : null;
    }
}
