package dev.tokenwise.core.config;

import java.time.Duration;
import java.util.List;

/**
 * Scheduled probes: the gateway grades a few tasks on each listed model on a schedule, as a client of its own port
 * with a key of {@code team}, and watches the results for a change (see {@code docs/efficiency.md}).
 *
 * @param interval the time between the starts of two runs
 * @param models the models probed, as clients name them
 * @param tasksPerRun tasks graded per model and run (the same tasks every run)
 * @param suite {@code builtin} or the path of a JSONL suite file
 * @param team whose budget pays; probes are ordinary recorded calls of that team
 * @param referenceRuns the runs the pinned reference is made of
 */
public record ProbeConfig(Duration interval, List<String> models, int tasksPerRun, String suite, String team,
                          int referenceRuns) {

    public static final int DEFAULT_TASKS_PER_RUN = 20;
    public static final int DEFAULT_REFERENCE_RUNS = 10;

    public ProbeConfig {
        if (interval == null || interval.isZero() || interval.isNegative()) {
            throw new ConfigException("probes.interval_seconds: " + (interval == null ? "missing" : interval.toSeconds())
                    + " (expected: > 0)");
        }
        models = models == null ? List.of() : List.copyOf(models);
        if (models.isEmpty()) {
            throw new ConfigException("probes.models: empty (expected: one or more models)");
        }
        if (tasksPerRun <= 0) {
            throw new ConfigException("probes.tasks_per_run: " + tasksPerRun + " (expected: > 0)");
        }
        Checks.checkNotBlank(suite, "probes.suite");
        Checks.checkNotBlank(team, "probes.team");
        if (referenceRuns < 2) {
            throw new ConfigException("probes.reference_runs: " + referenceRuns + " (expected: >= 2)");
        }
    }
}
