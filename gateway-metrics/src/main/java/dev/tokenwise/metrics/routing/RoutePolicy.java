package dev.tokenwise.metrics.routing;

import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;
import java.util.function.Predicate;
import java.util.random.RandomGenerator;

/**
 * The decision of one efficiency route: which candidate a new task goes to. Pure: it holds no channel and no
 * ledger; its clock and random source are injected, so tests script outcomes and replay choices.
 *
 * <p><b>Algorithm</b> (see {@code docs/routing.md}). Each candidate has a Beta posterior of its success rate,
 * {@code Beta(1 + s, 1 + f)}, whose counts are <em>discounted</em>: each new observation of the candidate first
 * multiplies its counts by {@code 1 - 1/window}, each observation of another candidate multiplies them by
 * {@code 1 - 1/fadeWindow}, and counts also halve every {@code halfLifeMillis} of wall time. So the posterior of the
 * chosen candidate reflects roughly its last {@code window} tasks (a degradation is noticed), and the evidence of a
 * candidate seldom tried fades, so that it is tried again (an improvement is noticed).
 * A choice is Thompson sampling under a constraint: draw {@code p_c} from each available candidate's posterior;
 * among those with {@code p_c >= bar}, pick the one with the lowest {@code cost_c / p_c} (expected cost per solved
 * task, {@code cost_c} the candidate's discounted mean cost per task); when none reaches the bar, pick the highest
 * {@code p_c} (the best quality there is). With probability {@code exploration} the task goes instead to a candidate
 * cheaper than the choice, uniformly, or the next dearer one when none is cheaper ({@code explore}); otherwise to the
 * choice ({@code exploit}).
 *
 * <p>A candidate without a measured cost is priced from its {@code priceWeight} relative to a candidate with one
 * (or by its weight alone when none has one), so a new route starts cheapest-first.
 *
 * <p><b>Implementation note.</b> The state is an immutable snapshot behind an {@link AtomicReference}: observations
 * (record dispatcher, API threads) replace it with a compare-and-set loop; choices (event loops) read it without a
 * lock. An observation racing a choice is seen by the next choice.
 */
public final class RoutePolicy {
    /** Why a candidate was chosen. */
    public enum Reason {
        EXPLOIT, EXPLORE;

        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** A choice: the candidate and why. */
    public record Choice(String candidate, Reason reason) {
    }

    /**
     * The policy's parameters.
     *
     * @param bar the success rate a candidate must credibly reach, in (0, 1)
     * @param exploration the share of tasks sent to another candidate than the choice, in [0, 0.5]
     * @param window the number of a candidate's most recent observations its posterior mostly reflects
     * @param halfLifeMillis the wall time after which old evidence counts half, {@code > 0}
     */
    public record Settings(double bar, double exploration, int window, int fadeWindow, long halfLifeMillis) {
        /** The windows and half-life used unless told otherwise. */
        public static final int DEFAULT_WINDOW = 100;
        public static final int DEFAULT_FADE_WINDOW = 300;
        public static final long DEFAULT_HALF_LIFE_MILLIS = 7L * 24 * 3600 * 1000;

        public Settings {
            if (!(bar > 0 && bar < 1)) {
                throw new IllegalArgumentException("bar: " + bar + " (expected: > 0 and < 1)");
            }
            if (!(exploration >= 0 && exploration <= 0.5)) {
                throw new IllegalArgumentException("exploration: " + exploration + " (expected: 0..0.5)");
            }
            if (window < 2) {
                throw new IllegalArgumentException("window: " + window + " (expected: >= 2)");
            }
            if (fadeWindow < window) {
                throw new IllegalArgumentException("fadeWindow: " + fadeWindow + " (expected: >= window " + window + ")");
            }
            if (halfLifeMillis <= 0) {
                throw new IllegalArgumentException("halfLifeMillis: " + halfLifeMillis + " (expected: > 0)");
            }
        }
    }

    /** One candidate's discounted evidence, as a snapshot. */
    public record Evidence(String candidate, double successes, double failures, double costNanosSum, double costWeight) {
        /** The posterior mean of the success rate ({@code Beta(1 + s, 1 + f)}). */
        public double meanSuccess() {
            return (1 + successes) / (2 + successes + failures);
        }

