package dev.tokenwise.core.proxy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.ServiceTier;

/**
 * What a request allows the provider to produce, read once from its body before anything is reserved: the
 * largest output cap it names, how many choices it asks for, and whether the provider will bill context the
 * gateway cannot see. A pure reading of the body; invalid values are refused with a 400.
 *
 * <p>Every field a provider might honour counts: a body with {@code "max_completion_tokens": 1} and
 * {@code "max_tokens": 16000} is reserved for 16,000 tokens, because a lenient server may honour only the second
 * (the adapter then forwards only the field its provider honours, holding this same largest value).
 *
 * @param maxOutputTokens the largest output cap named, {@code 0} when none is
 * @param choices the answers asked for ({@code n}, {@code best_of}, Gemini's {@code candidateCount}), at least 1
 * @param storedContext {@code true} when the provider adds context it keeps ({@code previous_response_id} or
 *     {@code conversation} on {@code /v1/responses}), which the request's own text does not show
 * @param serviceTier the service tier the request pins with its {@code service_tier} ({@link ServiceTier#requested}),
 *     or {@code null} when the provider chooses (and may serve it on its project's default tier, priority included)
 */
record RequestedOutput(long maxOutputTokens, int choices, boolean storedContext, ServiceTier serviceTier) {

    RequestedOutput(long maxOutputTokens, int choices, boolean storedContext) {
        this(maxOutputTokens, choices, storedContext, null);
    }

    /** The largest output cap a request may name: far above any model's, and its cost still fits a {@code long}. */
    static final long MAX_OUTPUT_TOKENS = 100_000_000L;
    /** The most choices a request may ask for (OpenAI's own limit for {@code n}). */
    static final int MAX_CHOICES = 128;

    private static final String[] TOP_LEVEL_CAPS = {"max_completion_tokens", "max_tokens", "max_output_tokens"};
    private static final String[] TOP_LEVEL_CHOICES = {"n", "best_of"};

    /** What {@code body}, sent to {@code endpoint}, allows. */
    static RequestedOutput of(ObjectNode body, Endpoint endpoint) {
        long cap = 0;
        int choices = 1;
        if (endpoint.modelInPath()) {
            // Gemini: {"generationConfig": {"maxOutputTokens": N, "candidateCount": K}} (snake case accepted too)
            JsonNode config = body.get("generationConfig");
            String prefix = "generationConfig.";
            if (config == null || config.isNull()) {
                config = body.get("generation_config");
                prefix = "generation_config.";
            }
            if (config != null && !config.isNull()) {
                if (!config.isObject()) {
                    throw new GatewayException(ErrorType.BAD_REQUEST, "field " + prefix.substring(0, prefix.length() - 1)
                            + " must be an object");
                }
                cap = Math.max(cap, positive(config, "maxOutputTokens", prefix, MAX_OUTPUT_TOKENS));
                cap = Math.max(cap, positive(config, "max_output_tokens", prefix, MAX_OUTPUT_TOKENS));
                choices = (int) Math.max(choices, positive(config, "candidateCount", prefix, MAX_CHOICES));
                choices = (int) Math.max(choices, positive(config, "candidate_count", prefix, MAX_CHOICES));
            }
        } else {
            for (String field : TOP_LEVEL_CAPS) {
                cap = Math.max(cap, positive(body, field, "", MAX_OUTPUT_TOKENS));
            }
            if (endpoint != Endpoint.EMBEDDINGS) {
                for (String field : TOP_LEVEL_CHOICES) {
                    choices = (int) Math.max(choices, positive(body, field, "", MAX_CHOICES));
                }
            }
        }
        boolean stored = endpoint == Endpoint.RESPONSES && (present(body, "previous_response_id")
                || present(body, "conversation"));
        JsonNode tier = body.get("service_tier");
        return new RequestedOutput(cap, choices, stored,
                tier != null && tier.isTextual() ? ServiceTier.requested(tier.textValue()) : null);
    }

    /** The field's value: a whole number from 1 to {@code max}; {@code 0} when the field is absent or null. */
    private static long positive(JsonNode parent, String field, String prefix, long max) {
        JsonNode node = parent.get(field);
        if (node == null || node.isNull()) {
            return 0;
        }
        if (!node.isIntegralNumber() || !node.canConvertToLong() || node.longValue() < 1) {
            throw new GatewayException(ErrorType.BAD_REQUEST, "field " + prefix + field + " must be a positive integer");
        }
        if (node.longValue() > max) {
            throw new GatewayException(ErrorType.BAD_REQUEST, "field " + prefix + field + " is " + node.longValue()
                    + " (expected: at most " + max + ")");
        }
        return node.longValue();
    }

    private static boolean present(ObjectNode body, String field) {
        JsonNode node = body.get(field);
        return node != null && !node.isNull() && !(node.isTextual() && node.textValue().isEmpty());
    }
}
