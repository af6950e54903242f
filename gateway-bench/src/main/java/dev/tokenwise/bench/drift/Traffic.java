package dev.tokenwise.bench.drift;

import dev.tokenwise.metrics.ledger.TaskRow;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Simulated tasks of one model, day by day, with what makes real traffic harder than independent coin flips
 * (the assumptions are listed in {@code docs/efficiency.md}):
 *
 * <ul>
 *   <li>three teams with their own success rates (0.92, 0.84, 0.72), retry and truncation rates and answer
 *       lengths; their shares vary from day to day (log-normal, σ = 0.3) and the base mix is drawn anew every
 *       60 days (a change in traffic mix that is not a change of the model);</li>
 *   <li>day-to-day variation: on the logit scale a day effect (σ = 0.15) shared by the teams plus a team-day
 *       effect (σ = 0.10) for success, σ = 0.2 for retries and truncation, σ = 0.05 on log output tokens;</li>
 *   <li>tasks of several calls (1 + a retry with probability ≈ 0.08 + Poisson(0.4) further calls) that share one
 *       outcome and a task-level answer length (σ = 0.5 on the log, plus σ = 0.3 per call);</li>
 *   <li>70 % of tasks get an outcome; tasks arrive uniformly over the day.</li>
 * </ul>
 *
 * With {@code idealised}, every effect but the teams' own rates is switched off: a fixed mix, no day effects,
 * one call per task.
 */
final class Traffic {
    private static final long DAY = 86_400_000L;
    private static final String[] TEAMS = {"alpha", "beta", "gamma"};
    private static final double[] SUCCESS = {0.92, 0.84, 0.72};
    private static final double[] RETRY = {0.06, 0.08, 0.12};
    private static final double[] TRUNCATION = {0.02, 0.03, 0.05};
    private static final double[] OUTPUT_LOG = {Math.log(300), Math.log(500), Math.log(150)};
    private static final double[] INPUT_LOG = {Math.log(800), Math.log(1500), Math.log(400)};

    private final SplittableRandom random;
    private final int tasksPerDay;
    private final boolean idealised;
    private double[] baseMix = {0.5, 0.3, 0.2};
    private long taskIds;
    /** From this instant on, success rates are lower by {@link #drop} (a degradation), else never. */
    private long changeAtMillis = Long.MAX_VALUE;
    private double drop;

    Traffic(long seed, int tasksPerDay, boolean idealised) {
        this.random = new SplittableRandom(seed);
        this.tasksPerDay = tasksPerDay;
        this.idealised = idealised;
    }

    /** Success rates fall by {@code drop} (absolute) for tasks from {@code atMillis} on. */
    void degradeAt(long atMillis, double drop) {
        this.changeAtMillis = atMillis;
        this.drop = drop;
    }

    /** The tasks of day {@code day} (days since the epoch), ordered by their last call. */
    List<TaskRow> day(long day) {
        if (!idealised && day % 60 == 0) {
            double[] g = {gamma2(), gamma2(), gamma2()};
            double sum = g[0] + g[1] + g[2];
            baseMix = new double[] {g[0] / sum, g[1] / sum, g[2] / sum};
        }
        double[] mix = baseMix.clone();
        if (!idealised) {
            double sum = 0;
            for (int t = 0; t < 3; t++) {
                mix[t] *= Math.exp(0.3 * random.nextGaussian());
                sum += mix[t];
            }
            for (int t = 0; t < 3; t++) {
                mix[t] /= sum;
            }
        }
        double dayEffect = idealised ? 0 : 0.15 * random.nextGaussian();
        double[] teamDay = new double[3];
        double[] retryDay = new double[3];
        double[] truncDay = new double[3];
        double[] outputDay = new double[3];
        for (int t = 0; t < 3; t++) {
            teamDay[t] = idealised ? 0 : 0.10 * random.nextGaussian();
            retryDay[t] = idealised ? 0 : 0.2 * random.nextGaussian();
            truncDay[t] = idealised ? 0 : 0.2 * random.nextGaussian();
            outputDay[t] = idealised ? 0 : 0.05 * random.nextGaussian();
        }
        List<TaskRow> rows = new ArrayList<>(tasksPerDay);
        for (int i = 0; i < tasksPerDay; i++) {
            double u = random.nextDouble();
            int t = u < mix[0] ? 0 : u < mix[0] + mix[1] ? 1 : 2;
            long at = day * DAY + (long) (random.nextDouble() * DAY);
            double p = logistic(logit(SUCCESS[t]) + dayEffect + teamDay[t]);
            if (at >= changeAtMillis) {
                p = Math.max(0.001, p - drop);
            }
            boolean success = random.nextDouble() < p;
            boolean judged = idealised || random.nextDouble() < 0.7;
            long retries = random.nextDouble() < logistic(logit(RETRY[t]) + retryDay[t]) ? 1 : 0;
            long calls = 1 + (idealised ? 0 : retries + poisson(0.4));
            long truncated = random.nextDouble() < logistic(logit(TRUNCATION[t]) + truncDay[t]) ? 1 : 0;
            double taskLog = OUTPUT_LOG[t] + outputDay[t] + 0.5 * random.nextGaussian();
            long output = 0;
            long input = 0;
            for (long c = 0; c < calls; c++) {
                output += Math.max(1, Math.round(Math.exp(taskLog + 0.3 * random.nextGaussian())));
                input += Math.max(1, Math.round(Math.exp(INPUT_LOG[t] + 0.4 * random.nextGaussian())));
            }
            long cost = Math.round(input * 2.5 + output * 10);
            rows.add(new TaskRow(TEAMS[t], "t" + taskIds++, "model", at, calls, retries, truncated, input, output,
                    cost, judged ? success : null));
        }
        rows.sort(Comparator.comparingLong(TaskRow::lastAtMillis));
        return rows;
    }

    private long poisson(double mean) {
        long k = 0;
        double p = Math.exp(-mean);
        double s = p;
        double u = random.nextDouble();
        while (u > s) {
            k++;
            p *= mean / k;
            s += p;
        }
        return k;
    }

    /** A Gamma(2, 1) draw: the sum of two exponentials (a Dirichlet(2, 2, 2) mix once normalised). */
    private double gamma2() {
        return -Math.log(1 - random.nextDouble()) - Math.log(1 - random.nextDouble());
    }

    private static double logit(double p) {
        return Math.log(p / (1 - p));
    }

    private static double logistic(double x) {
        return 1 / (1 + Math.exp(-x));
    }
}
