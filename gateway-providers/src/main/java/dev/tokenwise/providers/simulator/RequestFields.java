package dev.tokenwise.providers.simulator;

import com.fasterxml.jackson.databind.JsonNode;

/** Typed reads of request body fields that fail with OpenAI-style {@link InvalidRequestException}s. */
final class RequestFields {

    private RequestFields() {
    }

    /** The required {@code model}. */
    static String model(JsonNode body) {
        JsonNode model = body.get("model");
        if (model == null || model.isNull() || model.isTextual() && model.asText().isBlank()) {
            // OpenAI's own wording for this case.
            throw new InvalidRequestException("you must provide a model parameter", null, null);
        }
        if (!model.isTextual()) {
            throw InvalidRequestException.invalidType("model", "a string");
        }
        return model.asText();
    }

    /** An optional boolean; absent or {@code null} reads as {@code false}. */
    static boolean bool(JsonNode object, String field) {
        JsonNode value = object.get(field);
        if (value == null || value.isNull()) {
            return false;
        }
        if (!value.isBoolean()) {
            throw InvalidRequestException.invalidType(field, "a boolean");
        }
        return value.asBoolean();
    }

    /** An optional integer {@code >= 1}; absent or {@code null} reads as {@code -1}. */
    static long positiveLong(JsonNode object, String field) {
        JsonNode value = object.get(field);
        if (value == null || value.isNull()) {
            return -1;
        }
        if (!value.isIntegralNumber() || !value.canConvertToLong()) {
            throw InvalidRequestException.invalidType(field, "an integer");
        }
        long result = value.asLong();
        if (result < 1) {
            throw new InvalidRequestException("Invalid '" + field + "': integer below minimum value. Expected a "
                    + "value >= 1, but got " + result + " instead.", field, "integer_below_min_value");
        }
        return result;
    }
}
