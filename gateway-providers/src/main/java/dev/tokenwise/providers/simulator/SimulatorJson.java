package dev.tokenwise.providers.simulator;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenwise.core.json.ChatCompletionJson;
import dev.tokenwise.core.model.TokenUsage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufInputStream;
import io.netty.buffer.ByteBufOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;

/**
 * The simulator's JSON: chat completions and chunks as OpenAI itself sends them (the shapes from
 * {@link ChatCompletionJson}, plus the fields only OpenAI's own answers carry: {@code service_tier},
 * {@code system_fingerprint}, {@code annotations}, zero audio and prediction details), embeddings, the model list,
 * request parsing, and writing into buffers the caller owns.
 */
final class SimulatorJson {

    static final String SYSTEM_FINGERPRINT = "tokenwise-simulator";
    static final String OWNER = "tokenwise-simulator";
    /** A fixed {@code created} for listed models, so {@code GET /v1/models} is byte-for-byte stable. */
    static final long MODELS_CREATED = 1_735_689_600L;

    private static final JsonMapper MAPPER = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final byte[] DATA = "data: ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] EVENT_END = "\n\n".getBytes(StandardCharsets.US_ASCII);

    private SimulatorJson() {
    }

    /** Parses a request body, rejecting trailing garbage; the buffer stays owned by the caller. */
    static JsonNode parse(ByteBuf content) throws IOException {
        try (ByteBufInputStream in = new ByteBufInputStream(content.duplicate())) {
            return MAPPER.readTree((InputStream) in);
        }
    }

    static ObjectNode chatCompletion(String id, long created, String model, SimulatedCompletion completion) {
        ObjectNode message = ChatCompletionJson.assistantMessage(completion.text());
        message.putArray("annotations");
        ObjectNode root = ChatCompletionJson.completion(id, created, model, message, completion.finishReason(),
                chatUsage(completion));
        root.put("service_tier", "default");
        root.put("system_fingerprint", SYSTEM_FINGERPRINT);
        return root;
    }

    /** OpenAI's {@code usage} with the zero details OpenAI itself sends (audio, predictions). */
    static ObjectNode chatUsage(SimulatedCompletion completion) {
        ObjectNode usage = ChatCompletionJson.usage(TokenUsage.of(completion.promptTokens(),
                completion.completionTokens()));
        ((ObjectNode) usage.get("prompt_tokens_details")).put("audio_tokens", 0);
        ((ObjectNode) usage.get("completion_tokens_details")).put("audio_tokens", 0)
                .put("accepted_prediction_tokens", 0).put("rejected_prediction_tokens", 0);
        return usage;
    }

    /**
     * A {@code chat.completion.chunk} with one choice, or with {@code "choices":[]} when {@code delta} is
     * {@code null}.
     *
     * @param usage written as the chunk's {@code usage}; {@code null} writes {@code "usage":null} when
     *     {@code withUsageField}, and no field otherwise
     */
    static ObjectNode chunk(String id, long created, String model, ObjectNode delta, String finishReason,
                            boolean withUsageField, ObjectNode usage) {
        ObjectNode root = ChatCompletionJson.chunk(id, created, model, "default", SYSTEM_FINGERPRINT);
        if (delta != null) {
            ChatCompletionJson.choice(root, 0, delta, finishReason);
        }
        if (withUsageField) {
            root.set("usage", usage == null ? NODES.nullNode() : usage);
        }
        return root;
    }

    /** The first delta, with OpenAI's {@code refusal: null}. */
    static ObjectNode roleDelta() {
        return ChatCompletionJson.roleDelta().putNull("refusal");
    }

    static ObjectNode contentDelta(String content) {
        return ChatCompletionJson.contentDelta(content);
    }

    static ObjectNode emptyDelta() {
        return NODES.objectNode();
    }

    static ObjectNode embeddings(EmbeddingRequest request, List<float[]> vectors, long promptTokens) {
        ObjectNode root = NODES.objectNode();
        root.put("object", "list");
        ArrayNode data = root.putArray("data");
        for (int i = 0; i < vectors.size(); i++) {
            ObjectNode item = data.addObject();
            item.put("object", "embedding");
            item.put("index", i);
            float[] vector = vectors.get(i);
            if (request.base64()) {
                item.put("embedding", base64(vector));
            } else {
                ArrayNode values = item.putArray("embedding");
                for (float v : vector) {
                    values.add(v);
                }
            }
        }
        root.put("model", request.model());
        ObjectNode usage = root.putObject("usage");
        usage.put("prompt_tokens", promptTokens);
        usage.put("total_tokens", promptTokens);
        return root;
    }

    static ObjectNode model(String id) {
        ObjectNode model = NODES.objectNode();
        model.put("id", id);
        model.put("object", "model");
        model.put("created", MODELS_CREATED);
        model.put("owned_by", OWNER);
        return model;
    }

    static ObjectNode models(List<String> ids) {
        ObjectNode root = NODES.objectNode();
        root.put("object", "list");
        ArrayNode data = root.putArray("data");
        for (String id : ids) {
            data.add(model(id));
        }
        return root;
    }

    static ObjectNode error(String message, String type, String param, String code) {
        return ChatCompletionJson.error(message, type, param, code);
    }

    /** The node as JSON in a new buffer the caller owns. */
    static ByteBuf write(ByteBufAllocator alloc, JsonNode node) {
        return write(alloc, node, false);
    }

    /** The node as one server-sent event, {@code data: {...}\n\n}, in a new buffer the caller owns. */
    static ByteBuf event(ByteBufAllocator alloc, JsonNode node) {
        return write(alloc, node, true);
    }

    /** The node in a new buffer, framed as an event or not; the buffer is released if writing fails. */
    private static ByteBuf write(ByteBufAllocator alloc, JsonNode node, boolean asEvent) {
        ByteBuf buf = alloc.buffer();
        boolean written = false;
        try {
            if (asEvent) {
                buf.writeBytes(DATA);
            }
            MAPPER.writeValue((OutputStream) new ByteBufOutputStream(buf), node);
            if (asEvent) {
                buf.writeBytes(EVENT_END);
            }
            written = true;
            return buf;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            if (!written) {
                buf.release();
            }
        }
    }

    /** {@code data: [DONE]\n\n} appended to {@code buf}. */
    static ByteBuf done(ByteBuf buf) {
        return buf.writeBytes(ChatCompletionJson.DONE_EVENT);
    }

    private static String base64(float[] vector) {
        ByteBuffer bytes = ByteBuffer.allocate(vector.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : vector) {
            bytes.putFloat(v);
        }
        return Base64.getEncoder().encodeToString(bytes.array());
    }
}
