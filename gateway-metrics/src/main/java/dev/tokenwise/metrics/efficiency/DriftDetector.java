package dev.tokenwise.metrics.efficiency;

import dev.tokenwise.core.model.ModelPrice;
import dev.tokenwise.core.spi.PriceCatalog;
import dev.tokenwise.metrics.ledger.DriftBucket;
import dev.tokenwise.metrics.ledger.PriceBucket;
import dev.tokenwise.metrics.ledger.TaskLedger;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Notices when a model "got dumber" or quietly dearer: compares each model's recent window of tasks with a
 * baseline window, from the ledger's daily buckets, and opens or closes alerts in an {@link AlertBook}.
 *
 * <p>A figure raises an alert only when its change passes a threshold <em>and</em> is statistically
 * significant ({@code p < maxPValue}, default 0.01, two-sided), so that a large swing on a handful of tasks is
 * not an alert and a tiny but certain change on millions is not either:
 *
 * <table>
 *   <caption>figures and tests</caption>
 *   <tr><th>figure</th><th>alert when</th><th>test</th></tr>
 *   <tr><td>success_rate</td><td>falls by ≥ {@code minRateChange}</td><td>two-proportion z-test</td></tr>
 *   <tr><td>retry_rate, truncation_rate</td><td>rises by ≥ {@code minRateChange}</td><td>two-proportion z-test</td></tr>
 *   <tr><td>mean_output_tokens</td><td>moves by ≥ {@code minRelativeChange} either way</td><td>Welch's t-test</td></tr>
 *   <tr><td>tokens_per_success</td><td>rises by ≥ {@code minRelativeChange}</td><td>z-test of a ratio, delta-method variances</td></tr>
 *   <tr><td>cost_per_success ({@code effective_price_drift})</td><td>rises by ≥ {@code minRelativeChange} while the price
 *       index moved by at most {@code priceTolerance}</td><td>z-test of a ratio, delta-method variances</td></tr>
 * </table>
 *
 * <p>The price index of a window is what its calls cost divided by what the same tokens cost at the catalog's
 * current list price; when it is the same in both windows, the per-token prices did not change and a higher
 * cost per success is an <em>effective</em> price rise (more tokens, more retries or fewer successes). Without
 * a list price for a model that alert is not raised. Alerts close when a later {@link #check} no longer flags
 * them (also when a window no longer has enough samples). Definitions in {@code docs/efficiency.md}.
 *
 * <p>{@link #check} reads the ledger: run it on a scheduler or worker thread, never on an event loop.
 *
 * <pre>{@code
 * DriftDetector drift = new DriftDetector(ledger.tasks(), alerts, priceCatalog, DriftSettings.DEFAULTS);
 * drift.schedule(scheduler, Duration.ofMinutes(15), System::currentTimeMillis);
 * }</pre>
 */
public final class DriftDetector {
    private static final Logger log = LoggerFactory.getLogger(DriftDetector.class);

    private final TaskLedger tasks;
    private final AlertBook alerts;
    private final PriceCatalog prices;
    private final DriftSettings settings;
    private volatile List<DriftFinding> lastFindings = List.of();

    /**
     * @param prices the current list prices (for {@code effective_price_drift}), or {@code null} to leave that
     *     alert out
     */
    public DriftDetector(TaskLedger tasks, AlertBook alerts, PriceCatalog prices, DriftSettings settings) {
        this.tasks = Objects.requireNonNull(tasks, "tasks");
        this.alerts = Objects.requireNonNull(alerts, "alerts");
        this.prices = prices;
        this.settings = Objects.requireNonNull(settings, "settings");
    }

    /**
     * Compares the windows ending today (UTC day of {@code nowMillis}), opens the alerts of flagged figures,
     * closes the others, and returns every finding.
     */
    public List<DriftFinding> check(long nowMillis) {
        long today = Math.floorDiv(nowMillis, TaskLedger.DAY_MILLIS);
        long recentFirstDay = today - settings.recentDays() + 1;
        long baselineFirstDay = recentFirstDay - settings.baselineDays();
        long from = baselineFirstDay * TaskLedger.DAY_MILLIS;
        long to = (today + 1) * TaskLedger.DAY_MILLIS;
        List<DriftFinding> findings = evaluate(tasks.driftBuckets(from, to), tasks.priceBuckets(from, to),
                recentFirstDay);
        Set<Alert.Key> flagged = new HashSet<>();
        for (DriftFinding f : findings) {
            if (f.flagged()) {
                alerts.open(f.type(), Alert.Scope.MODEL, f.model(), f.metric(), f.message(), f.recent(), f.threshold());
                flagged.add(new Alert.Key(f.type(), Alert.Scope.MODEL, f.model(), f.metric()));
            }
        }
        alerts.closeUnless(AlertType.QUALITY_DRIFT, flagged::contains);
        alerts.closeUnless(AlertType.EFFECTIVE_PRICE_DRIFT, flagged::contains);
        alerts.expire(nowMillis);
        lastFindings = findings;
        return findings;
    }

    /** The findings of the last {@link #check}, for the dashboard. */
    public List<DriftFinding> lastFindings() {
        return lastFindings;
    }

    /**
     * Runs {@link #check} every {@code every} on {@code scheduler} (first run after one period); a failing
     * check (e.g. the ledger cannot be read) is logged and retried at the next period.
     */
    public ScheduledFuture<?> schedule(ScheduledExecutorService scheduler, Duration every, LongSupplier clockMillis) {
        long millis = every.toMillis();
        return scheduler.scheduleWithFixedDelay(() -> {
            try {
                check(clockMillis.getAsLong());
            } catch (Throwable e) {
                // An Error too: a periodic task that throws is never run again.
                log.warn("Drift check failed: {}", e.getMessage(), e);
            }
        }, millis, millis, TimeUnit.MILLISECONDS);
    }

    /** Compares the days before {@code recentFirstDay} (baseline) with those from it (recent), per model. */
    List<DriftFinding> evaluate(List<DriftBucket> buckets, List<PriceBucket> priceBuckets, long recentFirstDay) {
        Map<String, Window[]> byModel = new TreeMap<>();
        for (DriftBucket b : buckets) {
            if (b.model() != null) {
                windows(byModel, b.model())[b.epochDay() >= recentFirstDay ? 1 : 0].add(b);
            }
        }
        for (PriceBucket p : priceBuckets) {
            if (p.model() != null) {
                windows(byModel, p.model())[p.epochDay() >= recentFirstDay ? 1 : 0].add(p);
            }
        }
        List<DriftFinding> findings = new ArrayList<>();
        for (Map.Entry<String, Window[]> e : byModel.entrySet()) {
            String model = e.getKey();
            Window base = e.getValue()[0];
            Window recent = e.getValue()[1];
            findings.add(rate(model, "success_rate", "success rate", base.succeeded, base.judged, recent.succeeded,
                    recent.judged, settings.minTasks(), -1, "tasks"));
            findings.add(rate(model, "retry_rate", "retry rate", base.retries, base.calls, recent.retries,
                    recent.calls, settings.minCalls(), +1, "calls"));
            findings.add(rate(model, "truncation_rate", "truncation rate", base.truncated, base.calls,
                    recent.truncated, recent.calls, settings.minCalls(), +1, "calls"));
            findings.add(meanOutputTokens(model, base, recent));
            findings.add(perSuccess(model, AlertType.QUALITY_DRIFT, "tokens_per_success", "tokens per success",
                    base.judged, base.tokens, base.tokensSquared, base.succeededTokens, base.succeeded,
                    recent.judged, recent.tokens, recent.tokensSquared, recent.succeededTokens, recent.succeeded,
                    true, ""));
            findings.add(costPerSuccess(model, base, recent));
        }
        return findings;
    }

    private static Window[] windows(Map<String, Window[]> byModel, String model) {
        return byModel.computeIfAbsent(model, m -> new Window[] {new Window(), new Window()});
    }

    /** A rate that raises an alert when it moves by {@code minRateChange} in {@code direction} (+1 up, -1 down). */
    private DriftFinding rate(String model, String metric, String words, long x1, long n1, long x2, long n2,
                              int minSamples, int direction, String unit) {
        double baseline = n1 == 0 ? Double.NaN : (double) x1 / n1;
        double recent = n2 == 0 ? Double.NaN : (double) x2 / n2;
        double threshold = baseline + direction * settings.minRateChange();
        boolean tested = n1 >= minSamples && n2 >= minSamples;
        double p = tested ? Significance.twoProportions(x1, n1, x2, n2) : 1;
        boolean flagged = tested && direction * (recent - baseline) >= settings.minRateChange() - 1e-12
                && p < settings.maxPValue();
        String message = describe(model, words, percent(baseline), percent(recent), n1, n2, unit, p, tested);
        return new DriftFinding(model, AlertType.QUALITY_DRIFT, metric, baseline, recent, threshold, n1, n2, p,
                tested, flagged, message);
    }

    private DriftFinding meanOutputTokens(String model, Window base, Window recent) {
        double baseline = base.calls == 0 ? Double.NaN : (double) base.outputTokens / base.calls;
        double now = recent.calls == 0 ? Double.NaN : (double) recent.outputTokens / recent.calls;
        boolean tested = base.calls >= settings.minCalls() && recent.calls >= settings.minCalls();
        double p = tested ? Significance.welch(base.calls, base.outputTokens, base.outputTokensSquared, recent.calls,
                recent.outputTokens, recent.outputTokensSquared) : 1;
        double change = relative(baseline, now);
        double threshold = baseline * (1 + Math.signum(change) * settings.minRelativeChange());
        boolean flagged = tested && Math.abs(change) >= settings.minRelativeChange() && p < settings.maxPValue();
        String message = describe(model, "mean output tokens", number(baseline), number(now), base.calls,
                recent.calls, "calls", p, tested);
        return new DriftFinding(model, AlertType.QUALITY_DRIFT, "mean_output_tokens", baseline, now, threshold,
                base.calls, recent.calls, p, tested, flagged, message);
    }

    private DriftFinding costPerSuccess(String model, Window base, Window recent) {
        Optional<ModelPrice> price = prices == null ? Optional.empty() : prices.find(model);
        double baseIndex = price.map(base::priceIndex).orElse(Double.NaN);
        double recentIndex = price.map(recent::priceIndex).orElse(Double.NaN);
        boolean pricesKnown = !Double.isNaN(baseIndex) && !Double.isNaN(recentIndex);
        boolean pricesUnchanged = pricesKnown && Math.abs(recentIndex / baseIndex - 1) <= settings.priceTolerance();
        String note = !pricesKnown ? "; no list price to tell a price change from an effective one"
                : pricesUnchanged ? String.format(Locale.ROOT, "; per-token prices unchanged (price index %.4f → %.4f)",
                        baseIndex, recentIndex)
                : String.format(Locale.ROOT, "; per-token prices changed (price index %.4f → %.4f)", baseIndex, recentIndex);
        return perSuccess(model, AlertType.EFFECTIVE_PRICE_DRIFT, "cost_per_success", "cost per success (nano-USD)",
                base.judged, base.costNanos, base.costSquared, base.succeededCostNanos, base.succeeded,
                recent.judged, recent.costNanos, recent.costSquared, recent.succeededCostNanos, recent.succeeded,
                pricesUnchanged, note);
    }

    /** A per-success ratio ({@code Σ over judged tasks ÷ succeeded}) that raises an alert when it rises. */
    private DriftFinding perSuccess(String model, AlertType type, String metric, String words, long n1, double y1,
                                    double yy1, double ys1, long s1, long n2, double y2, double yy2, double ys2,
                                    long s2, boolean precondition, String note) {
        double baseline = s1 == 0 ? Double.NaN : y1 / s1;
        double recent = s2 == 0 ? Double.NaN : y2 / s2;
        boolean tested = n1 >= settings.minTasks() && n2 >= settings.minTasks() && s1 > 0 && s2 > 0;
        double p = tested ? Significance.zTest(baseline, Significance.ratioVariance(n1, y1, yy1, ys1, s1, s1),
                recent, Significance.ratioVariance(n2, y2, yy2, ys2, s2, s2)) : 1;
        double threshold = baseline * (1 + settings.minRelativeChange());
        boolean flagged = tested && precondition && relative(baseline, recent) >= settings.minRelativeChange()
                && p < settings.maxPValue();
        String message = describe(model, words, number(baseline), number(recent), n1, n2, "judged tasks", p, tested)
                + note;
        return new DriftFinding(model, type, metric, baseline, recent, threshold, n1, n2, p, tested, flagged, message);
    }

    private String describe(String model, String words, String baseline, String recent, long n1, long n2,
                            String unit, double p, boolean tested) {
        return String.format(Locale.ROOT, "%s: %s %s → %s (%d-day baseline, %d %s; last %d days, %d %s; %s)", model,
                words, baseline, recent, settings.baselineDays(), n1, unit, settings.recentDays(), n2, unit,
                tested ? String.format(Locale.ROOT, "p = %.2g", p) : "too few samples to test");
    }

    private static double relative(double baseline, double recent) {
        if (Double.isNaN(baseline) || Double.isNaN(recent)) {
            return Double.NaN;
        }
        if (baseline == 0) {
            return recent == 0 ? 0 : Double.POSITIVE_INFINITY;
        }
        return (recent - baseline) / baseline;
    }

    private static String percent(double rate) {
        return Double.isNaN(rate) ? "n/a" : String.format(Locale.ROOT, "%.1f%%", rate * 100);
    }

    private static String number(double value) {
        return Double.isNaN(value) ? "n/a" : String.format(Locale.ROOT, "%.1f", value);
    }

    /** The sums of one model over one window. */
    private static final class Window {
        long judged;
        long succeeded;
        long calls;
        long retries;
        long truncated;
        long outputTokens;
        double outputTokensSquared;
        double tokens;
        double tokensSquared;
        double succeededTokens;
        double costNanos;
        double costSquared;
        double succeededCostNanos;
        // priced calls, by the call's own model
        long pricedCostNanos;
        long uncachedInput;
        long cachedInput;
        long cacheWrite;
        long plainOutput;
        long reasoning;

        void add(DriftBucket b) {
            judged += b.judged();
            succeeded += b.succeeded();
            calls += b.calls();
            retries += b.retries();
            truncated += b.truncated();
            outputTokens += b.outputTokens();
            outputTokensSquared += b.outputTokensSquared();
            tokens += b.judgedTokens();
            tokensSquared += b.judgedTokensSquared();
            succeededTokens += b.succeededTokens();
            costNanos += b.judgedCostNanos();
            costSquared += b.judgedCostSquared();
            succeededCostNanos += b.succeededCostNanos();
        }

        void add(PriceBucket p) {
            pricedCostNanos += p.costNanos();
            uncachedInput += p.uncachedInputTokens();
            cachedInput += p.cachedInputTokens();
            cacheWrite += p.cacheWriteTokens();
            plainOutput += p.plainOutputTokens();
            reasoning += p.reasoningTokens();
        }

        /** What the priced calls cost ÷ what their tokens cost at {@code price}; NaN without priced calls. */
        double priceIndex(ModelPrice price) {
            double listNanos = ((double) uncachedInput * price.inputNanosPerMtok()
                    + (double) cachedInput * price.cachedInputNanosPerMtok()
                    + (double) cacheWrite * price.cacheWriteNanosPerMtok()
                    + (double) plainOutput * price.outputNanosPerMtok()
                    + (double) reasoning * price.reasoningNanosPerMtok()) / 1e6;
            return listNanos > 0 && pricedCostNanos > 0 ? pricedCostNanos / listNanos : Double.NaN;
        }
    }
}
