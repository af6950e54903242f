package dev.tokenwise.providers;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tokenwise.core.model.TokenUsage;

/**
 * Reads the token counts of a provider's usage object strictly, for the response observers: a count is an
 * integer from 0 to {@link TokenUsage#MAX_PLAUSIBLE_TOKENS}. Anything else that stands where a count should (a
 * negative or larger number, a fraction, a string, a boolean, an array or an object) is {@link #INVALID}, and the
 * observer rejects the whole usage ({@link dev.tokenwise.core.spi.ResponseObserver#usageRejected}) rather than
 * guess what the provider meant: {@code asLong} would read {@code "12"} as 12, {@code 12.7} as 12 and
 * {@code true} as 1, and clamping {@code -5} to 0 would bill nothing for tokens the provider did produce.
 */
public final class TokenFields {
    /** The field is missing, or {@code null}. */
    public static final long ABSENT = -1;
    /** The field holds something that is not a count that can be believed. */
    public static final long INVALID = -2;

    private TokenFields() {
    }

    /** The count in {@code object.field}: the count, {@link #ABSENT} or {@link #INVALID}. */
    public static long read(JsonNode object, String field) {
        return count(object.get(field));
    }

    /** The count {@code value} holds: the count, {@link #ABSENT} ({@code null} or a missing node) or {@link #INVALID}. */
    public static long count(JsonNode value) {
        if (value == null || value.isNull() || value.isMissingNode()) {
            return ABSENT;
        }
        if (!value.isIntegralNumber() || !value.canConvertToLong()) {
            return INVALID;
        }
        long n = value.longValue();
        return n < 0 || n > TokenUsage.MAX_PLAUSIBLE_TOKENS ? INVALID : n;
    }

    /** {@code count} with {@link #ABSENT} read as 0 (an {@link #INVALID} stays invalid). */
    public static long orZero(long count) {
        return count == ABSENT ? 0 : count;
    }
}
