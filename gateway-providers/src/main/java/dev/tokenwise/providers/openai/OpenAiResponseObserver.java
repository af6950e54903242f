package dev.tokenwise.providers.openai;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tokenwise.providers.SseData;
import dev.tokenwise.providers.TokenFields;
import dev.tokenwise.core.model.ServiceTier;
import dev.tokenwise.core.model.TokenUsage;
import dev.tokenwise.core.spi.ResponseObserver;
import io.netty.buffer.ByteBuf;

/**
 * Reads usage, produced text and finish reason from OpenAI responses: chat completion objects and
 * chunks, embeddings, and Responses API objects and events ({@code response.output_text.delta},
 * {@code response.completed}). OpenAI-compatible providers' own usage fields are read too (DeepSeek's
 * {@code prompt_cache_hit_tokens}), see {@link #parseUsage}.
 *
 * <p>Chat completion objects and chunks (and embedding lists), nearly all of the traffic, are read with
 * Jackson's streaming parser ({@link ChatCompletionScanner}), which skips every field it does not need;
 * The tier the provider served ({@code service_tier} of a chat completion, of its chunks, of a Responses object or of
 * its {@code response.completed} event) is kept for pricing; the last one read counts.
 *
 * <p>Responses API objects and events, and anything unusual that scanner hands back, are read as a Jackson tree,
 * as are payloads that are not JSON (so that their error is the tree parse's, as before).
 */
final class OpenAiResponseObserver implements ResponseObserver {

    private final boolean dropUsageChunk;
    private final StringBuilder text = new StringBuilder();
    private final ChatCompletionScanner scanner = new ChatCompletionScanner();
    private TokenUsage usage;
    private boolean usageRejected;
    private long rejectedPrediction;
    private String finishReason;
    private ServiceTier serviceTier;
    /** An error reported inside a 200 stream, or {@code null}. */
    private String streamError;

    OpenAiResponseObserver(boolean dropUsageChunk) {
        this.dropUsageChunk = dropUsageChunk;
    }

    @Override
    public boolean onEvent(ByteBuf event) {
        return SseData.forEach(event, this::onData);
    }

    private boolean onData(ByteBuf data) {
        if (SseData.isDone(data)) {
            return true;
        }
        if (scanner.scan(data, true, text)) {
            if (scanner.usage != null) {
                report(scanner.usage, 0); // the scanner leaves rejected prediction tokens other than 0 to the tree
            }
            if (scanner.finishReason != null) {
                finishReason = scanner.finishReason;
            }
            if (scanner.serviceTier != null) {
                serviceTier = scanner.serviceTier;
            }
            return !(dropUsageChunk && scanner.usage != null && scanner.choicesEmpty);
        }
        return onDataTree(SseData.json(data));
    }

    /** A chunk or Responses event the scanner handed back, read from its tree. */
    private boolean onDataTree(JsonNode node) {
        String type = node.path("type").asText("");
        if (type.startsWith("response.")) {
            onResponsesEvent(type, node);
            return true;
        }
        JsonNode error = node.get("error");
        if (error != null && error.isObject()) {
            // A chat stream's error ({"error": {...}}).
            streamError = error.path("type").asText("error") + ": " + error.path("message").asText("");
        } else if ("error".equals(type)) {
            // A Responses stream's error event ({"type": "error", "code", "message"}).
            streamError = node.path("code").asText("error") + ": " + node.path("message").asText("");
        }
        JsonNode usageNode = node.get("usage");
        if (usageNode != null && usageNode.isObject()) {
            report(parseUsage(usageNode), rejectedPrediction(usageNode));
        }
        readServiceTier(node);
        JsonNode choices = node.get("choices");
        if (choices != null && choices.isArray()) {
            for (JsonNode choice : choices) {
                JsonNode content = choice.path("delta").get("content");
                if (content != null && content.isTextual()) {
                    text.append(content.textValue());
                }
                appendToolArguments(choice.path("delta"));
                JsonNode reason = choice.get("finish_reason");
                if (reason != null && reason.isTextual()) {
                    finishReason = reason.textValue();
                }
            }
            if (dropUsageChunk && usageNode != null && usageNode.isObject() && choices.isEmpty()) {
                return false;
            }
        }
        return true;
    }

