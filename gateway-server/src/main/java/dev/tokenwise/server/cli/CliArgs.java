package dev.tokenwise.server.cli;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A subcommand's arguments: positional words, options with a value ({@code --url URL} or {@code --url=URL}) and
 * switches ({@code --json}). An option the subcommand does not know, or one without its value, is a {@link CliError}
 * with the usage status.
 */
final class CliArgs {
    private final List<String> positional;
    private final Map<String, String> values;
    private final Set<String> switches;

    private CliArgs(List<String> positional, Map<String, String> values, Set<String> switches) {
        this.positional = List.copyOf(positional);
        this.values = Map.copyOf(values);
        this.switches = Set.copyOf(switches);
    }

    /**
     * @param valued options that take a value
     * @param switchNames options that take none
     */
    static CliArgs parse(String[] args, Set<String> valued, Set<String> switchNames) throws CliError {
        List<String> positional = new ArrayList<>();
        Map<String, String> values = new HashMap<>();
        Set<String> switches = new HashSet<>();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (!arg.startsWith("-") || arg.equals("-") || isNumber(arg)) {
                positional.add(arg);
                continue;
            }
            int eq = arg.indexOf('=');
            String name = eq > 0 ? arg.substring(0, eq) : arg;
            if (switchNames.contains(name) && eq < 0) {
                switches.add(name);
            } else if (valued.contains(name)) {
                String value;
                if (eq > 0) {
                    value = arg.substring(eq + 1);
                } else if (i + 1 < args.length) {
                    value = args[++i];
                } else {
                    throw CliError.usage(name + " needs a value");
                }
                values.put(name, value);
            } else {
                throw CliError.usage("unknown option: " + name);
            }
        }
        return new CliArgs(positional, values, switches);
    }

    private static boolean isNumber(String arg) {
        return arg.length() > 1 && arg.substring(1).chars().allMatch(c -> Character.isDigit(c) || c == '.');
    }

    List<String> positional() {
        return positional;
    }

    /** The {@code i}th positional argument, or a usage error naming what it is. */
    String positional(int i, String what) throws CliError {
        if (i >= positional.size()) {
            throw CliError.usage(what + " is missing");
        }
        return positional.get(i);
    }

    /** A usage error when there are more than {@code count} positional arguments. */
    void atMost(int count) throws CliError {
        if (positional.size() > count) {
            throw CliError.usage("unexpected argument: " + positional.get(count));
        }
    }

    String value(String name) {
        return values.get(name);
    }

    String value(String name, String otherwise) {
        return values.getOrDefault(name, otherwise);
    }

    boolean has(String name) {
        return switches.contains(name) || values.containsKey(name);
    }
}
