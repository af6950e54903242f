package dev.tokenwise.core.config;

import static dev.tokenwise.core.config.Checks.checkNotBlank;

import java.util.LinkedHashSet;
import java.util.List;

/**
 * An efficiency route: a name clients call like a model, whose calls the gateway sends to the cheapest candidate
 * whose success rate is credibly at or above {@code minSuccessRate}, learnt from the outcomes of earlier tasks (see
 * {@code docs/routing.md}).
 *
 * @param name the id clients send in {@code "model"}; never also a model's name
 * @param candidates the models the route may choose, at least one, each listed once
 * @param minSuccessRate the bar: the success rate a candidate must credibly reach, in (0, 1)
 * @param exploration the share of new tasks sent to a candidate other than the policy's choice, in [0, 0.5]
 * @param scoreThreshold {@code null} when a task's {@code success} judges it ({@code metric: success}); else a task
 *     succeeded when its outcome's {@code score} is at least this ({@code metric: score})
 */
public record RouteConfig(String name, List<String> candidates, double minSuccessRate, double exploration,
                          Double scoreThreshold) {

    /** The exploration share when the config sets none. */
    public static final double DEFAULT_EXPLORATION = 0.05;

    public RouteConfig {
        checkNotBlank(name, "routes[].name");
        String at = "routes[" + name + "]";
        candidates = candidates == null ? List.of() : List.copyOf(candidates);
        if (candidates.isEmpty()) {
            throw new ConfigException(at + ".candidates: empty (expected: one or more models)");
        }
        if (new LinkedHashSet<>(candidates).size() != candidates.size()) {
            throw new ConfigException(at + ".candidates: " + candidates + " (expected: each model once)");
        }
        if (!(minSuccessRate > 0 && minSuccessRate < 1)) {
            throw new ConfigException(at + ".min_success_rate: " + minSuccessRate + " (expected: > 0 and < 1)");
        }
        if (!(exploration >= 0 && exploration <= 0.5)) {
            throw new ConfigException(at + ".exploration: " + exploration + " (expected: 0..0.5)");
        }
        if (scoreThreshold != null && !(scoreThreshold >= 0 && scoreThreshold <= 1)) {
            throw new ConfigException(at + ".threshold: " + scoreThreshold + " (expected: 0..1)");
        }
    }

    /** Whether an outcome counts as a success on this route: {@code success}, or a score at the threshold. */
    public boolean succeeded(boolean success, Double score) {
        if (scoreThreshold == null) {
            return success;
        }
        return score != null && score >= scoreThreshold;
    }
}
