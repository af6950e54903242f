package dev.tokenwise.providers.simulator;

import dev.tokenwise.core.config.ConfigException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * How well a simulated model answers tasks of the builtin suite: the {@code simulate} block of a model entry.
 *
 * <pre>{@code
 * - {name: sim-mid, provider: sim, simulate: {accuracy: 0.93, verbosity: 1.0,
 *                                          degrade: {after_calls: 500, accuracy: 0.6, verbosity: 1.8}}}
 * }</pre>
 *
 * @param normal the profile it starts with
 * @param degraded the profile it switches to, or {@code null} when it never degrades
 * @param degradeAfterCalls switch after this many chat calls to the model (0: not by count)
 * @param degradeAfter switch this long after the simulator started ({@link Duration#ZERO}: not by time); with
 *     both, whichever comes first
 * @param seed makes the draws reproducible: the same seed, prompt and occurrence give the same answer
 */
public record SimulatedSkill(Profile normal, Profile degraded, long degradeAfterCalls, Duration degradeAfter,
                             long seed) {

    /** The option key prefix that carries a model's skill in a simulator provider's options. */
    public static final String OPTION_PREFIX = "simulate.";

    /**
     * One way of answering.
     *
     * @param accuracy the probability of a correct answer, 0 to 1
     * @param verbosity how much the working before the answer is scaled, above 0 and at most 20 (1: about 30 words)
     */
    public record Profile(double accuracy, double verbosity) {
        public Profile {
            if (!(accuracy >= 0 && accuracy <= 1)) {
                throw new ConfigException("accuracy: " + accuracy + " (expected: 0..1)");
            }
            if (!(verbosity > 0 && verbosity <= 20)) {
                throw new ConfigException("verbosity: " + verbosity + " (expected: > 0 and <= 20)");
            }
        }
    }

    public SimulatedSkill {
        if (normal == null) {
            throw new ConfigException("accuracy: missing");
        }
        degradeAfter = degradeAfter == null ? Duration.ZERO : degradeAfter;
        if (degradeAfterCalls < 0) {
            throw new ConfigException("degrade.after_calls: " + degradeAfterCalls + " (expected: >= 0)");
        }
        if (degradeAfter.isNegative()) {
            throw new ConfigException("degrade.after_seconds: " + degradeAfter.toSeconds() + " (expected: >= 0)");
        }
        if (degraded != null && degradeAfterCalls == 0 && degradeAfter.isZero()) {
            throw new ConfigException("degrade: needs after_calls or after_seconds");
        }
        if (degraded == null && (degradeAfterCalls > 0 || !degradeAfter.isZero())) {
            throw new ConfigException("degrade: after_calls or after_seconds without a degraded profile");
        }
    }

    /** The seed of a model's skill when its block names none: a hash of the model id. */
    public static long defaultSeed(String model) {
        return AnswerGenerator.fnv1a64(model);
    }

    /** The profile of a call: {@code callNumber} counts from 1, {@code sinceStart} is the simulator's age. */
    public Profile profile(long callNumber, Duration sinceStart) {
        if (degraded == null) {
            return normal;
        }
        boolean byCount = degradeAfterCalls > 0 && callNumber > degradeAfterCalls;
        boolean byTime = !degradeAfter.isZero() && sinceStart.compareTo(degradeAfter) >= 0;
        return byCount || byTime ? degraded : normal;
    }

    /** The option value that {@link #parse} reads back. */
    public String toOption() {
        StringBuilder s = new StringBuilder();
        s.append("accuracy=").append(normal.accuracy()).append(";verbosity=").append(normal.verbosity())
                .append(";seed=").append(seed);
        if (degraded != null) {
            s.append(";degrade.accuracy=").append(degraded.accuracy())
                    .append(";degrade.verbosity=").append(degraded.verbosity());
            if (degradeAfterCalls > 0) {
                s.append(";degrade.after_calls=").append(degradeAfterCalls);
            }
            if (!degradeAfter.isZero()) {
                s.append(";degrade.after_seconds=").append(degradeAfter.toSeconds());
            }
        }
        return s.toString();
    }

    /**
     * Reads {@link #toOption()}'s form: {@code key=value} pairs separated by {@code ;}, keys {@code accuracy},
     * {@code verbosity}, {@code seed}, {@code degrade.accuracy}, {@code degrade.verbosity},
     * {@code degrade.after_calls}, {@code degrade.after_seconds}.
     *
     * @param defaultSeed the seed when none is given
     * @throws ConfigException naming the key
     */
    public static SimulatedSkill parse(String option, long defaultSeed) {
        Map<String, String> values = new LinkedHashMap<>();
        for (String pair : option.split(";")) {
            if (pair.isBlank()) {
                continue;
            }
            int eq = pair.indexOf('=');
            if (eq <= 0) {
                throw new ConfigException("'" + pair + "' (expected: key=value)");
            }
            values.put(pair.substring(0, eq).strip().toLowerCase(Locale.ROOT), pair.substring(eq + 1).strip());
        }
        for (String key : values.keySet()) {
            if (!key.matches("accuracy|verbosity|seed|degrade\\.(accuracy|verbosity|after_calls|after_seconds)")) {
                throw new ConfigException(key + ": unknown key (expected one of: accuracy, verbosity, seed, degrade."
                        + "{after_calls, after_seconds, accuracy, verbosity})");
            }
        }
        Profile normal = new Profile(number(values, "accuracy", Double.NaN), number(values, "verbosity", 1));
        boolean degrades = values.keySet().stream().anyMatch(k -> k.startsWith("degrade."));
        Profile degraded = degrades ? new Profile(number(values, "degrade.accuracy", normal.accuracy()),
                number(values, "degrade.verbosity", normal.verbosity())) : null;
        return new SimulatedSkill(normal, degraded, (long) number(values, "degrade.after_calls", 0),
                Duration.ofSeconds((long) number(values, "degrade.after_seconds", 0)),
                (long) number(values, "seed", defaultSeed));
    }

    private static double number(Map<String, String> values, String key, double otherwise) {
        String raw = values.get(key);
        if (raw == null) {
            if (Double.isNaN(otherwise)) {
                throw new ConfigException(key + ": missing");
            }
            return otherwise;
        }
        try {
            return Double.parseDouble(raw);
        } catch (NumberFormatException e) {
            throw new ConfigException(key + ": '" + raw + "' (expected: a number)");
        }
    }
}
