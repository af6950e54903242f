package dev.tokenwise.providers.translate;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenwise.core.model.TokenUsage;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Writes OpenAI's chat completion shapes: a whole {@code chat.completion}, and the {@code chat.completion.chunk}
 * events of a stream ({@link Chunks}). Every field OpenAI always sends is written, {@code null} where there is no
 * value, so strict clients (the OpenAI SDKs) accept the answer.
 */
public final class OpenAiChatJson {
    static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII);

    private OpenAiChatJson() {
    }

    /**
     * A tool call in an answer.
     *
     * @param arguments the arguments as a JSON text
     * @param extraContent extra fields for the call ({@code extra_content}), or {@code null}
     */
    public record ToolCall(String id, String name, String arguments, JsonNode extraContent) {
    }

    /**
     * OpenAI's {@code usage}: {@code prompt_tokens} is all input (cache reads and writes included),
     * {@code completion_tokens} all output (reasoning included), with the cached and reasoning parts in the details.
     */
    public static ObjectNode usage(TokenUsage usage) {
        ObjectNode u = NODES.objectNode();
        u.put("prompt_tokens", usage.inputTokens());
        u.put("completion_tokens", usage.outputTokens());
        u.put("total_tokens", usage.inputTokens() + usage.outputTokens());
        u.putObject("prompt_tokens_details").put("cached_tokens", usage.cachedInputTokens());
        u.putObject("completion_tokens_details").put("reasoning_tokens", usage.reasoningTokens());
        return u;
    }

    /**
     * A whole {@code chat.completion} with one choice.
     *
     * @param content the text, or {@code null} when the model produced none (only tool calls)
     * @param usage the usage, or {@code null} when the provider reported none
     */
    public static byte[] completion(String id, long created, String model, String content, List<ToolCall> toolCalls,
                                    String finishReason, TokenUsage usage) {
        ObjectNode root = NODES.objectNode();
        root.put("id", id);
        root.put("object", "chat.completion");
        root.put("created", created);
        root.put("model", model);
        ObjectNode choice = root.putArray("choices").addObject();
        choice.put("index", 0);
        ObjectNode message = choice.putObject("message");
        message.put("role", "assistant");
        message.put("content", content);
        message.putNull("refusal");
        if (!toolCalls.isEmpty()) {
            ArrayNode calls = message.putArray("tool_calls");
            for (ToolCall call : toolCalls) {
                toolCall(calls.addObject().put("id", call.id()).put("type", "function"), call);
            }
        }
        choice.putNull("logprobs");
        choice.put("finish_reason", finishReason);
        if (usage != null) {
            root.set("usage", usage(usage));
        }
        return bytes(root);
    }

    private static void toolCall(ObjectNode target, ToolCall call) {
        target.putObject("function").put("name", call.name()).put("arguments", call.arguments());
        if (call.extraContent() != null) {
            target.set("extra_content", call.extraContent());
        }
    }

    /** An error event in OpenAI's stream shape, for an error the provider reported mid-stream. */
    static ObjectNode error(String message, String type) {
        ObjectNode root = NODES.objectNode();
        ObjectNode error = root.putObject("error");
        error.put("message", message);
        error.put("type", type);
        error.putNull("param");
        error.putNull("code");
        return root;
    }

    static byte[] bytes(JsonNode node) {
        try {
            return JSON.writeValueAsBytes(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write JSON", e); // a tree always serialises
        }
    }

    /**
     * The events of one translated stream, collected until {@link #drain()}: {@code data: <chunk>} events, the usage
     * chunk ({@code choices: []}) when the client asked for it, and {@code data: [DONE]}. Used on one event loop.
     */
    public static final class Chunks {
        private static final byte[] DATA = "data: ".getBytes(StandardCharsets.US_ASCII);
        private static final byte[] EVENT_END = "\n\n".getBytes(StandardCharsets.US_ASCII);

        private final long created;
        private final boolean includeUsage;
        private final ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        private String id;
        private String model;
        private boolean started;
        private boolean ended;

        /**
         * @param id the id every chunk carries, until {@link #describe} names the provider's
         * @param model the model every chunk names (the client's name for it), or {@code null} for the provider's
         * @param includeUsage the client asked for a usage chunk ({@code stream_options.include_usage})
         */
        public Chunks(String id, String model, long created, boolean includeUsage) {
            this.id = id;
            this.model = model;
            this.created = created;
            this.includeUsage = includeUsage;
        }

        /**
         * The id and model the provider's first event names; ignored once the first chunk is written, and for the
         * model when the client's name is known.
         */
        public void describe(String providerId, String providerModel) {
            if (started) {
                return;
            }
            if (providerId != null && !providerId.isEmpty()) {
                id = providerId;
            }
            if (model == null) {
                model = providerModel;
            }
        }

        /** The first chunk, {@code delta: {role: assistant, content: ""}}; written at most once. */
        public void start() {
            if (started) {
                return;
            }
            started = true;
            ObjectNode delta = NODES.objectNode().put("role", "assistant").put("content", "");
            write(chunk(delta, null));
        }

        public void content(String text) {
            if (text == null || text.isEmpty()) {
                return;
            }
            start();
            write(chunk(NODES.objectNode().put("content", text), null));
        }

        /** A tool call's first chunk: its index among the answer's calls, id, name and (maybe partial) arguments. */
        public void toolCall(int index, ToolCall call) {
            start();
            ObjectNode delta = NODES.objectNode();
            ObjectNode c = delta.putArray("tool_calls").addObject().put("index", index).put("id", call.id())
                    .put("type", "function");
            OpenAiChatJson.toolCall(c, call);
            write(chunk(delta, null));
        }

        /** More of the arguments of the call at {@code index}. */
        public void toolArguments(int index, String partialJson) {
            if (partialJson == null || partialJson.isEmpty()) {
                return;
            }
            start();
            ObjectNode delta = NODES.objectNode();
            delta.putArray("tool_calls").addObject().put("index", index).putObject("function")
                    .put("arguments", partialJson);
            write(chunk(delta, null));
        }

        /** The chunk carrying the finish reason, with an empty delta. */
        public void finish(String finishReason) {
            start();
            write(chunk(NODES.objectNode(), finishReason));
        }

        /** The usage chunk (if the client asked for one and there is usage) and {@code [DONE]}; once. */
        public void end(TokenUsage usage) {
            if (ended) {
                return;
            }
            ended = true;
            if (includeUsage && usage != null) {
                ObjectNode root = head();
                root.putArray("choices");
                root.set("usage", usage(usage));
                write(root);
            }
            out.writeBytes(DONE);
        }

        /** An error the provider reported mid-stream, as OpenAI sends one: {@code data: {"error": {...}}}. */
        public void error(String message, String type) {
            write(OpenAiChatJson.error(message, type));
        }

        /** {@code true} once {@link #end} was written: later provider events are not relayed. */
        public boolean ended() {
            return ended;
        }

        /** What was written since the last call (possibly nothing), and forgets it. */
        public byte[] drain() {
            byte[] bytes = out.toByteArray();
            out.reset();
            return bytes;
        }

        private ObjectNode head() {
            ObjectNode root = NODES.objectNode();
            root.put("id", id);
            root.put("object", "chat.completion.chunk");
            root.put("created", created);
            root.put("model", model);
            return root;
        }

        private ObjectNode chunk(ObjectNode delta, String finishReason) {
            ObjectNode root = head();
            ObjectNode choice = root.putArray("choices").addObject();
            choice.put("index", 0);
            choice.set("delta", delta);
            choice.putNull("logprobs");
            choice.put("finish_reason", finishReason);
            return root;
        }

        private void write(JsonNode event) {
            out.writeBytes(DATA);
            out.writeBytes(bytes(event));
            out.writeBytes(EVENT_END);
        }

    }
}
