package dev.tokenwise.core.cache;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenwise.core.json.ChatCompletionJson;
import dev.tokenwise.core.model.CallStatus;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.spi.AdmissionStage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.List;
import java.util.Set;

/**
 * One answer in the response cache, in every form a later call may want it, made once when it is stored so that a
 * hit only picks one: the JSON body for a call that is not streamed, and for chat completions the same answer as
 * server-sent events ({@code chat.completion.chunk}s, then the usage chunk for a client that asked for it with
 * {@code stream_options.include_usage}, then {@code [DONE]}).
 *
 * <p>Whatever way the original answer came: a JSON body is kept as the client received it and turned into events
 * (per choice, one chunk with the message as its delta and one with the finish reason); a stream is kept as the JSON
 * completion its events spell (one choice: the text they carried, the finish reason and the usage) and turned back
 * into events the same way. Only whole, successful answers are kept ({@link #of}).
 */
final class StoredAnswer {
    static final String JSON = "application/json";
    static final String EVENT_STREAM = "text/event-stream";
    static final byte[] DONE = ChatCompletionJson.DONE_EVENT;
    /** Finish reasons of a stream that ended as the model meant it to (with {@code length}: at its token cap). */
    private static final Set<String> STREAM_FINISHES = Set.of("stop", "length");
    /** Bytes a cache entry costs besides its arrays (the record, the answers, the map's node). */
    private static final int OVERHEAD_BYTES = 512;

    final UsageRecord original;
    private final AdmissionStage.Answer json;
    private final AdmissionStage.Answer events;
    private final AdmissionStage.Answer eventsWithUsage;
    /** Bytes it holds (with {@link #OVERHEAD_BYTES}), as the cache weighs it. */
    final int weight;

    private StoredAnswer(UsageRecord original, byte[] json, byte[] events, byte[] usageEvent) {
        this.original = original;
        this.json = new AdmissionStage.Answer(original, JSON, List.of(json));
        this.events = events == null ? null : new AdmissionStage.Answer(original, EVENT_STREAM, List.of(events, DONE));
        this.eventsWithUsage = events == null ? null
                : new AdmissionStage.Answer(original, EVENT_STREAM, List.of(events, usageEvent, DONE));
        this.weight = OVERHEAD_BYTES + json.length + (events == null ? 0 : events.length + usageEvent.length);
    }

    /** The answer for a call that asks for a stream ({@code stream}) and perhaps the usage chunk, else the JSON. */
    AdmissionStage.Answer answer(boolean stream, boolean includeUsage) {
        if (!stream || events == null) {
            return json;
        }
        return includeUsage ? eventsWithUsage : events;
    }

    /**
     * The entry for the answer a call's client received, or {@code null} when it must not be kept: the call did not
     * end well (an error, a stream cut short), the model's answer was filtered ({@code content_filter}), or the answer
     * is not one this cache can replay (see {@link ResponseCache}).
     *
     * @param streamReplayable whether a streamed answer to the request can be rebuilt from its text
     *     ({@link CanonicalRequest#streamReplayable})
     */
    static StoredAnswer of(ObjectMapper mapper, Endpoint endpoint, UsageRecord record, AdmissionStage.Delivered delivered,
                           boolean streamReplayable) {
        if (delivered == null || record.status() != CallStatus.OK || record.httpStatus() / 100 != 2
                || "content_filter".equals(record.finishReason())) {
            return null;
        }
        try {
            if (endpoint == Endpoint.EMBEDDINGS) {
                if (delivered.streamed() || delivered.body() == null
                        || !mapper.readTree(delivered.body()).path("data").isArray()) {
                    return null;
                }
                return new StoredAnswer(record, delivered.body(), null, null);
            }
            if (endpoint != Endpoint.CHAT_COMPLETIONS) {
                return null;
            }
            ObjectNode completion;
            byte[] json;
            if (delivered.streamed()) {
                if (!streamReplayable || delivered.streamedText() == null
                        || !STREAM_FINISHES.contains(record.finishReason())) {
                    return null;
                }
                completion = completion(record, delivered.streamedText());
                json = mapper.writeValueAsBytes(completion);
            } else {
                if (delivered.body() == null || !(mapper.readTree(delivered.body()) instanceof ObjectNode body)
                        || !wholeChoices(body.get("choices"))) {
                    return null;
                }
                completion = body;
                json = delivered.body();
            }
            return events(mapper, record, completion, json);
        } catch (IOException | RuntimeException unreadable) {
            return null;
        }
    }

