package dev.tokenwise.providers.anthropic;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tokenwise.providers.SseData;
import dev.tokenwise.providers.TokenFields;
import dev.tokenwise.core.model.ServiceTier;
import dev.tokenwise.core.model.TokenUsage;
import dev.tokenwise.core.spi.ResponseObserver;
import dev.tokenwise.providers.translate.AnthropicToChat;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * Reads usage, produced text and stop reason from Anthropic Messages responses: a {@code message} object,
 * or the events of a stream.
 *
 * <p>Usage is normalised to {@link TokenUsage}'s OpenAI meaning. Anthropic reports {@code input_tokens}
 * <em>without</em> the prompt tokens written to or read from the cache, so
 * {@code inputTokens = input_tokens + cache_creation_input_tokens + cache_read_input_tokens},
 * {@code cachedInputTokens = cache_read_input_tokens}, {@code cacheWriteTokens = cache_creation_input_tokens}.
 * In a stream, {@code message_start} carries the input side and {@code message_delta} the cumulative
 * {@code output_tokens} (and, from newer API versions, updated input counts, which replace earlier ones).
 * The cache writes' breakdown by duration ({@code cache_creation.ephemeral_5m_input_tokens} and
 * {@code ephemeral_1h_input_tokens}) gives {@code cacheWrite1hTokens}, billed at the 1-hour rate (when the breakdown
 * adds up to more than {@code cache_creation_input_tokens}, the breakdown is believed); {@code usage.service_tier}
 * ({@code standard}, {@code priority}, {@code batch}) is the tier the call is priced at.
 *
 * <p>Stop reasons are mapped to OpenAI's finish reasons: {@code end_turn} and {@code stop_sequence} to
 * {@code stop}, {@code max_tokens} and {@code model_context_window_exceeded} to {@code length},
 * {@code tool_use} to {@code tool_calls}, {@code refusal} to {@code content_filter}; others are kept as sent.
 *
 * <p>For an OpenAI chat completion served by translation, the same reading feeds an {@link AnthropicToChat}, and
 * the client gets its output ({@link #translateEvent}, {@link #translateBody}) instead of Anthropic's bytes.
 */
final class AnthropicResponseObserver implements ResponseObserver {

    /** The translation into an OpenAI chat completion, or {@code null} to relay Anthropic's answer as it is. */
    private final AnthropicToChat chat;
    private final StringBuilder text = new StringBuilder();
    /** A translated call's whole answer, parsed once by {@link #onBody}. */
    private JsonNode message;
    private boolean sawUsage;
    /** The usage read is Anthropic's last word: a whole message's, or a stream's {@code message_delta}. */
    private boolean usageFinal;
    private boolean usageRejected;
    /** An {@code error} event in the stream, as {@code type: message}, or {@code null}. */
    private String streamError;
    private long inputTokens;
    private long cacheWriteTokens;
    private long cacheReadTokens;
    private long outputTokens;
    private long cacheWrite5mTokens;
    private long cacheWrite1hTokens;
    private ServiceTier serviceTier;
    private String finishReason;

    /** An observer of a native Messages call, whose answer is relayed as Anthropic sent it. */
    AnthropicResponseObserver() {
        this(null);
    }

    /** @param chat the translation into an OpenAI chat completion, or {@code null} for a native call */
    AnthropicResponseObserver(AnthropicToChat chat) {
        this.chat = chat;
    }

    @Override
    public boolean onEvent(ByteBuf event) {
        SseData.forEach(event, data -> {
            onData(SseData.json(data));
            return true;
        });
        // Nothing is injected into Anthropic streams, so every event goes to the client (translated or not).
        return true;
    }

    @Override
    public ByteBuf translateEvent(ByteBuf event, ByteBufAllocator alloc) {
        if (chat == null) {
            return null;
        }
        byte[] chunks = chat.drain();
        return alloc.buffer(chunks.length).writeBytes(chunks);
    }

    @Override
    public boolean translatesBody() {
        return chat != null;
    }

    @Override
    public ByteBuf translateBody(ByteBuf body, ByteBufAllocator alloc) {
        if (chat == null) {
            return ResponseObserver.super.translateBody(body, alloc);
        }
        JsonNode read = message != null ? message : SseData.json(body);
        byte[] completion = chat.completion(read, usage(), finishReason);
        return alloc.buffer(completion.length).writeBytes(completion);
    }

    /** One event's data; its {@code type} equals the SSE event name, so the {@code event:} line is not needed. */
    private void onData(JsonNode data) {
        switch (data.path("type").asText("")) {
            case "message_start" -> {
                JsonNode message = data.path("message");
                readUsage(message.get("usage"));
                readStopReason(message.get("stop_reason"));
            }
            case "content_block_start" -> appendBlock(data.path("content_block"));
            case "content_block_delta" -> appendDelta(data.path("delta"));
            case "message_delta" -> {
                // Its output_tokens is cumulative and final (message_start's is a placeholder, usually 1).
                usageFinal |= data.get("usage") != null && data.get("usage").isObject();
                readUsage(data.get("usage"));
                readStopReason(data.path("delta").get("stop_reason"));
            }
            case "error" -> {
                JsonNode error = data.path("error");
                streamError = error.path("type").asText("error") + ": " + error.path("message").asText("");
            }
            default -> {
                // ping, content_block_stop, message_stop and types added later carry nothing to count
            }
        }
        if (chat != null) {
            chat.onEvent(data, usage(), finishReason);
        }
    }

    @Override
    public void onBody(ByteBuf body) {
        JsonNode message = SseData.json(body);
        if (chat != null) {
            this.message = message; // kept for translateBody, which follows
        }
        readUsage(message.get("usage"));
        usageFinal = true;
        for (JsonNode block : message.path("content")) {
            appendBlock(block);
        }
        readStopReason(message.get("stop_reason"));
    }

    private void appendBlock(JsonNode block) {
        switch (block.path("type").asText("")) {
            case "text" -> text.append(block.path("text").asText(""));
            case "thinking" -> text.append(block.path("thinking").asText(""));
            case "tool_use", "server_tool_use" -> {
                text.append(block.path("name").asText(""));
                JsonNode input = block.get("input");
                // In a stream the input arrives as input_json_delta; the start event holds an empty object.
                if (input != null && input.isObject() && !input.isEmpty()) {
                    text.append(input);
                }
            }
            default -> {
                // redacted_thinking, tool results, images: no text that the model produced
            }
        }
    }

    private void appendDelta(JsonNode delta) {
        switch (delta.path("type").asText("")) {
            case "text_delta" -> text.append(delta.path("text").asText(""));
            case "input_json_delta" -> text.append(delta.path("partial_json").asText(""));
            case "thinking_delta" -> text.append(delta.path("thinking").asText(""));
            default -> {
                // signature_delta, citations_delta: not model text
            }
        }
    }

    /**
     * Reads the counts present in {@code usage}; absent or null counts keep their earlier value. A count that
     * cannot be believed ({@link TokenFields}) rejects the call's usage for good.
     */
    private void readUsage(JsonNode usage) {
        if (usage == null || !usage.isObject()) {
            return;
        }
        long input = TokenFields.read(usage, "input_tokens");
        long cacheWrite = TokenFields.read(usage, "cache_creation_input_tokens");
        long cacheRead = TokenFields.read(usage, "cache_read_input_tokens");
        long output = TokenFields.read(usage, "output_tokens");
        JsonNode creation = usage.path("cache_creation");
        long write5m = TokenFields.read(creation, "ephemeral_5m_input_tokens");
        long write1h = TokenFields.read(creation, "ephemeral_1h_input_tokens");
        if (input == TokenFields.INVALID || cacheWrite == TokenFields.INVALID || cacheRead == TokenFields.INVALID
                || output == TokenFields.INVALID || write5m == TokenFields.INVALID || write1h == TokenFields.INVALID) {
            usageRejected = true;
            return;
        }
        JsonNode tier = usage.get("service_tier");
        if (tier != null && tier.isTextual()) {
            serviceTier = ServiceTier.served(tier.textValue());
        }
        sawUsage = true;
        cacheWrite5mTokens = write5m == TokenFields.ABSENT ? cacheWrite5mTokens : write5m;
        cacheWrite1hTokens = write1h == TokenFields.ABSENT ? cacheWrite1hTokens : write1h;
        inputTokens = input == TokenFields.ABSENT ? inputTokens : input;
        cacheWriteTokens = cacheWrite == TokenFields.ABSENT ? cacheWriteTokens : cacheWrite;
        cacheReadTokens = cacheRead == TokenFields.ABSENT ? cacheReadTokens : cacheRead;
        outputTokens = output == TokenFields.ABSENT ? outputTokens : output;
    }

    private void readStopReason(JsonNode reason) {
        if (reason != null && reason.isTextual()) {
            finishReason = finishReason(reason.textValue());
            if (chat != null && chat.jsonObject() && "tool_calls".equals(finishReason)) {
                finishReason = "stop"; // the JSON object asked for, given through the tool that carries it
            }
        }
    }

    /** Anthropic's {@code stop_reason} as an OpenAI {@code finish_reason}. */
    static String finishReason(String stopReason) {
        return switch (stopReason) {
            case "end_turn", "stop_sequence" -> "stop";
            case "max_tokens", "model_context_window_exceeded" -> "length";
            case "tool_use" -> "tool_calls";
            case "refusal" -> "content_filter";
            default -> stopReason;
        };
    }

    @Override
    public TokenUsage usage() {
        if (!sawUsage || usageRejected) {
            return null;
        }
        long written = Math.max(cacheWriteTokens, cacheWrite5mTokens + cacheWrite1hTokens);
        return new TokenUsage(inputTokens + written + cacheReadTokens, cacheReadTokens, written, outputTokens, 0,
                cacheWrite1hTokens);
    }

    @Override
    public boolean usageRejected() {
        return usageRejected;
    }

    /** {@code false} for a stream that has not reached its {@code message_delta}: its usage is the start's. */
    @Override
    public boolean usageFinal() {
        return usageFinal;
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
