package dev.tokenwise.eval;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * The part of JSON Schema (draft 2020-12) that answers need: {@code type} (one or a list), {@code properties},
 * {@code required}, {@code additionalProperties} (a boolean or a schema), {@code items}, {@code enum},
 * {@code const}, {@code minimum}, {@code maximum}, {@code minLength}, {@code maxLength}, {@code pattern},
 * {@code minItems}, {@code maxItems}, plus the annotations {@code title}, {@code description} and
 * {@code $schema}. Any other keyword is refused when the suite is read rather than silently ignored, so a
 * schema never passes answers it was meant to reject. Numbers compare by value ({@code 34} equals {@code 34.0}).
 */
public final class JsonSchema {
    private static final Set<String> KEYWORDS = Set.of("type", "properties", "required", "additionalProperties",
            "items", "enum", "const", "minimum", "maximum", "minLength", "maxLength", "pattern", "minItems",
            "maxItems", "title", "description", "$schema");
    private static final Set<String> TYPES = Set.of("object", "array", "string", "number", "integer", "boolean", "null");

    private final List<String> types;
    private final Map<String, JsonSchema> properties;
    private final List<String> required;
    private final Boolean additionalAllowed;
    private final JsonSchema additional;
    private final JsonSchema items;
    private final List<JsonNode> enumValues;
    private final JsonNode constValue;
    private final BigDecimal minimum;
    private final BigDecimal maximum;
    private final int minLength;
    private final int maxLength;
    private final Pattern pattern;
    private final int minItems;
    private final int maxItems;

