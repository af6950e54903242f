package dev.tokenwise.providers.simulator;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/**
 * The parts of a {@code POST /v1/embeddings} body the simulator uses.
 *
 * @param body the whole body, for input token counting
 * @param inputs one entry per input: the text, or the JSON of a token array
 * @param dimensions requested vector length, at most the simulator's native length
 * @param base64 {@code encoding_format} is {@code base64}
 */
record EmbeddingRequest(String model, JsonNode body, List<String> inputs, int dimensions, boolean base64) {

    /** OpenAI's limit on inputs per request. */
    static final int MAX_INPUTS = 2048;

    static EmbeddingRequest parse(JsonNode body, int nativeDimensions) {
        String model = RequestFields.model(body);
        JsonNode input = body.get("input");
        if (input == null || input.isNull()) {
            throw InvalidRequestException.missing("input");
        }
        List<String> inputs = new ArrayList<>();
        if (input.isTextual()) {
            inputs.add(nonEmptyText(input));
        } else if (input.isArray() && !input.isEmpty()) {
            if (isTokenArray(input)) {
                inputs.add(input.toString());
            } else {
                for (JsonNode item : input) {
                    if (item.isTextual()) {
                        inputs.add(nonEmptyText(item));
                    } else if (item.isArray() && !item.isEmpty() && isTokenArray(item)) {
                        inputs.add(item.toString());
                    } else {
                        throw invalidInput();
                    }
                }
            }
        } else {
            throw invalidInput();
        }
        if (inputs.size() > MAX_INPUTS) {
            throw InvalidRequestException.invalidValue("input", "at most " + MAX_INPUTS + " inputs are allowed, got "
                    + inputs.size());
        }
        int dimensions = nativeDimensions;
        JsonNode requested = body.get("dimensions");
        if (requested != null && !requested.isNull()) {
            if (!requested.canConvertToExactIntegral() || requested.asLong() < 1
                    || requested.asLong() > nativeDimensions) {
                throw InvalidRequestException.invalidValue("dimensions", "expected an integer in 1.."
                        + nativeDimensions + ", got " + requested);
            }
            dimensions = requested.asInt();
        }
        boolean base64 = false;
        JsonNode format = body.get("encoding_format");
        if (format != null && !format.isNull()) {
            if (!format.isTextual() || !format.asText().equals("float") && !format.asText().equals("base64")) {
                throw InvalidRequestException.invalidValue("encoding_format", "expected 'float' or 'base64', got "
                        + format);
            }
            base64 = format.asText().equals("base64");
        }
        return new EmbeddingRequest(model, body, List.copyOf(inputs), dimensions, base64);
    }

    private static boolean isTokenArray(JsonNode array) {
        for (JsonNode item : array) {
            if (!item.isIntegralNumber()) {
                return false;
            }
        }
        return true;
    }

    private static String nonEmptyText(JsonNode text) {
        if (text.asText().isEmpty()) {
            throw invalidInput();
        }
        return text.asText();
    }

    private static InvalidRequestException invalidInput() {
        return new InvalidRequestException("'$.input' is invalid: expected a non-empty string, an array of "
                + "non-empty strings, or an array of token arrays.", "input", "invalid_value");
    }
}
