package dev.tokenwise.providers.translate;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Ids for tool calls translated from Gemini. Gemini has no call ids but wants each {@code functionCall} it made sent
 * back with its {@code thoughtSignature} (Gemini 3 answers 400 without it). An OpenAI client only echoes the call's
 * {@code id} (and, if it knows Google's convention, {@code extra_content.google.thought_signature}), so the signature
 * travels in the id too: {@code call_<random>~ts~<signature>}. Base64 signatures never contain {@code ~}.
 */
public final class ToolCallIds {
    static final String SIGNATURE_MARK = "~ts~";

    private ToolCallIds() {
    }

    /** An OpenAI tool call id for a Gemini call, carrying {@code signature} when there is one. */
    public static String forGeminiCall(String geminiId, String signature) {
        String base = geminiId != null && !geminiId.isEmpty() && !geminiId.contains(SIGNATURE_MARK) ? geminiId
                : "call_" + Long.toHexString(ThreadLocalRandom.current().nextLong() | Long.MIN_VALUE);
        return signature == null || signature.isEmpty() ? base : base + SIGNATURE_MARK + signature;
    }

    /**
     * The thought signature to send back with a call: {@code extra_content.google.thought_signature} when the client
     * kept it, else the one carried in the id; {@code null} when there is none.
     */
    public static String thoughtSignature(String id, JsonNode extraContent) {
        if (extraContent != null) {
            JsonNode signature = extraContent.path("google").get("thought_signature");
            if (signature != null && signature.isTextual() && !signature.textValue().isEmpty()) {
                return signature.textValue();
            }
        }
        int mark = id == null ? -1 : id.indexOf(SIGNATURE_MARK);
        return mark < 0 || mark + SIGNATURE_MARK.length() == id.length() ? null
                : id.substring(mark + SIGNATURE_MARK.length());
    }
}
