package dev.tokenwise.server.config;

import dev.tokenwise.core.config.ConfigException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Expands environment references in one scalar value of the config:
 * <ul>
 *   <li>{@code ${VAR}}: the value of {@code VAR}, or the empty string when it is unset;</li>
 *   <li>{@code ${VAR:-default}}: the value of {@code VAR} when it is set and not empty, else {@code default}
 *       (itself expanded, so {@code ${A:-${B:-x}}} works);</li>
 *   <li>{@code $$}: one literal {@code $} (so {@code $${VAR}} stays {@code ${VAR}});</li>
 *   <li>any other {@code $} is kept as it is.</li>
 * </ul>
 * Expansion runs on scalars of the already parsed YAML tree, so a variable's value is always plain text and
 * can never add YAML structure.
 */
final class EnvExpander {

    private final Map<String, String> env;

    EnvExpander(Map<String, String> env) {
        this.env = Objects.requireNonNull(env, "env");
    }

    /** {@code true} when {@code name} is set, even to the empty string. */
    boolean isSet(String name) {
        return env.get(name) != null;
    }

    /**
     * Expands {@code raw}.
     *
     * @param path the YAML path of the value, for error messages
     * @throws ConfigException for an unterminated or malformed reference; the message never echoes the value
     */
    String expand(String raw, String path) {
        StringBuilder out = new StringBuilder(raw.length());
        expandInto(raw, 0, raw.length(), path, out, null);
        return out.toString();
    }

    /** Names of the variables {@code raw} refers to, outermost first, without duplicates. */
    static List<String> variables(String raw) {
        Set<String> names = new LinkedHashSet<>();
        try {
            new EnvExpander(Map.of()).expandInto(raw, 0, raw.length(), "", new StringBuilder(), names);
        } catch (ConfigException e) {
            // A malformed value names what it could; the caller only wants a hint.
        }
        return new ArrayList<>(names);
    }

    private void expandInto(String s, int from, int to, String path, StringBuilder out, Set<String> seen) {
        int i = from;
        while (i < to) {
            char c = s.charAt(i);
            if (c != '$' || i + 1 >= to) {
                out.append(c);
                i++;
                continue;
            }
            char next = s.charAt(i + 1);
            if (next == '$') {
                out.append('$');
                i += 2;
            } else if (next == '{') {
                int end = closingBrace(s, i + 2, to);
                if (end < 0) {
                    throw new ConfigException(path + ": unterminated ${ (expected: ${VAR} or ${VAR:-default})");
                }
                expandReference(s, i + 2, end, path, out, seen);
                i = end + 1;
            } else {
                out.append('$');
                i++;
            }
        }
    }

    private void expandReference(String s, int from, int to, String path, StringBuilder out, Set<String> seen) {
        int nameEnd = from;
        while (nameEnd < to && isNameChar(s.charAt(nameEnd), nameEnd == from)) {
            nameEnd++;
        }
        String name = s.substring(from, nameEnd);
        boolean plain = nameEnd == to;
        boolean withDefault = s.startsWith(":-", nameEnd);
        if (name.isEmpty() || !plain && !withDefault) {
            throw new ConfigException(path + ": ${" + s.substring(from, to)
                    + "} (expected: ${VAR} or ${VAR:-default}, VAR made of letters, digits and _)");
        }
        if (seen != null) {
            seen.add(name);
        }
        String value = env.get(name);
        if (plain) {
            out.append(value == null ? "" : value);
        } else if (value != null && !value.isEmpty()) {
            out.append(value);
            if (seen != null) {
                // Collect the names inside the default too: they are what the user may have to set.
                expandInto(s, nameEnd + 2, to, path, new StringBuilder(), seen);
            }
        } else {
            expandInto(s, nameEnd + 2, to, path, out, seen);
        }
    }

    /** The index of the '}' closing a reference whose body starts at {@code from}, or -1. */
    static int closingBrace(String s, int from, int to) {
        int depth = 0;
        int i = from;
        while (i < to) {
            char c = s.charAt(i);
            if (c == '$' && i + 1 < to && s.charAt(i + 1) == '$') {
                i += 2;
            } else if (c == '$' && i + 1 < to && s.charAt(i + 1) == '{') {
                depth++;
                i += 2;
            } else if (c == '}') {
                if (depth == 0) {
                    return i;
                }
                depth--;
                i++;
            } else {
                i++;
            }
        }
        return -1;
    }

    private static boolean isNameChar(char c, boolean first) {
        return c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || !first && c >= '0' && c <= '9';
    }
}
