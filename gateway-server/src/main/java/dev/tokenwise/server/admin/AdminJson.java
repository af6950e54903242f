package dev.tokenwise.server.admin;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenwise.core.budget.Budget;
import dev.tokenwise.core.config.BudgetConfig;
import dev.tokenwise.core.config.RateLimits;
import dev.tokenwise.core.config.BudgetPeriod;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.model.Money;
import dev.tokenwise.server.admin.TeamDirectory.KeyView;
import dev.tokenwise.server.admin.TeamDirectory.TeamView;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * JSON of the admin API: request bodies read strictly (unknown fields, wrong types and inexact money are
 * errors naming the field) and views written with money as exact decimal numbers, never {@code double}.
 */
final class AdminJson {
    private static final ObjectMapper MAPPER = new ObjectMapper()
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .enable(DeserializationFeature.USE_BIG_INTEGER_FOR_INTS)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
    private static final BigDecimal MAX_USD = BigDecimal.valueOf(Long.MAX_VALUE, 9);

    private AdminJson() {
    }

    /** Writes one JSON document. */
    interface Body {
        void write(JsonGenerator g) throws IOException;
    }

    // ---- reading

    /**
     * The body as a JSON object whose fields are all in {@code allowed}; an empty body is an empty object
     * when {@code optional}.
     */
    static JsonNode object(byte[] body, boolean optional, Set<String> allowed) {
        JsonNode node;
        try {
            node = body == null || body.length == 0 ? null : MAPPER.readTree(body);
        } catch (JsonProcessingException e) {
            throw bad("request body is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (node == null || node.isMissingNode()) {
            if (optional) {
                return MAPPER.createObjectNode();
            }
            throw bad("request body: missing (expected: a JSON object)");
        }
        if (!node.isObject()) {
            throw bad("request body: expected a JSON object, got " + kind(node));
        }
        checkFields(node, "", allowed);
        return node;
    }

    private static void checkFields(JsonNode object, String prefix, Set<String> allowed) {
        for (Iterator<String> names = object.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!allowed.contains(name)) {
                throw bad(prefix + name + ": unknown field (expected: " + String.join(", ", allowed) + ")");
            }
        }
    }