    private void onResponsesEvent(String type, JsonNode node) {
        if ("response.output_text.delta".equals(type) || "response.function_call_arguments.delta".equals(type)) {
            text.append(node.path("delta").asText(""));
        } else if ("response.output_item.added".equals(type)
                && "function_call".equals(node.path("item").path("type").asText())) {
            text.append(node.path("item").path("name").asText(""));
        } else if ("response.completed".equals(type) || "response.incomplete".equals(type)
                || "response.failed".equals(type)) {
            JsonNode response = node.path("response");
            JsonNode usageNode = response.get("usage");
            if (usageNode != null && usageNode.isObject()) {
                report(parseUsage(usageNode), 0);
            }
            readServiceTier(response);
            finishReason = responsesFinishReason(response);
            if ("response.failed".equals(type)) {
                JsonNode error = response.path("error");
                streamError = error.path("code").asText("failed") + ": " + error.path("message").asText("");
            }
        }
    }

    /** The object's {@code service_tier}, when it is a string. */
    private void readServiceTier(JsonNode object) {
        JsonNode tier = object.get("service_tier");
        if (tier != null && tier.isTextual()) {
            serviceTier = ServiceTier.served(tier.textValue());
        }
    }

    @Override
    public void onBody(ByteBuf body) {
        if (scanner.scan(body, false, text)) {
            if (scanner.usage != null) {
                report(scanner.usage, 0); // the scanner leaves rejected prediction tokens other than 0 to the tree
            }
            if (scanner.finishReason != null) {
                finishReason = scanner.finishReason;
            }
            if (scanner.serviceTier != null) {
                serviceTier = scanner.serviceTier;
            }
            return;
        }
        onBodyTree(SseData.json(body));
    }

    /** A body the scanner handed back (a Responses object, ...), read from its tree. */
    private void onBodyTree(JsonNode node) {
        JsonNode usageNode = node.get("usage");
        if (usageNode != null && usageNode.isObject()) {
            report(parseUsage(usageNode), rejectedPrediction(usageNode));
        }
        readServiceTier(node);
        JsonNode choices = node.get("choices");
        if (choices != null && choices.isArray()) {
            for (JsonNode choice : choices) {
                JsonNode message = choice.path("message");
                JsonNode content = message.get("content");
                if (content != null && content.isTextual()) {
                    text.append(content.textValue());
                }
                appendToolArguments(message);
                JsonNode reason = choice.get("finish_reason");
                if (reason != null && reason.isTextual()) {
                    finishReason = reason.textValue();
                }
            }
        }
        if ("response".equals(node.path("object").asText())) {
            for (JsonNode item : node.path("output")) {
                for (JsonNode part : item.path("content")) {
                    if ("output_text".equals(part.path("type").asText())) {
                        text.append(part.path("text").asText(""));
                    }
                }
                if ("function_call".equals(item.path("type").asText())) {
                    text.append(item.path("name").asText("")).append(item.path("arguments").asText(""));
                }
            }
            finishReason = responsesFinishReason(node);
        }
    }

    private void appendToolArguments(JsonNode message) {
        for (JsonNode call : message.path("tool_calls")) {
            JsonNode function = call.path("function");
            JsonNode name = function.get("name");
            if (name != null && name.isTextual()) {
                text.append(name.textValue());
            }
            JsonNode arguments = function.get("arguments");
            if (arguments != null && arguments.isTextual()) {
                text.append(arguments.textValue());
            }
        }
    }

    /**
     * A Responses API status in chat completions' words, so that records of both APIs compare: {@code completed} is
     * {@code tool_calls} when the answer calls a function (as a chat completion says), else {@code stop};
     * {@code incomplete} because of {@code max_output_tokens} is {@code length}.
     */
    static String responsesFinishReason(JsonNode response) {
        String status = response.path("status").asText("");
        if ("incomplete".equals(status)) {
            String reason = response.path("incomplete_details").path("reason").asText("");
            return "max_output_tokens".equals(reason) ? "length" : reason.isEmpty() ? "incomplete" : reason;
        }
        if ("completed".equals(status)) {
            for (JsonNode item : response.path("output")) {
                if ("function_call".equals(item.path("type").asText())) {
                    return "tool_calls";
                }
            }
            return "stop";
        }
        return status.isEmpty() ? null : status;
    }