        /** The discounted mean cost of a task in nano-USD, or {@code NaN} without any. */
        public double meanCostNanos() {
            return costWeight > 0 ? costNanosSum / costWeight : Double.NaN;
        }
    }

    private record State(long atMillis, Evidence[] evidence) {
    }

    private final List<String> candidates;
    private final double[] priceWeights;
    private final Settings settings;
    private final LongSupplier clockMillis;
    private final double keep;
    private final double keepOthers;
    private final AtomicReference<State> state;

    /**
     * @param candidates the route's candidates, in config order
     * @param priceWeights a relative price per candidate (e.g. input plus output price per million tokens), {@code > 0}
     */
    public RoutePolicy(List<String> candidates, double[] priceWeights, Settings settings, LongSupplier clockMillis) {
        this.candidates = List.copyOf(candidates);
        if (this.candidates.isEmpty() || priceWeights.length != this.candidates.size()) {
            throw new IllegalArgumentException("candidates: " + candidates + " (expected: one price weight each)");
        }
        this.priceWeights = priceWeights.clone();
        for (int i = 0; i < this.priceWeights.length; i++) {
            if (!(this.priceWeights[i] > 0)) {
                this.priceWeights[i] = 1; // unpriced: treated as cheap as can be, until its cost is measured
            }
        }
        this.settings = Objects.requireNonNull(settings, "settings");
        this.clockMillis = Objects.requireNonNull(clockMillis, "clockMillis");
        this.keep = 1 - 1.0 / settings.window();
        this.keepOthers = 1 - 1.0 / settings.fadeWindow();
        Evidence[] empty = new Evidence[this.candidates.size()];
        for (int i = 0; i < empty.length; i++) {
            empty[i] = new Evidence(this.candidates.get(i), 0, 0, 0, 0);
        }
        this.state = new AtomicReference<>(new State(clockMillis.getAsLong(), empty));
    }

    public List<String> candidates() {
        return candidates;
    }

    public Settings settings() {
        return settings;
    }

    /** A policy with this one's candidates, prices and settings, and no evidence. */
    RoutePolicy emptyCopy() {
        return new RoutePolicy(candidates, priceWeights, settings, clockMillis);
    }

    /** Takes {@code other}'s evidence as its own, in one step (the choices made meanwhile see one or the other). */
    void adopt(RoutePolicy other) {
        state.set(other.state.get());
    }

    /** Learns one judged task of {@code candidate} (ignored for a model that is not a candidate). */
    public void observe(String candidate, boolean success, long costNanos, long atMillis) {
        int i = candidates.indexOf(candidate);
        if (i < 0) {
            return;
        }
        while (true) {
            State before = state.get();
            State now = aged(before, Math.max(before.atMillis(), atMillis));
            Evidence[] next = now.evidence().clone();
            for (int j = 0; j < next.length; j++) {
                Evidence e = next[j];
                double k = j == i ? keep : keepOthers;
                next[j] = new Evidence(e.candidate(), e.successes() * k + (j == i && success ? 1 : 0),
                        e.failures() * k + (j == i && !success ? 1 : 0),
                        e.costNanosSum() * k + (j == i ? Math.max(0, costNanos) : 0), e.costWeight() * k + (j == i ? 1 : 0));
            }
            if (state.compareAndSet(before, new State(now.atMillis(), next))) {
                return;
            }
        }
    }

    /** The evidence of every candidate now, in candidate order. */
    public List<Evidence> evidence() {
        return List.of(aged(state.get(), clockMillis.getAsLong()).evidence());
    }

    /**
     * The candidate for a new task.
     *
     * @param available whether a candidate may take a new task; when none may, every candidate is considered
     */
    public Choice choose(Predicate<String> available, RandomGenerator random) {
        Evidence[] evidence = aged(state.get(), clockMillis.getAsLong()).evidence();
        boolean[] open = openSet(available);
        double[] p = new double[evidence.length];
        for (int i = 0; i < evidence.length; i++) {
            p[i] = BetaSampler.sample(1 + evidence[i].successes(), 1 + evidence[i].failures(), random);
        }
        int best = best(evidence, p, open);
        if (settings.exploration() > 0 && random.nextDouble() < settings.exploration()) {
            int explored = explorationTarget(best, costs(evidence), open, random);
            if (explored >= 0) {
                return new Choice(candidates.get(explored), Reason.EXPLORE);
            }
        }
        return new Choice(candidates.get(best), Reason.EXPLOIT);
    }

