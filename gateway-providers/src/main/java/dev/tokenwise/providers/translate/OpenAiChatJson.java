package dev.tokenwise.providers.translate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenwise.core.json.ChatCompletionJson;
import dev.tokenwise.core.model.TokenUsage;
import java.io.ByteArrayOutputStream;
import java.util.List;

/**
 * OpenAI chat completions made from another provider's answer: a whole {@code chat.completion} with tool calls, and
 * the {@code chat.completion.chunk} events of a translated stream ({@link Chunks}). The shapes themselves come from
 * {@link ChatCompletionJson}, the one writer of OpenAI answers; this class adds what only translation knows (tool
 * calls, the stream's state).
 */
public final class OpenAiChatJson {
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

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
     * A whole {@code chat.completion} with one choice.
     *
     * @param content the text, or {@code null} when the model produced none (only tool calls)
     * @param usage the usage, or {@code null} when the provider reported none
     */
    public static byte[] completion(String id, long created, String model, String content, List<ToolCall> toolCalls,
                                    String finishReason, TokenUsage usage) {
        ObjectNode message = ChatCompletionJson.assistantMessage(content);
        if (!toolCalls.isEmpty()) {
            ArrayNode calls = message.putArray("tool_calls");
            for (ToolCall call : toolCalls) {
                toolCall(calls.addObject().put("id", call.id()).put("type", "function"), call);
            }
        }
        return ChatCompletionJson.bytes(ChatCompletionJson.completion(id, created, model, message, finishReason,
                usage == null ? null : ChatCompletionJson.usage(usage)));
    }

    private static void toolCall(ObjectNode target, ToolCall call) {
        target.putObject("function").put("name", call.name()).put("arguments", call.arguments());
        if (call.extraContent() != null) {
            target.set("extra_content", call.extraContent());
        }
    }

    /**
     * The events of one translated stream, collected until {@link #drain()}: {@code data: <chunk>} events, the usage
     * chunk ({@code choices: []}) when the client asked for it, and {@code data: [DONE]}. Used on one event loop.
     */
    public static final class Chunks {
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
            write(chunk(ChatCompletionJson.roleDelta(), null));
        }

        public void content(String text) {
            if (text == null || text.isEmpty()) {
                return;
            }
            start();
            write(chunk(ChatCompletionJson.contentDelta(text), null));
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
                ObjectNode root = ChatCompletionJson.chunk(id, created, model, null, null);
                root.set("usage", ChatCompletionJson.usage(usage));
                write(root);
            }
            out.writeBytes(ChatCompletionJson.DONE_EVENT);
        }

        /** An error the provider reported mid-stream, as OpenAI sends one: {@code data: {"error": {...}}}. */
        public void error(String message, String type) {
            write(ChatCompletionJson.error(message, type, null, null));
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

        private ObjectNode chunk(ObjectNode delta, String finishReason) {
            ObjectNode root = ChatCompletionJson.chunk(id, created, model, null, null);
            ChatCompletionJson.choice(root, 0, delta, finishReason);
            return root;
        }

        private void write(JsonNode event) {
            ChatCompletionJson.writeEvent(out, event);
        }

    }
}