    /** {@code true} for a non-empty array of choices that each finished, none of them filtered. */
    private static boolean wholeChoices(JsonNode choices) {
        if (choices == null || !choices.isArray() || choices.isEmpty()) {
            return false;
        }
        for (JsonNode choice : choices) {
            JsonNode reason = choice.get("finish_reason");
            if (reason == null || !reason.isTextual() || "content_filter".equals(reason.textValue())) {
                return false;
            }
        }
        return true;
    }

    /** The {@code chat.completion} a stream of one choice spelled. */
    private static ObjectNode completion(UsageRecord record, String text) {
        return ChatCompletionJson.completion("chatcmpl-" + record.id(), record.createdAtMillis() / 1000, record.model(),
                ChatCompletionJson.assistantMessage(text), record.finishReason(),
                ChatCompletionJson.usage(record.usage()));
    }

    /** The entry with {@code completion} also as events: per choice its message, then its finish; then the usage. */
    private static StoredAnswer events(ObjectMapper mapper, UsageRecord record, ObjectNode completion, byte[] json)
            throws IOException {
        ByteArrayOutputStream events = new ByteArrayOutputStream(json.length + 512);
        JsonNode choices = completion.path("choices");
        for (int i = 0; i < choices.size(); i++) {
            JsonNode choice = choices.get(i);
            int index = choice.path("index").asInt(i);
            ObjectNode first = chunk(completion);
            ObjectNode part = ChatCompletionJson.choice(first, index, delta(mapper, choice.path("message")), null);
            JsonNode logprobs = choice.get("logprobs");
            if (logprobs != null) {
                part.set("logprobs", logprobs);
            }
            ChatCompletionJson.writeEvent(events, mapper.writeValueAsBytes(first));
            ObjectNode last = chunk(completion);
            ChatCompletionJson.choice(last, index, mapper.createObjectNode(), null)
                    .set("finish_reason", choice.get("finish_reason"));
            ChatCompletionJson.writeEvent(events, mapper.writeValueAsBytes(last));
        }
        ObjectNode usageChunk = chunk(completion);
        JsonNode usage = completion.get("usage");
        usageChunk.set("usage", usage != null && usage.isObject() ? usage : ChatCompletionJson.usage(record.usage()));
        ByteArrayOutputStream usageEvent = new ByteArrayOutputStream(256);
        ChatCompletionJson.writeEvent(usageEvent, mapper.writeValueAsBytes(usageChunk));
        return new StoredAnswer(record, json, events.toByteArray(), usageEvent.toByteArray());
    }

    /**
     * A {@code chat.completion.chunk} with the completion's id, creation time, model and fingerprint, copied as they
     * are (a provider's id or fingerprint need not be a string to be replayed as it came).
     */
    private static ObjectNode chunk(ObjectNode completion) {
        ObjectNode chunk = ChatCompletionJson.chunk(null, 0, null, null, null);
        chunk.set("id", completion.get("id"));
        chunk.set("created", completion.get("created"));
        chunk.set("model", completion.get("model"));
        JsonNode fingerprint = completion.get("system_fingerprint");
        if (fingerprint != null) {
            // Before "choices", where OpenAI writes it.
            JsonNode choices = chunk.remove("choices");
            chunk.set("system_fingerprint", fingerprint);
            chunk.set("choices", choices);
        }
        return chunk;
    }

    /** A message as a delta: its role, content, refusal and calls, each tool call with its position. */
    private static ObjectNode delta(ObjectMapper mapper, JsonNode message) {
        ObjectNode delta = mapper.createObjectNode();
        delta.put("role", message.path("role").asText("assistant"));
        for (String field : new String[] {"content", "refusal", "function_call"}) {
            JsonNode value = message.get(field);
            if (value != null && !value.isNull()) {
                delta.set(field, value);
            }
        }
        JsonNode calls = message.get("tool_calls");
        if (calls != null && calls.isArray()) {
            ArrayNode indexed = delta.putArray("tool_calls");
            for (int j = 0; j < calls.size(); j++) {
                ObjectNode call = indexed.addObject();
                call.put("index", j);
                calls.get(j).fields().forEachRemaining(f -> call.set(f.getKey(), f.getValue()));
            }
        }
        return delta;
    }

}