    /**
     * Where an exploring task goes: uniformly among the available candidates cheaper than the choice (whether one of
     * them has become good enough is what exploration is for; the choice itself is observed on every other task);
     * when none is cheaper, to the cheapest dearer one, so that the share is kept and the next candidate's evidence
     * stays fresh. {@code -1} when the choice is the only available candidate.
     */
    private int explorationTarget(int best, double[] cost, boolean[] open, RandomGenerator random) {
        int cheaper = 0;
        int nextDearer = -1;
        for (int i = 0; i < open.length; i++) {
            if (!open[i] || i == best) {
                continue;
            }
            if (cost[i] < cost[best]) {
                cheaper++;
            } else if (nextDearer < 0 || cost[i] < cost[nextDearer]) {
                nextDearer = i;
            }
        }
        if (cheaper == 0) {
            return nextDearer;
        }
        int pick = random.nextInt(cheaper);
        for (int i = 0; i < open.length; i++) {
            if (open[i] && i != best && cost[i] < cost[best] && pick-- == 0) {
                return i;
            }
        }
        throw new AssertionError("unreachable");
    }

    /**
     * The choice with each posterior's mean in place of a draw: what the route does for most tasks now, for the API.
     */
    public String current(Predicate<String> available) {
        Evidence[] evidence = aged(state.get(), clockMillis.getAsLong()).evidence();
        double[] p = new double[evidence.length];
        for (int i = 0; i < evidence.length; i++) {
            p[i] = evidence[i].meanSuccess();
        }
        return candidates.get(best(evidence, p, openSet(available)));
    }

    /** The estimated cost of a task of each candidate, in nano-USD (measured, or derived from the price weights). */
    double[] costs(Evidence[] evidence) {
        double[] cost = new double[evidence.length];
        double perWeight = Double.NaN;
        for (int i = 0; i < evidence.length; i++) {
            double measured = evidence[i].meanCostNanos();
            if (!Double.isNaN(measured) && Double.isNaN(perWeight)) {
                perWeight = measured / priceWeights[i];
            }
        }
        for (int i = 0; i < evidence.length; i++) {
            double measured = evidence[i].meanCostNanos();
            cost[i] = !Double.isNaN(measured) ? measured
                    : Double.isNaN(perWeight) ? priceWeights[i] : perWeight * priceWeights[i];
        }
        return cost;
    }

    private int best(Evidence[] evidence, double[] p, boolean[] open) {
        double[] cost = costs(evidence);
        int cheapest = -1;
        int likeliest = -1;
        for (int i = 0; i < p.length; i++) {
            if (!open[i]) {
                continue;
            }
            if (likeliest < 0 || p[i] > p[likeliest]) {
                likeliest = i;
            }
            if (p[i] >= settings.bar() && (cheapest < 0 || cost[i] / p[i] < cost[cheapest] / p[cheapest])) {
                cheapest = i;
            }
        }
        return cheapest >= 0 ? cheapest : likeliest;
    }

    private boolean[] openSet(Predicate<String> available) {
        boolean[] open = new boolean[candidates.size()];
        boolean any = false;
        for (int i = 0; i < open.length; i++) {
            open[i] = available.test(candidates.get(i));
            any |= open[i];
        }
        if (!any) {
            java.util.Arrays.fill(open, true);
        }
        return open;
    }

    /** {@code s} with its counts halved for each half-life between its time and {@code atMillis}. */
    private State aged(State s, long atMillis) {
        long elapsed = atMillis - s.atMillis();
        if (elapsed <= 0) {
            return s;
        }
        double factor = Math.pow(0.5, (double) elapsed / settings.halfLifeMillis());
        Evidence[] next = new Evidence[s.evidence().length];
        for (int i = 0; i < next.length; i++) {
            Evidence e = s.evidence()[i];
            next[i] = new Evidence(e.candidate(), e.successes() * factor, e.failures() * factor,
                    e.costNanosSum() * factor, e.costWeight() * factor);
        }
        return new State(atMillis, next);
    }
}
