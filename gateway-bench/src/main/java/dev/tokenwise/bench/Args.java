package dev.tokenwise.bench;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Command-line options of the form {@code --name value} or {@code --name=value}; options listed as flags take
 * no value. Every option must be consumed by the command, so a typo fails instead of being ignored.
 */
final class Args {
    private final Map<String, List<String>> values = new LinkedHashMap<>();
    private final Set<String> used = new HashSet<>();

    Args(List<String> args, Set<String> flags) {
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            if (!arg.startsWith("--") || arg.length() == 2) {
                throw new IllegalArgumentException("unexpected argument: " + arg + " (expected: --option value)");
            }
            String name = arg.substring(2);
            String value;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                value = name.substring(eq + 1);
                name = name.substring(0, eq);
            } else if (flags.contains(name)) {
                value = "true";
            } else if (i + 1 < args.size()) {
                value = args.get(++i);
            } else {
                throw new IllegalArgumentException("--" + name + ": missing value (or not an option of this command)");
            }
            values.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
        }
    }

    String string(String name, String defaultValue) {
        List<String> all = all(name);
        return all.isEmpty() ? defaultValue : all.get(all.size() - 1);
    }

    List<String> all(String name) {
        used.add(name);
        return values.getOrDefault(name, List.of());
    }

    boolean flag(String name) {
        return Boolean.parseBoolean(string(name, "false"));
    }

    int integer(String name, int defaultValue) {
        String value = string(name, null);
        try {
            return value == null ? defaultValue : Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + name + ": " + value + " (expected: an integer)", e);
        }
    }

    double decimal(String name, double defaultValue) {
        String value = string(name, null);
        try {
            return value == null ? defaultValue : Double.parseDouble(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + name + ": " + value + " (expected: a number)", e);
        }
    }

    Duration duration(String name, Duration defaultValue) {
        String value = string(name, null);
        return value == null ? defaultValue : parseDuration(name, value);
    }

    /** {@code 250ms}, {@code 10s}, {@code 2m}; a bare number means seconds. */
    static Duration parseDuration(String name, String text) {
        String value = text.trim().toLowerCase(Locale.ROOT);
        try {
            if (value.endsWith("ms")) {
                return Duration.ofMillis(Long.parseLong(value.substring(0, value.length() - 2)));
            }
            if (value.endsWith("us")) {
                return Duration.ofNanos(Long.parseLong(value.substring(0, value.length() - 2)) * 1000);
            }
            if (value.endsWith("s")) {
                return Duration.ofMillis(Math.round(Double.parseDouble(value.substring(0, value.length() - 1)) * 1000));
            }
            if (value.endsWith("m")) {
                return Duration.ofSeconds(Long.parseLong(value.substring(0, value.length() - 1)) * 60);
            }
            return Duration.ofMillis(Math.round(Double.parseDouble(value) * 1000));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + name + ": " + text + " (expected: a duration such as 500ms, 10s or 2m)", e);
        }
    }

    /** {@code 10s}, {@code 250ms}: the form the options take. */
    static String human(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + "s" : d.toMillis() + "ms";
    }

    /** Fails on any option the command did not ask for. */
    void checkAllUsed() {
        for (String name : values.keySet()) {
            if (!used.contains(name)) {
                throw new IllegalArgumentException("unknown option: --" + name);
            }
        }
    }
}
