package dev.tokenwise.bench.routing;

import dev.tokenwise.metrics.routing.RoutePolicy;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Measures the efficiency routing policy ({@link RoutePolicy}) against the oracle, the best fixed choice known in
 * advance (the cheapest candidate whose true success rate reaches the bar, re-chosen at once when the truth changes),
 * over seeded runs of simulated tasks: each task's candidate succeeds with its true rate and costs its fixed cost.
 *
 * <ul>
 *   <li><b>cost regret</b>: what the routed tasks cost over what the oracle's choices would have cost, as a share
 *       of the latter (expected costs: the candidates' costs are fixed);</li>
 *   <li><b>pass rate</b>: the routed tasks' expected success rate (the true rates of the candidates chosen), beside
 *       the oracle's;</li>
 *   <li><b>cost per solved</b>: expected cost over expected successes, routed and oracle;</li>
 *   <li><b>below bar</b>: the share of tasks sent to a candidate whose true rate is below the bar;</li>
 *   <li><b>switch</b>: after a change of the truth, the tasks until the policy's current choice (posterior means) is
 *       the oracle's new one, median and 90th percentile over the runs.</li>
 * </ul>
 *
 * <pre>
 * java -cp tokenwise-bench.jar dev.tokenwise.bench.routing.RoutingSimulation [runs] [tasks]
 * </pre>
 */
public final class RoutingSimulation {
    static final List<String> MODELS = List.of("cheap", "mid", "premium");
    /** Cost of a task in nano-USD: the premium model costs 10 times the mid one, which costs 10 times the cheap one. */
    static final long[] COST = {100_000, 1_000_000, 10_000_000};
    static final double BAR = 0.85;

    private RoutingSimulation() {
    }

    /**
     * A world: the candidates' true success rates before and after task {@code changeAt} ({@code -1}: no change).
     */
    record Scenario(String name, double[] before, double[] after, int changeAt) {
        double[] truth(int task) {
            return changeAt >= 0 && task >= changeAt ? after : before;
        }
    }

    /** The figures of one scenario over its runs. */
    record Result(Scenario scenario, int runs, int tasks, double costRegret, double passRate, double oraclePassRate,
                  double costPerSolved, double oracleCostPerSolved, double belowBar, double minPassRate,
                  double switchMedian, double switchP90, int switchMissed) {
    }

    static int oracle(double[] truth) {
        for (int i = 0; i < truth.length; i++) {
            if (truth[i] >= BAR) {
                return i; // candidates are in increasing cost order
            }
        }
        int best = 0;
        for (int i = 1; i < truth.length; i++) {
            best = truth[i] > truth[best] ? i : best;
        }
        return best;
    }

    static Result run(Scenario scenario, int runs, int tasks, RoutePolicy.Settings settings) {
        double cost = 0;
        double oracleCost = 0;
        double expectedSolved = 0;
        double oracleSolved = 0;
        long belowBar = 0;
        double minPass = 1;
        List<Integer> switches = new ArrayList<>();
        int missed = 0;
        for (int seed = 1; seed <= runs; seed++) {
            SplittableRandom random = new SplittableRandom(seed);
            AtomicLong clock = new AtomicLong(0);
            RoutePolicy policy = new RoutePolicy(MODELS, new double[] {1, 10, 100},
                    settings, clock::get);
            double runSolved = 0;
            int switched = -1;
            for (int t = 0; t < tasks; t++) {
                double[] truth = scenario.truth(t);
                int best = oracle(truth);
                int i = MODELS.indexOf(policy.choose(m -> true, random).candidate());
                cost += COST[i];
                oracleCost += COST[best];
                expectedSolved += truth[i];
                runSolved += truth[i];
                oracleSolved += truth[best];
                belowBar += truth[i] < BAR ? 1 : 0;
                clock.addAndGet(1_000); // a task a second: the half-life (days) plays no part here
                policy.observe(MODELS.get(i), random.nextDouble() < truth[i], COST[i], clock.get());
                if (scenario.changeAt() >= 0 && t >= scenario.changeAt() && switched < 0
                        && policy.current(m -> true).equals(MODELS.get(best))) {
                    switched = t - scenario.changeAt() + 1;
                }
            }
            minPass = Math.min(minPass, runSolved / tasks);
            if (scenario.changeAt() >= 0) {
                if (switched < 0) {
                    missed++;
                } else {
                    switches.add(switched);
                }
            }
        }
        switches.sort(null);
        double n = (double) runs * tasks;
        return new Result(scenario, runs, tasks, cost / oracleCost - 1, expectedSolved / n, oracleSolved / n,
                cost / expectedSolved, oracleCost / oracleSolved, belowBar / n, minPass,
                switches.isEmpty() ? Double.NaN : switches.get(switches.size() / 2),
                switches.isEmpty() ? Double.NaN : switches.get((int) Math.min(switches.size() - 1,
                        Math.ceil(0.9 * switches.size()) - 1)), missed);
    }

    static List<Scenario> scenarios(int tasks) {
        return List.of(
                new Scenario("stationary (0.55, 0.93, 0.98)", new double[] {0.55, 0.93, 0.98}, null, -1),
                new Scenario("cheap near the bar (0.80, 0.93, 0.98)", new double[] {0.80, 0.93, 0.98}, null, -1),
                new Scenario("mid degrades to 0.50 halfway", new double[] {0.55, 0.93, 0.98},
                        new double[] {0.55, 0.50, 0.98}, tasks / 2),
                new Scenario("cheap improves to 0.95 halfway", new double[] {0.55, 0.93, 0.98},
                        new double[] {0.95, 0.93, 0.98}, tasks / 2));
    }

    static void print(PrintStream out, List<Result> results, String label) {
        out.println(label);
        out.println();
        out.println("| scenario | cost regret | pass rate (oracle) | min pass rate of a run | cost per solved, µUSD"
                + " (oracle) | tasks below the bar | switch: median, p90 tasks (missed) |");
        out.println("| --- | --- | --- | --- | --- | --- | --- |");
        for (Result r : results) {
            String switching = r.scenario().changeAt() < 0 ? "–" : String.format(Locale.ROOT, "%.0f, %.0f (%d)",
                    r.switchMedian(), r.switchP90(), r.switchMissed());
            out.printf(Locale.ROOT, "| %s | %+.1f %% | %.3f (%.3f) | %.3f | %.0f (%.0f) | %.1f %% | %s |%n",
                    r.scenario().name(), 100 * r.costRegret(), r.passRate(), r.oraclePassRate(), r.minPassRate(),
                    r.costPerSolved() / 1_000, r.oracleCostPerSolved() / 1_000, 100 * r.belowBar(), switching);
        }
        out.println();
    }

    static RoutePolicy.Settings settings(double exploration, int window, int fadeWindow) {
        return new RoutePolicy.Settings(BAR, exploration, window, fadeWindow,
                RoutePolicy.Settings.DEFAULT_HALF_LIFE_MILLIS);
    }

    /** One row per setting: the figures that move with it. */
    static void printVariants(PrintStream out, int runs, int tasks) {
        out.println("Sensitivity (" + runs + " seeded runs of " + tasks + " tasks each): cost regret of the stationary"
                + " world, pass rate and tasks below the bar with the cheap model near the bar, switch delays (median,"
                + " p90; missed runs)");
        out.println();
        out.println("| exploration | window | fade window | stationary: cost regret | near the bar: pass rate, below"
                + " bar | mid degrades: switch | cheap improves: switch |");
        out.println("| --- | --- | --- | --- | --- | --- | --- |");
        double[] explorations = {0.0, 0.05, 0.10};
        int[][] windows = {{50, 300}, {100, 300}, {100, 1_000_000}, {200, 300}};
        List<Scenario> scenarios = scenarios(tasks);
        for (double exploration : explorations) {
            for (int[] w : windows) {
                RoutePolicy.Settings settings = settings(exploration, w[0], w[1]);
                Result stationary = run(scenarios.get(0), runs, tasks, settings);
                Result near = run(scenarios.get(1), runs, tasks, settings);
                Result degrades = run(scenarios.get(2), runs, tasks, settings);
                Result improves = run(scenarios.get(3), runs, tasks, settings);
                out.printf(Locale.ROOT, "| %.2f | %d | %s | %+.1f %% | %.3f, %.1f %% | %.0f, %.0f (%d) | %.0f, %.0f (%d) |%n",
                        exploration, w[0], w[1] >= 1_000_000 ? "none" : String.valueOf(w[1]),
                        100 * stationary.costRegret(), near.passRate(), 100 * near.belowBar(), degrades.switchMedian(),
                        degrades.switchP90(), degrades.switchMissed(), improves.switchMedian(), improves.switchP90(),
                        improves.switchMissed());
            }
        }
        out.println();
    }

    public static void main(String[] args) {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 50;
        int tasks = args.length > 1 ? Integer.parseInt(args[1]) : 2_000;
        PrintStream out = System.out;
        List<Result> defaults = new ArrayList<>();
        RoutePolicy.Settings settings = settings(0.05, RoutePolicy.Settings.DEFAULT_WINDOW,
                RoutePolicy.Settings.DEFAULT_FADE_WINDOW);
        for (Scenario s : scenarios(tasks)) {
            defaults.add(run(s, runs, tasks, settings));
        }
        print(out, defaults, "Defaults (exploration 0.05, window " + RoutePolicy.Settings.DEFAULT_WINDOW
                + ", fade window " + RoutePolicy.Settings.DEFAULT_FADE_WINDOW + "), bar " + BAR + ", " + runs
                + " seeded runs of " + tasks + " tasks:");
        printVariants(out, runs, tasks);
    }
}
