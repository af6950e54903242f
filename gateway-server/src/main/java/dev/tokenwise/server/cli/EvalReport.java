package dev.tokenwise.server.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenwise.eval.Wilson;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What {@code tokenwise eval} measured, per model: pass rate with its Wilson 95 % interval, tokens and cost per
 * solved task, mean output tokens per call, retries, median latency, and which models are on the cost/quality
 * Pareto frontier. Thread-safe: workers {@link #add} results as they finish.
 */
final class EvalReport {

    /** One graded task (one repeat of one task on one model). */
    record Result(String model, boolean solved, boolean errored, long inputTokens, long outputTokens, long costNanos,
                  long calls, long retries, long latencyMillis) {
    }

    /** The figures of one model. */
    record ModelFigures(String model, long tasks, long solved, long errors, double passRate, double passRateLow,
                        double passRateHigh, Double tokensPerSolved, Double costPerSolvedUsd, Double meanOutputTokens,
                        long retries, Long p50LatencyMillis, double costUsd, boolean pareto) {
    }

    private final List<String> models;
    private final Map<String, List<Result>> results = new LinkedHashMap<>();

    EvalReport(List<String> models) {
        this.models = List.copyOf(models);
        for (String m : models) {
            results.put(m, new ArrayList<>());
        }
    }

    synchronized void add(Result r) {
        results.get(r.model()).add(r);
    }

    synchronized int done() {
        return results.values().stream().mapToInt(List::size).sum();
    }

    /** {@code model 78%} for each model with results, for the progress line. */
    synchronized String brief() {
        StringBuilder s = new StringBuilder();
        for (String m : models) {
            List<Result> rs = results.get(m);
            if (!rs.isEmpty()) {
                long solved = rs.stream().filter(Result::solved).count();
                s.append("  ").append(m).append(' ').append(Math.round(100.0 * solved / rs.size())).append('%');
            }
        }
        return s.toString();
    }

    synchronized List<ModelFigures> figures() {
        List<ModelFigures> out = new ArrayList<>();
        for (String m : models) {
            List<Result> rs = results.get(m);
            long tasks = rs.size();
            long solved = rs.stream().filter(Result::solved).count();
            long errors = rs.stream().filter(Result::errored).count();
            long tokens = rs.stream().mapToLong(r -> r.inputTokens() + r.outputTokens()).sum();
            long output = rs.stream().mapToLong(Result::outputTokens).sum();
            long calls = rs.stream().mapToLong(Result::calls).sum();
            long costNanos = rs.stream().mapToLong(Result::costNanos).sum();
            long retries = rs.stream().mapToLong(Result::retries).sum();
            long[] latencies = rs.stream().filter(r -> !r.errored()).mapToLong(Result::latencyMillis).sorted().toArray();
            Wilson.Interval ci = Wilson.interval95(solved, tasks);
            out.add(new ModelFigures(m, tasks, solved, errors, tasks == 0 ? Double.NaN : (double) solved / tasks,
                    ci.low(), ci.high(), solved == 0 ? null : (double) tokens / solved,
                    solved == 0 ? null : costNanos / 1e9 / solved, calls == 0 ? null : (double) output / calls,
                    retries, latencies.length == 0 ? null : latencies[(latencies.length - 1) / 2], costNanos / 1e9,
                    false));
        }
        return markPareto(out);
    }

    /**
     * A model is on the frontier when no other model solves at least as many of its tasks for at most its cost per
     * solved task, and strictly better on one of the two. Models that solved nothing are not on it.
     */
    static List<ModelFigures> markPareto(List<ModelFigures> figures) {
        List<ModelFigures> out = new ArrayList<>();
        for (ModelFigures f : figures) {
            boolean dominated = f.costPerSolvedUsd() == null || figures.stream().anyMatch(o -> o != f
                    && o.costPerSolvedUsd() != null
                    && o.passRate() >= f.passRate() && o.costPerSolvedUsd() <= f.costPerSolvedUsd()
                    && (o.passRate() > f.passRate() || o.costPerSolvedUsd() < f.costPerSolvedUsd()));
            out.add(new ModelFigures(f.model(), f.tasks(), f.solved(), f.errors(), f.passRate(), f.passRateLow(),
                    f.passRateHigh(), f.tokensPerSolved(), f.costPerSolvedUsd(), f.meanOutputTokens(), f.retries(),
                    f.p50LatencyMillis(), f.costUsd(), !dominated));
        }
        return out;
    }

    /**
     * One sentence comparing the cheapest and the best model of the frontier, e.g. {@code "sim-large solves 96.0%
     * at $0.001301 per solved task; sim-small 78.0% at $0.000083: 15.7× the cost for 18.0 points."}.
     */
    static String summary(List<ModelFigures> figures) {
        List<ModelFigures> frontier = figures.stream().filter(ModelFigures::pareto)
                .sorted(Comparator.comparingDouble(ModelFigures::costPerSolvedUsd)).toList();
        if (frontier.isEmpty()) {
            return "No model solved a task.";
        }
        ModelFigures cheap = frontier.get(0);
        ModelFigures best = frontier.get(frontier.size() - 1);
        if (frontier.size() == 1) {
            return String.format(Locale.ROOT, "%s solves %s at %s per solved task: the best on both counts.",
                    cheap.model(), percent(cheap.passRate()), usd(cheap.costPerSolvedUsd()));
        }
        double factor = best.costPerSolvedUsd() / cheap.costPerSolvedUsd();
        return String.format(Locale.ROOT, "%s solves %s at %s per solved task; %s %s at %s: %s× the cost for %.1f points.",
                best.model(), percent(best.passRate()), usd(best.costPerSolvedUsd()), cheap.model(),
                percent(cheap.passRate()), usd(cheap.costPerSolvedUsd()),
                factor >= 10 ? String.format(Locale.ROOT, "%.0f", factor) : String.format(Locale.ROOT, "%.1f", factor),
                100 * (best.passRate() - cheap.passRate()));
    }

    /** The table printed at the end of a run. */
    static String table(List<ModelFigures> figures) {
        String[] head = {"model", "tasks", "solved", "pass rate", "95% interval", "tokens/solved", "$/solved",
            "out tok/call", "retries", "p50 ms", ""};
        List<String[]> rows = new ArrayList<>();
        rows.add(head);
        for (ModelFigures f : figures) {
            rows.add(new String[] {f.model(), String.valueOf(f.tasks()), String.valueOf(f.solved()),
                percent(f.passRate()), "[" + percent(f.passRateLow()) + ", " + percent(f.passRateHigh()) + "]",
                f.tokensPerSolved() == null ? "-" : String.format(Locale.ROOT, "%.0f", f.tokensPerSolved()),
                f.costPerSolvedUsd() == null ? "-" : usd(f.costPerSolvedUsd()),
                f.meanOutputTokens() == null ? "-" : String.format(Locale.ROOT, "%.1f", f.meanOutputTokens()),
                String.valueOf(f.retries()), f.p50LatencyMillis() == null ? "-" : String.valueOf(f.p50LatencyMillis()),
                f.pareto() ? "*" : ""});
        }
        int[] width = new int[head.length];
        for (String[] row : rows) {
            for (int i = 0; i < row.length; i++) {
                width[i] = Math.max(width[i], row[i].length());
            }
        }
        StringBuilder s = new StringBuilder();
        for (String[] row : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < row.length; i++) {
                boolean left = i == 0 || i == 4;
                String cell = row[i];
                String pad = " ".repeat(width[i] - cell.length());
                line.append(i == 0 ? "" : "  ").append(left ? cell + pad : pad + cell);
            }
            s.append(line.toString().stripTrailing()).append('\n');
        }
        if (figures.stream().anyMatch(ModelFigures::pareto)) {
            s.append("* on the cost/quality Pareto frontier (no other model solves more for less)\n");
        }
        return s.toString();
    }

    static void json(ObjectNode into, List<ModelFigures> figures) {
        ArrayNode array = into.putArray("models");
        for (ModelFigures f : figures) {
            ObjectNode o = array.addObject();
            o.put("model", f.model());
            o.put("tasks", f.tasks());
            o.put("solved", f.solved());
            o.put("errors", f.errors());
            number(o, "pass_rate", f.passRate());
            number(o, "pass_rate_low", f.passRateLow());
            number(o, "pass_rate_high", f.passRateHigh());
            number(o, "tokens_per_solved", f.tokensPerSolved());
            number(o, "cost_per_solved_usd", f.costPerSolvedUsd());
            number(o, "mean_output_tokens", f.meanOutputTokens());
            o.put("retries", f.retries());
            if (f.p50LatencyMillis() == null) {
                o.putNull("p50_latency_ms");
            } else {
                o.put("p50_latency_ms", f.p50LatencyMillis());
            }
            number(o, "cost_usd", f.costUsd());
            o.put("pareto", f.pareto());
        }
    }

    private static void number(ObjectNode o, String name, Double value) {
        if (value == null || !Double.isFinite(value)) {
            o.putNull(name);
        } else {
            o.put(name, value);
        }
    }

    static String percent(double rate) {
        return Double.isFinite(rate) ? String.format(Locale.ROOT, "%.1f%%", 100 * rate) : "-";
    }

    static String usd(double usd) {
        return usd >= 0.01 ? String.format(Locale.ROOT, "$%.4f", usd) : String.format(Locale.ROOT, "$%.6f", usd);
    }

    @Override
    public synchronized String toString() {
        return "EvalReport" + Arrays.toString(models.toArray());
    }
}
