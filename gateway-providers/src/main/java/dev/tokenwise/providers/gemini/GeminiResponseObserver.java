package dev.tokenwise.providers.gemini;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tokenwise.providers.SseData;
import dev.tokenwise.providers.TokenFields;
import dev.tokenwise.core.model.TokenUsage;
import dev.tokenwise.core.spi.ResponseObserver;
import dev.tokenwise.providers.translate.GeminiToChat;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.Locale;

/**
 * Reads usage, produced text and finish reason from Gemini answers: a {@code GenerateContentResponse}, or the
 * server-sent events of {@code streamGenerateContent?alt=sse}, each one a {@code GenerateContentResponse}.
 *
 * <p>Usage ({@code usageMetadata}) is normalised to {@link TokenUsage}'s OpenAI meaning:
 * {@code inputTokens = promptTokenCount + toolUsePromptTokenCount} (the prompt count includes the cached tokens;
 * tool-use prompts, such as search results, are billed as input), {@code cachedInputTokens =
 * cachedContentTokenCount}, {@code outputTokens = candidatesTokenCount + thoughtsTokenCount} (Gemini counts thinking
 * apart from the answer), {@code reasoningTokens = thoughtsTokenCount}. A stream may repeat {@code usageMetadata} in
 * every event, growing; the last one counts.
 *
 * <p>Finish reasons are mapped to OpenAI's: {@code STOP} to {@code stop} ({@code tool_calls} when the answer called a
 * function), {@code MAX_TOKENS} to {@code length}, {@code SAFETY}, {@code RECITATION}, {@code BLOCKLIST},
 * {@code PROHIBITED_CONTENT}, {@code SPII} and the image ones to {@code content_filter}, a prompt blocked by
 * {@code promptFeedback.blockReason} to {@code content_filter}; others are kept, in lower case.
 *
 * <p>For an OpenAI chat completion served by translation, the same reading feeds a {@link GeminiToChat}, and the
 * client gets its output instead of Gemini's bytes.
 */
final class GeminiResponseObserver implements ResponseObserver {

    /** The translation into an OpenAI chat completion, or {@code null} to relay Gemini's answer as it is. */
    private final GeminiToChat chat;
    private final StringBuilder text = new StringBuilder();
    /** A translated call's whole answer, parsed once by {@link #onBody}. */
    private JsonNode response;
    private TokenUsage usage;
    private boolean usageRejected;
    private String finishReason;
    private boolean calledFunction;
    /** Streamed: the usage stands once the event with the finish reason was read (earlier ones are running counts). */
    private boolean streamed;
    /** An {@code error} object in the stream, as {@code status: message}, or {@code null}. */
    private String streamError;

    /** An observer of a native call, whose answer is relayed as Gemini sent it. */
    GeminiResponseObserver() {
        this(null);
    }

    /** @param chat the translation into an OpenAI chat completion, or {@code null} for a native call */
    GeminiResponseObserver(GeminiToChat chat) {
        this.chat = chat;
    }

    @Override
    public boolean onEvent(ByteBuf event) {
        streamed = true;
        SseData.forEach(event, data -> {
            JsonNode node = SseData.json(data);
            JsonNode error = node.get("error");
            if (error != null && error.isObject()) {
                streamError = error.path("status").asText(String.valueOf(error.path("code").asInt())) + ": "
                        + error.path("message").asText("");
            }
            readResponse(node);
            if (chat != null) {
                chat.onEvent(node, usage, finishReason);
            }
            return true;
        });
        // Nothing is injected into Gemini streams, so every event goes to the client (translated or not).
        return true;
    }

    @Override
    public void onBody(ByteBuf body) {
        JsonNode node = SseData.json(body);
        if (node.isArray()) {
            // streamGenerateContent without alt=sse: the events as one JSON array
            for (JsonNode element : node) {
                readResponse(element);
            }
        } else {
            if (chat != null) {
                response = node; // kept for translateBody, which follows
            }
            readResponse(node);
        }
    }

    private void readResponse(JsonNode r) {
        JsonNode metadata = r.get("usageMetadata");
        if (metadata != null && metadata.isObject()) {
            TokenUsage parsed = parseUsage(metadata);
            usageRejected |= parsed == null;
            usage = usageRejected ? null : parsed;
        }
        JsonNode candidates = r.path("candidates");
        for (JsonNode candidate : candidates) {
            for (JsonNode part : candidate.path("content").path("parts")) {
                JsonNode t = part.get("text");
                if (t != null && t.isTextual()) {
                    text.append(t.textValue()); // thoughts included: they are billed as output
                }
                JsonNode call = part.get("functionCall");
                if (call != null && call.isObject()) {
                    calledFunction = true;
                    text.append(call.path("name").asText(""));
                    JsonNode args = call.get("args");
                    if (args != null && !args.isNull()) {
                        text.append(args);
                    }
                }
            }
        }
        JsonNode reason = candidates.path(0).get("finishReason");
        if (reason != null && reason.isTextual() && !"FINISH_REASON_UNSPECIFIED".equals(reason.textValue())) {
            finishReason = finishReason(reason.textValue(), calledFunction);
        } else if (candidates.isEmpty() && r.path("promptFeedback").hasNonNull("blockReason")) {
            finishReason = "content_filter";
        }
    }

    /**
     * {@code usageMetadata} in {@link TokenUsage}'s meaning, or {@code null} when one of its counts cannot be
     * believed ({@link TokenFields}).
     */
    static TokenUsage parseUsage(JsonNode u) {
        long prompt = TokenFields.read(u, "promptTokenCount");
        long toolUse = TokenFields.read(u, "toolUsePromptTokenCount");
        long thoughts = TokenFields.read(u, "thoughtsTokenCount");
        long candidates = TokenFields.read(u, "candidatesTokenCount");
        long cached = TokenFields.read(u, "cachedContentTokenCount");
        if (prompt == TokenFields.INVALID || toolUse == TokenFields.INVALID || thoughts == TokenFields.INVALID
                || candidates == TokenFields.INVALID || cached == TokenFields.INVALID) {
            return null;
        }
        long input = TokenFields.orZero(prompt) + TokenFields.orZero(toolUse);
        long output = TokenFields.orZero(candidates) + TokenFields.orZero(thoughts);
        return new TokenUsage(input, Math.min(TokenFields.orZero(cached), input), 0, output, TokenFields.orZero(thoughts));
    }

    /** Gemini's {@code finishReason} as an OpenAI {@code finish_reason}. */
    static String finishReason(String reason, boolean calledFunction) {
        return switch (reason) {
            case "STOP" -> calledFunction ? "tool_calls" : "stop";
            case "MAX_TOKENS" -> "length";
            case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY",
                 "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION" -> "content_filter";
            default -> reason.toLowerCase(Locale.ROOT);
        };
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
        byte[] completion = chat.completion(response != null ? response : SseData.json(body), usage,
                finishReason);
        return alloc.buffer(completion.length).writeBytes(completion);
    }

    @Override
    public TokenUsage usage() {
        return usage;
    }

    @Override
    public boolean usageRejected() {
        return usageRejected;
    }

    /** A stream's usage is final once its finishing event came; a whole answer's always is. */
    @Override
    public boolean usageFinal() {
        return !streamed || finishReason != null;
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

}
