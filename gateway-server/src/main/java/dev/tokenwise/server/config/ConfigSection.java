package dev.tokenwise.server.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenwise.core.config.ConfigException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * One mapping of the parsed config together with its YAML path: reads typed, expanded values and reports
 * every problem as {@code "path: value (expected: ...)"}.
 *
 * <p>Scalars are expanded ({@link EnvExpander}) and stripped when read. A value that is absent, YAML
 * {@code null}, or empty after expansion counts as not set. Error messages quote the value for numbers and
 * choices but never for free strings, which may be secrets.
 */
final class ConfigSection {

    private static final Pattern GROUPED_NUMBER = Pattern.compile("[-+]?\\d[\\d_]*(\\.[\\d_]*)?");

    private final ObjectNode node;
    private final String path;
    private final EnvExpander env;

    private ConfigSection(ObjectNode node, String path, EnvExpander env) {
        this.node = node;
        this.path = path;
        this.env = env;
    }

    /** The mapping at {@code path}; an absent or null node is an empty mapping. */
    static ConfigSection of(JsonNode node, String path, EnvExpander env) {
        if (node == null || node.isNull()) {
            return new ConfigSection(JsonNodeFactory.instance.objectNode(), path, env);
        }
        if (!node.isObject()) {
            throw new ConfigException(label(path) + ": " + describe(node) + " (expected: a mapping)");
        }
        return new ConfigSection((ObjectNode) node, path, env);
    }

    String path() {
        return path;
    }

    String pathOf(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    List<String> keys() {
        List<String> keys = new ArrayList<>();
        node.fieldNames().forEachRemaining(keys::add);
        return keys;
    }

    /** Whether {@code key} is written, even with an empty or null value. */
    boolean has(String key) {
        return node.has(key);
    }

    JsonNode node(String key) {
        return node.get(key);
    }

    /** Rejects the first key not in {@code allowed}, listing the allowed keys in their documented order. */
    void allowOnly(Collection<String> allowed) {
        for (String key : keys()) {
            if (!allowed.contains(key)) {
                throw new ConfigException(pathOf(key) + ": unknown key (expected one of: "
                        + String.join(", ", allowed) + ")");
            }
        }
    }

    /** The scalar as written, before expansion; {@code null} when absent or null. */
    String raw(String key) {
        JsonNode value = node.get(key);
        if (value == null || value.isNull()) {
            return null;
        }
        checkScalar(value, pathOf(key), "a string");
        return value.asText();
    }

    /** The expanded, stripped string; empty when not set. */
    Optional<String> string(String key) {
        return Optional.ofNullable(node.get(key)).flatMap(value -> scalar(value, pathOf(key), env));
    }

    String requiredString(String key) {
        return string(key).orElseThrow(() -> missing(key));
    }

    ConfigException missing(String key) {
        return new ConfigException(pathOf(key) + ": missing");
    }

    /** An integer in {@code min..max}; {@code defaultValue} when not set. */
    long integer(String key, long defaultValue, long min, long max) {
        Optional<String> text = string(key);
        if (text.isEmpty()) {
            return defaultValue;
        }
        BigInteger value;
        try {
            value = new BigInteger(ungroup(text.get()));
        } catch (NumberFormatException e) {
            throw new ConfigException(pathOf(key) + ": " + quoted(key, text.get()) + " (expected: an integer)");
        }
        if (value.compareTo(BigInteger.valueOf(min)) < 0) {
            // An upper bound that is only the width of the Java type is noise in a message about a lower bound.
            String expected = max >= Integer.MAX_VALUE ? range(min, Long.MAX_VALUE) : range(min, max);
            throw new ConfigException(pathOf(key) + ": " + value + " (expected: " + expected + ")");
        }
        if (value.compareTo(BigInteger.valueOf(max)) > 0) {
            throw new ConfigException(pathOf(key) + ": " + value + " (expected: " + range(min, max) + ")");
        }
        return value.longValueExact();
    }

    /** {@code true} or {@code false}; {@code defaultValue} when not set. */
    boolean bool(String key, boolean defaultValue) {
        Optional<String> text = string(key);
        if (text.isEmpty()) {
            return defaultValue;
        }
        return switch (text.get()) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new ConfigException(pathOf(key) + ": " + quoted(key, text.get())
                    + " (expected: true or false)");
        };
    }

    /** A decimal number, read from its text so that {@code 0.1} is exactly one tenth. */
    Optional<BigDecimal> decimal(String key) {
        return string(key).map(text -> {
            try {
                return new BigDecimal(ungroup(text));
            } catch (NumberFormatException e) {
                throw new ConfigException(pathOf(key) + ": " + quoted(key, text) + " (expected: a decimal number)");
            }
        });
    }

    BigDecimal requiredDecimal(String key) {
        return decimal(key).orElseThrow(() -> missing(key));
    }

    /** The nested mapping under {@code key}; empty when not set. */
    ConfigSection section(String key) {
        return of(node.get(key), pathOf(key), env);
    }

    /** The list under {@code key}; empty when not set. */
    List<JsonNode> list(String key) {
        JsonNode value = node.get(key);
        if (value == null || value.isNull()) {
            return List.of();
        }
        if (!value.isArray()) {
            throw new ConfigException(pathOf(key) + ": " + describe(value) + " (expected: a list)");
        }
        List<JsonNode> items = new ArrayList<>();
        value.forEach(items::add);
        return items;
    }

    /** The expanded, stripped text of a scalar node; empty when null or empty. */
    static Optional<String> scalar(JsonNode value, String path, EnvExpander env) {
        if (value.isNull()) {
            return Optional.empty();
        }
        checkScalar(value, path, "a string");
        String expanded = env.expand(value.asText(), path).strip();
        return expanded.isEmpty() ? Optional.empty() : Optional.of(expanded);
    }

    static void checkScalar(JsonNode value, String path, String expected) {
        if (value.isContainerNode()) {
            throw new ConfigException(label(path) + ": " + describe(value) + " (expected: " + expected + ")");
        }
    }

    /** How a node is shown in a message: containers by kind, scalars quoted as written. */
    static String describe(JsonNode value) {
        if (value.isObject()) {
            return "a mapping";
        }
        if (value.isArray()) {
            return "a list";
        }
        return value.isNull() ? "null" : "'" + value.asText() + "'";
    }

    /** {@code 'abc'}, plus where it came from when it was expanded, e.g. {@code 'abc' from ${PORT}}. */
    String quoted(String key, String expanded) {
        String raw = raw(key);
        String shown = "'" + expanded + "'";
        return raw == null || raw.strip().equals(expanded) ? shown : shown + " from " + raw.strip();
    }

    static String range(long min, long max) {
        if (max == Long.MAX_VALUE) {
            return min == 1 ? "> 0" : ">= " + min;
        }
        return min + ".." + max;
    }

    /** YAML 1.1 allows digit groups such as {@code 33_554_432}. */
    private static String ungroup(String text) {
        return text.indexOf('_') >= 0 && GROUPED_NUMBER.matcher(text).matches() ? text.replace("_", "") : text;
    }

    private static String label(String path) {
        return path.isEmpty() ? "(top level)" : path;
    }
}