    /** A string field; {@code null} when absent or JSON {@code null}. */
    static String optionalString(JsonNode object, String field) {
        JsonNode node = object.get(field);
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isTextual()) {
            throw bad(field + ": expected a string, got " + kind(node));
        }
        return node.textValue();
    }

    static String requiredString(JsonNode object, String field) {
        String value = optionalString(object, field);
        if (value == null) {
            throw bad(field + ": missing (expected: a string)");
        }
        return value;
    }

    /** A list of strings; {@code null} when absent or JSON {@code null}. */
    static List<String> optionalStrings(JsonNode object, String field) {
        JsonNode node = object.get(field);
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isArray()) {
            throw bad(field + ": expected an array of strings, got " + kind(node));
        }
        List<String> values = new ArrayList<>(node.size());
        for (int i = 0; i < node.size(); i++) {
            JsonNode item = node.get(i);
            if (!item.isTextual()) {
                throw bad(field + "[" + i + "]: expected a string, got " + kind(item));
            }
            values.add(item.textValue());
        }
        return values;
    }

    /**
     * {@code {"requests_per_minute"?, "tokens_per_minute"?, "concurrent_requests"?}}: each a whole number >= 1, or
     * absent (or {@code null}) for no limit of that kind; {@code {}} removes every limit.
     */
    static RateLimits rateLimits(JsonNode object) {
        return new RateLimits(positiveOrZero(object, "requests_per_minute", RateLimits.MAX_PER_MINUTE),
                positiveOrZero(object, "tokens_per_minute", RateLimits.MAX_PER_MINUTE),
                (int) positiveOrZero(object, "concurrent_requests", Integer.MAX_VALUE));
    }

    private static long positiveOrZero(JsonNode object, String field, long max) {
        JsonNode node = object.get(field);
        if (node == null || node.isNull()) {
            return 0;
        }
        if (!node.isIntegralNumber() || !node.canConvertToLong() || node.longValue() < 1 || node.longValue() > max) {
            throw bad(field + ": " + node + " (expected: a whole number from 1 to " + max + ", or null for no limit)");
        }
        return node.longValue();
    }

    /** The limits as {@code {"requests_per_minute": 5 | null, ...}}. */
    static void writeRateLimits(JsonGenerator g, String field, RateLimits limits) throws IOException {
        g.writeObjectFieldStart(field);
        writeLimit(g, "requests_per_minute", limits.requestsPerMinute());
        writeLimit(g, "tokens_per_minute", limits.tokensPerMinute());
        writeLimit(g, "concurrent_requests", limits.concurrentRequests());
        g.writeEndObject();
    }

    private static void writeLimit(JsonGenerator g, String field, long value) throws IOException {
        if (value > 0) {
            g.writeNumberField(field, value);
        } else {
            g.writeNullField(field);
        }
    }

    /** The budget object in {@code field}; {@code null} when absent or JSON {@code null}. */
    static BudgetConfig optionalBudget(JsonNode object, String field) {
        JsonNode node = object.get(field);
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isObject()) {
            throw bad(field + ": expected an object {\"limit_usd\", \"period\"}, got " + kind(node));
        }
        return budget(node, field + ".");
    }

    /** {@code {"limit_usd": <number>, "period": "daily|weekly|monthly|total"}}; {@code prefix} names its place. */
    static BudgetConfig budget(JsonNode node, String prefix) {
        checkFields(node, prefix, Set.of("limit_usd", "period"));
        JsonNode limit = node.get("limit_usd");
        if (limit == null || limit.isNull()) {
            throw bad(prefix + "limit_usd: missing (expected: a number of USD, e.g. 5 or 12.50)");
        }
        if (!limit.isNumber()) {
            throw bad(prefix + "limit_usd: expected a number, got " + kind(limit));
        }
        BigDecimal usd = limit.decimalValue();
        String shown = usd.toPlainString().length() <= 32 ? usd.toPlainString() : usd.toString();
        if (usd.signum() < 0) {
            throw bad(prefix + "limit_usd: " + shown + " (expected: >= 0)");
        }
        if (usd.stripTrailingZeros().scale() > 9) {
            throw bad(prefix + "limit_usd: " + shown + " (expected: at most 9 decimals, the precision of nano-USD)");
        }
        if (usd.compareTo(MAX_USD) > 0) {
            throw bad(prefix + "limit_usd: " + shown + " (expected: < 9223372036, the nano-USD range)");
        }
        JsonNode period = node.get("period");
        if (period == null || period.isNull()) {
            throw bad(prefix + "period: missing (expected: daily, weekly, monthly or total)");
        }
        if (!period.isTextual()) {
            throw bad(prefix + "period: expected a string, got " + kind(period));
        }
        BudgetPeriod parsed;
        try {
            parsed = BudgetPeriod.valueOf(period.textValue().trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw bad(prefix + "period: '" + period.textValue() + "' (expected: daily, weekly, monthly or total)");
        }
        return new BudgetConfig(Money.fromUsd(usd), parsed);
    }

    private static String kind(JsonNode node) {
        return switch (node.getNodeType()) {
            case STRING -> "a string";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            case NULL -> "null";
            default -> node.getNodeType().name().toLowerCase(Locale.ROOT);
        };
    }

    private static GatewayException bad(String message) {
        return new GatewayException(ErrorType.BAD_REQUEST, message);
    }

    // ---- writing

    static byte[] write(Body body) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(512);
        try (JsonGenerator g = MAPPER.getFactory().createGenerator(out)) {
            body.write(g);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** A team with this period's books: limit, spent, reserved and remaining in USD, and its valid keys. */
    static void writeTeam(JsonGenerator g, TeamView team) throws IOException {
        g.writeStartObject();
        g.writeStringField("name", team.name());
        writeBudget(g, "budget", team.budget());
        Budget.Snapshot s = team.budgetState();
        if (s == null) {
            g.writeNullField("limit_usd");
            g.writeNullField("period_start");
            g.writeNullField("period_end");
            g.writeNullField("spent_usd");
            g.writeNullField("reserved_usd");
            g.writeNullField("remaining_usd");
        } else {
            writeUsd(g, "limit_usd", s.limitNanos());
            writeInstant(g, "period_start", s.periodStartMillis() == 0 ? null : s.periodStartMillis());
            writeInstant(g, "period_end", s.periodEndMillis() == Long.MAX_VALUE ? null : s.periodEndMillis());
            writeUsd(g, "spent_usd", s.spentNanos());
            writeUsd(g, "reserved_usd", s.reservedNanos());
            writeUsd(g, "remaining_usd", s.remainingNanos());
        }
        g.writeArrayFieldStart("keys");
        for (String id : team.keyIds()) {
            g.writeString(id);
        }
        g.writeEndArray();
        g.writeEndObject();
    }

    /** A key's public fields; {@code secret} is written only in the answer that creates it. */
    static void writeKey(JsonGenerator g, KeyView key, String secret) throws IOException {
        g.writeStartObject();
        g.writeStringField("id", key.id());
        g.writeStringField("team", key.team());
        if (secret != null) {
            g.writeStringField("key", secret);
        }
        g.writeArrayFieldStart("models");
        for (String model : key.models()) {
            g.writeString(model);
        }
        g.writeEndArray();
        writeBudget(g, "budget", key.budget());
        writeInstant(g, "created_at", key.createdAtMillis());
        g.writeBooleanField("revoked", key.revoked());
        writeInstant(g, "revoked_at", key.revoked() ? key.revokedAtMillis() : null);
        g.writeEndObject();
    }

    static void writeBudget(JsonGenerator g, String field, BudgetConfig budget) throws IOException {
        if (budget == null) {
            g.writeNullField(field);
            return;
        }
        g.writeObjectFieldStart(field);
        writeUsd(g, "limit_usd", budget.limitNanos());
        g.writeStringField("period", budget.period().label());
        g.writeEndObject();
    }

    /** Money as an exact JSON number in plain notation ({@code 10}, never {@code 1E+1}). */
    static void writeUsd(JsonGenerator g, String field, long nanos) throws IOException {
        g.writeFieldName(field);
        g.writeNumber(Money.toUsd(nanos).toPlainString());
    }

    private static void writeInstant(JsonGenerator g, String field, Long epochMillis) throws IOException {
        if (epochMillis == null) {
            g.writeNullField(field);
        } else {
            g.writeStringField(field, Instant.ofEpochMilli(epochMillis).toString());
        }
    }
}
