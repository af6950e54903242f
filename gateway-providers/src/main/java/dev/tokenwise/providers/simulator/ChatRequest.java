package dev.tokenwise.providers.simulator;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The parts of a {@code POST /v1/chat/completions} body the simulator uses.
 *
 * @param body the whole body, for input token counting
 * @param maxTokens {@code max_completion_tokens}, else {@code max_tokens}, else {@code -1}
 */
record ChatRequest(String model, JsonNode body, JsonNode messages, boolean stream, boolean includeUsage,
                   long maxTokens) {

    /** Reads and checks a request body. */
    static ChatRequest parse(JsonNode body) {
        String model = RequestFields.model(body);
        JsonNode messages = body.get("messages");
        if (messages == null || messages.isNull()) {
            throw InvalidRequestException.missing("messages");
        }
        if (!messages.isArray()) {
            throw InvalidRequestException.invalidType("messages", "an array of objects");
        }
        if (messages.isEmpty()) {
            throw new InvalidRequestException("Invalid 'messages': empty array. Expected an array with minimum "
                    + "length 1, but got an empty array instead.", "messages", "empty_array");
        }
        for (JsonNode message : messages) {
            if (!message.isObject()) {
                throw InvalidRequestException.invalidType("messages", "an array of objects");
            }
        }
        boolean stream = RequestFields.bool(body, "stream");
        JsonNode streamOptions = body.get("stream_options");
        boolean includeUsage = false;
        if (streamOptions != null && !streamOptions.isNull()) {
            if (!stream) {
                throw new InvalidRequestException("The 'stream_options' parameter is only allowed when 'stream' is "
                        + "enabled.", "stream_options", "invalid_value");
            }
            if (!streamOptions.isObject()) {
                throw InvalidRequestException.invalidType("stream_options", "an object");
            }
            includeUsage = RequestFields.bool(streamOptions, "include_usage");
        }
        JsonNode n = body.get("n");
        if (n != null && !n.isNull() && !(n.canConvertToExactIntegral() && n.asInt() == 1)) {
            throw InvalidRequestException.invalidValue("n", "the simulator returns exactly one choice (expected: 1)");
        }
        long maxTokens = RequestFields.positiveLong(body, "max_completion_tokens");
        if (maxTokens < 0) {
            maxTokens = RequestFields.positiveLong(body, "max_tokens");
        }
        return new ChatRequest(model, body, messages, stream, includeUsage, maxTokens);
    }
}