    private JsonSchema(JsonNode s, String path) {
        for (Iterator<String> it = s.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!KEYWORDS.contains(k)) {
                throw new IllegalArgumentException(path + "." + k + ": unsupported keyword (supported: "
                        + String.join(", ", new java.util.TreeSet<>(KEYWORDS)) + ")");
            }
        }
        types = new ArrayList<>();
        JsonNode type = s.get("type");
        if (type != null) {
            if (type.isTextual()) {
                types.add(type.asText());
            } else if (type.isArray()) {
                type.forEach(t -> types.add(t.asText()));
            }
            for (String t : types) {
                if (!TYPES.contains(t)) {
                    throw new IllegalArgumentException(path + ".type: \"" + t + "\" (expected one of: "
                            + String.join(", ", new java.util.TreeSet<>(TYPES)) + ")");
                }
            }
        }
        properties = new LinkedHashMap<>();
        JsonNode props = s.get("properties");
        if (props != null) {
            if (!props.isObject()) {
                throw new IllegalArgumentException(path + ".properties: expected an object");
            }
            props.fields().forEachRemaining(e -> properties.put(e.getKey(),
                    compile(e.getValue(), path + ".properties." + e.getKey())));
        }
        required = new ArrayList<>();
        JsonNode req = s.get("required");
        if (req != null) {
            if (!req.isArray()) {
                throw new IllegalArgumentException(path + ".required: expected an array of names");
            }
            req.forEach(r -> required.add(r.asText()));
        }
        JsonNode add = s.get("additionalProperties");
        if (add == null) {
            additionalAllowed = null;
            additional = null;
        } else if (add.isBoolean()) {
            additionalAllowed = add.asBoolean();
            additional = null;
        } else {
            additionalAllowed = null;
            additional = compile(add, path + ".additionalProperties");
        }
        items = s.has("items") ? compile(s.get("items"), path + ".items") : null;
        enumValues = new ArrayList<>();
        if (s.has("enum")) {
            s.get("enum").forEach(enumValues::add);
        }
        constValue = s.get("const");
        minimum = s.has("minimum") ? s.get("minimum").decimalValue() : null;
        maximum = s.has("maximum") ? s.get("maximum").decimalValue() : null;
        minLength = s.path("minLength").asInt(0);
        maxLength = s.path("maxLength").asInt(Integer.MAX_VALUE);
        minItems = s.path("minItems").asInt(0);
        maxItems = s.path("maxItems").asInt(Integer.MAX_VALUE);
        if (s.has("pattern")) {
            try {
                pattern = Pattern.compile(s.get("pattern").asText());
            } catch (PatternSyntaxException e) {
                throw new IllegalArgumentException(path + ".pattern: not a valid regular expression");
            }
        } else {
            pattern = null;
        }
    }

    /**
     * @param path where the schema sits, for messages ({@code grader.schema})
     * @throws IllegalArgumentException for an unsupported keyword or a malformed value
     */
    public static JsonSchema compile(JsonNode schema, String path) {
        if (schema == null || !schema.isObject()) {
            throw new IllegalArgumentException(path + ": expected a schema object");
        }
        return new JsonSchema(schema, path);
    }

    /** Adds one message per violation to {@code errors}, each naming where in the value it is ({@code $.age}). */
    public void validate(JsonNode v, String at, List<String> errors) {
        if (!types.isEmpty() && types.stream().noneMatch(t -> is(v, t))) {
            errors.add(at + ": " + kind(v) + " (expected: " + String.join(" or ", types) + ")");
            return;
        }
        if (constValue != null && !same(v, constValue)) {
            errors.add(at + ": " + v + " (expected: " + constValue + ")");
        }
        if (!enumValues.isEmpty() && enumValues.stream().noneMatch(e -> same(v, e))) {
            errors.add(at + ": " + v + " (expected one of: " + enumValues + ")");
        }
        if (v.isNumber()) {
            BigDecimal n = v.decimalValue();
            if (minimum != null && n.compareTo(minimum) < 0) {
                errors.add(at + ": " + v + " (expected: >= " + minimum.toPlainString() + ")");
            }
            if (maximum != null && n.compareTo(maximum) > 0) {
                errors.add(at + ": " + v + " (expected: <= " + maximum.toPlainString() + ")");
            }
        }
        if (v.isTextual()) {
            int length = v.asText().codePointCount(0, v.asText().length());
            if (length < minLength || length > maxLength) {
                errors.add(at + ": a string of " + length + " characters (expected: " + minLength + " to "
                        + (maxLength == Integer.MAX_VALUE ? "any" : String.valueOf(maxLength)) + ")");
            }
            if (pattern != null && !pattern.matcher(v.asText()).find()) {
                errors.add(at + ": " + v + " does not match /" + pattern.pattern() + "/");
            }
        }
        if (v.isArray()) {
            if (v.size() < minItems || v.size() > maxItems) {
                errors.add(at + ": " + v.size() + " items (expected: " + minItems + " to "
                        + (maxItems == Integer.MAX_VALUE ? "any" : String.valueOf(maxItems)) + ")");
            }
            if (items != null) {
                for (int i = 0; i < v.size(); i++) {
                    items.validate(v.get(i), at + "[" + i + "]", errors);
                }
            }
        }
        if (v.isObject()) {
            for (String name : required) {
                if (!v.has(name)) {
                    errors.add(at + "." + name + ": missing");
                }
            }
            for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                JsonSchema property = properties.get(e.getKey());
                if (property != null) {
                    property.validate(e.getValue(), at + "." + e.getKey(), errors);
                } else if (Boolean.FALSE.equals(additionalAllowed)) {
                    errors.add(at + "." + e.getKey() + ": not allowed");
                } else if (additional != null) {
                    additional.validate(e.getValue(), at + "." + e.getKey(), errors);
                }
            }
        }
    }

    private static boolean is(JsonNode v, String type) {
        return switch (type) {
            case "object" -> v.isObject();
            case "array" -> v.isArray();
            case "string" -> v.isTextual();
            case "number" -> v.isNumber();
            case "integer" -> v.isNumber() && isIntegral(v.decimalValue());
            case "boolean" -> v.isBoolean();
            case "null" -> v.isNull();
            default -> false;
        };
    }

    private static boolean isIntegral(BigDecimal n) {
        return n.signum() == 0 || n.stripTrailingZeros().scale() <= 0;
    }

    private static String kind(JsonNode v) {
        if (v.isNumber()) {
            return "the number " + v;
        }
        if (v.isTextual()) {
            return "the string " + v;
        }
        return v.isContainerNode() ? (v.isObject() ? "an object" : "an array") : String.valueOf(v);
    }

    /** JSON equality with numbers compared by value. */
    static boolean same(JsonNode a, JsonNode b) {
        if (a.isNumber() && b.isNumber()) {
            return a.decimalValue().compareTo(b.decimalValue()) == 0;
        }
        if (a.isArray() && b.isArray()) {
            if (a.size() != b.size()) {
                return false;
            }
            for (int i = 0; i < a.size(); i++) {
                if (!same(a.get(i), b.get(i))) {
                    return false;
                }
            }
            return true;
        }
        if (a.isObject() && b.isObject()) {
            if (a.size() != b.size()) {
                return false;
            }
            for (Iterator<String> it = a.fieldNames(); it.hasNext(); ) {
                String k = it.next();
                if (!b.has(k) || !same(a.get(k), b.get(k))) {
                    return false;
                }
            }
            return true;
        }
        return a.equals(b);
    }
}
