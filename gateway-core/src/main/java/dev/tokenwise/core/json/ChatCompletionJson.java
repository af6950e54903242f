package dev.tokenwise.core.json;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenwise.core.model.TokenUsage;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * The one writer of OpenAI's chat completion shapes, for every place the gateway makes an OpenAI answer itself
 * rather than relaying one: translation of another provider's answer, the simulator, and the response cache's
 * replays. Each method builds one object with every field OpenAI always sends, in OpenAI's order, {@code null} where
 * there is no value, so strict clients (the OpenAI SDKs) accept it; callers add the fields only they know (tool
 * calls, {@code annotations}, a copied {@code logprobs}) to the returned nodes.
 *
 * <pre>{@code
 * ObjectNode chunk = ChatCompletionJson.chunk(id, created, model, null, null);
 * ChatCompletionJson.choice(chunk, 0, ChatCompletionJson.contentDelta("Hi"), null);
 * ChatCompletionJson.writeEvent(out, chunk);   // data: {...}\n\n
 * out.writeBytes(ChatCompletionJson.DONE_EVENT);
 * }</pre>
 *
 * <p>Stateless and thread-safe; the nodes returned are new and owned by the caller.
 */
public final class ChatCompletionJson {
    /** The event that ends an OpenAI stream. */
    public static final byte[] DONE_EVENT = "data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII);

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final byte[] DATA = "data: ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] EVENT_END = "\n\n".getBytes(StandardCharsets.US_ASCII);

    private ChatCompletionJson() {
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

    /** An answer's {@code message}: {@code role: assistant}, the content ({@code null} for none), no refusal. */
    public static ObjectNode assistantMessage(String content) {
        ObjectNode message = NODES.objectNode();
        message.put("role", "assistant");
        message.put("content", content);
        message.putNull("refusal");
        return message;
    }

    /**
     * A whole {@code chat.completion} with one choice at index 0.
     *
     * @param message the choice's message, e.g. {@link #assistantMessage}
     * @param usage the {@code usage} object, or {@code null} to leave the field out
     */
    public static ObjectNode completion(String id, long created, String model, ObjectNode message, String finishReason,
                                        ObjectNode usage) {
        ObjectNode root = NODES.objectNode();
        root.put("id", id);
        root.put("object", "chat.completion");
        root.put("created", created);
        root.put("model", model);
        ObjectNode choice = root.putArray("choices").addObject();
        choice.put("index", 0);
        choice.set("message", message);
        choice.putNull("logprobs");
        choice.put("finish_reason", finishReason);
        if (usage != null) {
            root.set("usage", usage);
        }
        return root;
    }

    /**
     * A {@code chat.completion.chunk} with an empty {@code choices} array: add choices with {@link #choice}, or set
     * {@code usage} for the usage chunk.
     *
     * @param serviceTier written when not {@code null}
     * @param systemFingerprint written when not {@code null}
     */
    public static ObjectNode chunk(String id, long created, String model, String serviceTier,
                                   String systemFingerprint) {
        ObjectNode root = NODES.objectNode();
        root.put("id", id);
        root.put("object", "chat.completion.chunk");
        root.put("created", created);
        root.put("model", model);
        if (serviceTier != null) {
            root.put("service_tier", serviceTier);
        }
        if (systemFingerprint != null) {
            root.put("system_fingerprint", systemFingerprint);
        }
        root.putArray("choices");
        return root;
    }

    /**
     * Adds a choice to a {@link #chunk}'s {@code choices}: its index, {@code delta}, {@code logprobs: null} and the
     * finish reason ({@code null} until the last chunk of the choice).
     *
     * @return the choice, for a caller that replaces {@code logprobs} or {@code finish_reason} with copied values
     */
    public static ObjectNode choice(ObjectNode chunk, int index, ObjectNode delta, String finishReason) {
        ArrayNode choices = chunk.get("choices") instanceof ArrayNode array ? array : chunk.putArray("choices");
        ObjectNode choice = choices.addObject();
        choice.put("index", index);
        choice.set("delta", delta);
        choice.putNull("logprobs");
        choice.put("finish_reason", finishReason);
        return choice;
    }

    /** The first delta of a stream: {@code {"role":"assistant","content":""}}. */
    public static ObjectNode roleDelta() {
        return NODES.objectNode().put("role", "assistant").put("content", "");
    }

    /** A delta carrying text: {@code {"content":"..."}}. */
    public static ObjectNode contentDelta(String text) {
        return NODES.objectNode().put("content", text);
    }

    /**
     * An error in OpenAI's shape, as a response body or a mid-stream event: {@code {"error":{"message","type",
     * "param","code"}}}, {@code param} and {@code code} {@code null} when not given.
     */
    public static ObjectNode error(String message, String type, String param, String code) {
        ObjectNode root = NODES.objectNode();
        ObjectNode error = root.putObject("error");
        error.put("message", message);
        error.put("type", type);
        error.put("param", param);
        error.put("code", code);
        return root;
    }

    /** The node as compact JSON. */
    public static byte[] bytes(JsonNode node) {
        try {
            return JSON.writeValueAsBytes(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write JSON", e); // a tree always serialises
        }
    }

    /** Appends the node as one server-sent event, {@code data: {...}\n\n}. */
    public static void writeEvent(ByteArrayOutputStream out, JsonNode node) {
        writeEvent(out, bytes(node));
    }

    /** Appends JSON already written as one server-sent event, {@code data: {...}\n\n}. */
    public static void writeEvent(ByteArrayOutputStream out, byte[] json) {
        out.writeBytes(DATA);
        out.writeBytes(json);
        out.writeBytes(EVENT_END);
    }
}
