package dev.tokenwise.metrics.routing;

import dev.tokenwise.core.config.RouteConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * What {@code GET /api/v1/routes} shows of one route: per candidate, its tasks in the route's recent window (the last
 * {@link Router#WINDOW} judged tasks routed through it) with their success rate, its lower bound and their cost per
 * solved task; the policy's view (posterior mean, estimated cost per solved task); the current choice; and what the
 * window saved against sending every task to the dearest candidate.
 *
 * @param current the candidate the policy chooses with its posteriors' means: what most new tasks get now
 * @param tasks judged tasks in the window
 * @param successRate their success rate, {@code NaN} without any
 * @param costNanos what they cost
 * @param costPerSolvedNanos {@code costNanos / solved}, {@code NaN} without a success
 * @param dearest the candidate whose task costs most (measured, or estimated from its price)
 * @param dearestCostPerSolvedNanos its estimated cost per solved task (the policy's discounted mean cost over its
 *     posterior mean)
 * @param savedNanos {@code solved × dearestCostPerSolvedNanos − costNanos}: what the window's successes would have
 *     cost more on the dearest candidate (negative when routing cost more)
 */
public record RouteFigures(RouteConfig config, String current, List<Candidate> candidates, long tasks,
                           double successRate, long costNanos, double costPerSolvedNanos, String dearest,
                           double dearestCostPerSolvedNanos, double savedNanos, List<Slice> timeline) {

    /** The most slices of {@link #timeline}. */
    static final int SLICES = 10;

    /**
     * A run of consecutive judged tasks of the window, for the split over time: the window cut into up to
     * {@link #SLICES} runs of equal length, oldest first.
     *
     * @param toMillis when the run's last task was judged
     * @param tasks per candidate (in candidate order), its tasks in the run
     */
    public record Slice(long fromMillis, long toMillis, long[] tasks, long solved, long costNanos) {
    }

    /**
     * One candidate's figures.
     *
     * @param tasks its judged tasks in the window
     * @param successRate their success rate, {@code NaN} without any
     * @param successRateLow the lower end of its 95 % Wilson interval, {@code NaN} without any
     * @param costPerSolvedNanos their cost over their successes, {@code NaN} without a success
     * @param share its tasks over the window's
     * @param posteriorMean the policy's (discounted) posterior mean of its success rate
     * @param estimatedCostPerSolvedNanos the policy's estimated cost of a task over that mean
     */
    public record Candidate(String model, long tasks, long solved, double successRate, double successRateLow,
                            double costPerSolvedNanos, double share, double posteriorMean,
                            double estimatedCostPerSolvedNanos) {
    }

    static RouteFigures of(RouteConfig config, RoutePolicy policy, List<Router.Judged> window,
                           Predicate<String> available) {
        List<RoutePolicy.Evidence> evidence = policy.evidence();
        double[] cost = policy.costs(evidence.toArray(RoutePolicy.Evidence[]::new));
        List<Candidate> candidates = new ArrayList<>();
        long allSolved = 0;
        long allCost = 0;
        String dearest = null;
        double dearestCost = Double.NaN;
        double dearestCps = Double.NaN;
        for (int i = 0; i < evidence.size(); i++) {
            String model = config.candidates().get(i);
            long tasks = 0;
            long solved = 0;
            long costNanos = 0;
            for (Router.Judged j : window) {
                if (j.model().equals(model)) {
                    tasks++;
                    solved += j.success() ? 1 : 0;
                    costNanos += j.costNanos();
                }
            }
            allSolved += solved;
            allCost += costNanos;
            double mean = evidence.get(i).meanSuccess();
            double estimated = cost[i] / mean;
            if (dearest == null || cost[i] > dearestCost) {
                dearest = model;
                dearestCost = cost[i];
                dearestCps = estimated;
            }
            candidates.add(new Candidate(model, tasks, solved, tasks == 0 ? Double.NaN : (double) solved / tasks,
                    tasks == 0 ? Double.NaN : wilsonLow(solved, tasks),
                    solved == 0 ? Double.NaN : (double) costNanos / solved,
                    window.isEmpty() ? Double.NaN : (double) tasks / window.size(), mean, estimated));
        }
        return new RouteFigures(config, policy.current(available), candidates, window.size(),
                window.isEmpty() ? Double.NaN : (double) allSolved / window.size(), allCost,
                allSolved == 0 ? Double.NaN : (double) allCost / allSolved, dearest, dearestCps,
                allSolved * dearestCps - allCost, timeline(config, window));
    }

    private static List<Slice> timeline(RouteConfig config, List<Router.Judged> window) {
        List<Slice> slices = new ArrayList<>();
        if (window.isEmpty()) {
            return slices;
        }
        int per = (window.size() + SLICES - 1) / SLICES;
        for (int start = 0; start < window.size(); start += per) {
            List<Router.Judged> run = window.subList(start, Math.min(window.size(), start + per));
            long[] tasks = new long[config.candidates().size()];
            long solved = 0;
            long cost = 0;
            for (Router.Judged j : run) {
                int i = config.candidates().indexOf(j.model());
                if (i >= 0) {
                    tasks[i]++;
                }
                solved += j.success() ? 1 : 0;
                cost += j.costNanos();
            }
            slices.add(new Slice(run.get(0).atMillis(), run.get(run.size() - 1).atMillis(), tasks, solved, cost));
        }
        return slices;
    }

    /** The lower end of the 95 % Wilson score interval of {@code k} successes in {@code n}. */
    static double wilsonLow(long k, long n) {
        double z = 1.959963984540054;
        double p = (double) k / n;
        double z2 = z * z;
        double centre = p + z2 / (2 * n);
        double spread = z * Math.sqrt(p * (1 - p) / n + z2 / (4.0 * n * n));
        return Math.max(0, (centre - spread) / (1 + z2 / n));
    }
}