    /**
     * OpenAI usage in either naming: chat ({@code prompt_tokens}) or Responses ({@code input_tokens}). Cached
     * prompt tokens come from {@code prompt_tokens_details.cached_tokens} (OpenAI, and most compatible
     * servers), {@code input_tokens_details.cached_tokens} (Responses) or DeepSeek's
     * {@code prompt_cache_hit_tokens}; DeepSeek's {@code prompt_tokens} is hits plus misses, and when a server
     * reports only {@code prompt_cache_hit_tokens} and {@code prompt_cache_miss_tokens} their sum is the input.
     *
     * @return the usage, or {@code null} when one of those fields holds no believable count ({@link TokenFields})
     */
    static TokenUsage parseUsage(JsonNode u) {
        long prompt = TokenFields.read(u, "prompt_tokens");
        long input = TokenFields.read(u, "input_tokens");
        long completion = TokenFields.read(u, "completion_tokens");
        long output = TokenFields.read(u, "output_tokens");
        long hit = TokenFields.read(u, "prompt_cache_hit_tokens");
        long miss = TokenFields.read(u, "prompt_cache_miss_tokens");
        long promptCached = TokenFields.count(u.path("prompt_tokens_details").path("cached_tokens"));
        long inputCached = TokenFields.count(u.path("input_tokens_details").path("cached_tokens"));
        long completionReasoning = TokenFields.count(u.path("completion_tokens_details").path("reasoning_tokens"));
        long outputReasoning = TokenFields.count(u.path("output_tokens_details").path("reasoning_tokens"));
        for (long count : new long[] {prompt, input, completion, output, hit, miss, promptCached, inputCached,
                completionReasoning, outputReasoning}) {
            if (count == TokenFields.INVALID) {
                return null;
            }
        }
        return usage(prompt != TokenFields.ABSENT ? prompt : TokenFields.orZero(input),
                completion != TokenFields.ABSENT ? completion : TokenFields.orZero(output),
                u.has("prompt_cache_hit_tokens"), TokenFields.orZero(hit),
                u.has("prompt_cache_miss_tokens"), TokenFields.orZero(miss),
                TokenFields.orZero(promptCached), TokenFields.orZero(inputCached),
                TokenFields.orZero(completionReasoning), TokenFields.orZero(outputReasoning));
    }

    /**
     * The usage made of a payload's token fields, however they were read, each a count from 0 to
     * {@link TokenUsage#MAX_PLAUSIBLE_TOKENS}: input is {@code prompt_tokens} (or {@code input_tokens}), or DeepSeek's
     * cache hits plus misses when it is missing; cached input is the largest of the cache figures, and no more than
     * the input; reasoning no more than the output.
     */
    static TokenUsage usage(long input, long output, boolean hasCacheHit, long cacheHit, boolean hasCacheMiss,
                            long cacheMiss, long promptCached, long inputCached, long completionReasoning,
                            long outputReasoning) {
        if (input == 0 && (hasCacheHit || hasCacheMiss)) {
            input = cacheHit + cacheMiss;
        }
        long cached = Math.max(Math.max(promptCached, inputCached), cacheHit);
        long reasoning = Math.max(completionReasoning, outputReasoning);
        return new TokenUsage(input, Math.min(cached, input), 0, output, Math.min(reasoning, output));
    }

    /** Takes one usage report: {@code null} for one that could not be believed, which rejects the call's usage for good. */
    private void report(TokenUsage reported, long rejected) {
        if (reported == null) {
            usageRejected = true;
            usage = null;
            rejectedPrediction = 0;
        } else if (!usageRejected) {
            usage = reported;
            rejectedPrediction = Math.min(rejected, reported.outputTokens());
        }
    }

    /** {@code completion_tokens_details.rejected_prediction_tokens}, 0 when missing or not a believable count. */
    private static long rejectedPrediction(JsonNode usage) {
        long n = TokenFields.count(usage.path("completion_tokens_details").path("rejected_prediction_tokens"));
        return n == TokenFields.INVALID ? 0 : TokenFields.orZero(n);
    }

    @Override
    public long rejectedPredictionTokens() {
        return usage == null ? 0 : rejectedPrediction;
    }

    @Override
    public TokenUsage usage() {
        return usage;
    }

    @Override
    public boolean usageRejected() {
        return usageRejected;
    }

    @Override
    public String streamError() {
        return streamError;
    }

    @Override
    public String outputText() {
        return text.toString();
    }

    @Override
    public String finishReason() {
        return finishReason;
    }

    @Override
    public ServiceTier serviceTier() {
        return serviceTier;
    }
}
