package dev.tokenwise.metrics.efficiency;

import dev.tokenwise.core.model.CallStatus;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.RequestFeature;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.metrics.ledger.AuditStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Compares the tokens providers bill with the tokens the gateway counted itself, call by call.
 *
 * <ul>
 *   <li><b>Audit</b> (models with an exact local tokenizer): for every call whose usage came from the provider, the
 *       difference {@code provider − local} is kept, per model, endpoint, side and group of {@link RequestFeature}s
 *       (tools, images, system prompt, JSON schema, tool history, ...), with whether the local count was exact, in a
 *       window of the last {@code auditWindow} calls ({@link DifferenceWindow}). Input compares {@code input_tokens}
 *       with the local input count; output compares {@code output_tokens − reasoning_tokens −
 *       rejected_prediction_tokens} (what the answer's text shows) with the local output count, for calls that
 *       completed ({@code ok}) and did not end in tool calls, nor had a forced {@code tool_choice} (whose answer is a
 *       tool call that ends with {@code stop}). A chat answer that ends with {@code stop} is billed one token more than
 *       its text, the end of the message (OpenAI's published examples: "Hello! How can I assist you today?" is 9
 *       tokens of o200k and {@code completion_tokens: 10}): that one is exact, compared with the local count plus one;
 *       other answers (cut by the limit, several choices, other endpoints) are estimated.
 *       A group's <em>baseline</em> is no difference at all for exact counts, and its first
 *       {@code auditBaselineCalls} calls for estimated ones. A {@link AlertType#BILLING_DISCREPANCY} opens when, over
 *       at least {@code auditMinCalls} calls, the share of calls that differ rises above the baseline by
 *       {@code auditShareShift} (judged on its lower confidence bound), or the median relative difference moves by
 *       {@code auditThreshold}; the message names the group's features, the median and the share, and the feature
 *       most likely at fault (the group's features that no matching group shares). It is one finding: the alert is
 *       not touched again while its figures hold, only when they move by as much again, and it closes when both
 *       figures are back within half their thresholds.</li>
 *   <li><b>Calibration</b> (models without one): the provider/local ratio is learnt per model with an
 *       exponentially weighted moving average of provider tokens and of local tokens per call, so that an
 *       estimate can be corrected ({@link #calibration}).</li>
 *   <li><b>Token inflation</b>: every call is also handed to a {@link TokenInflation}, when there is one.</li>
 * </ul>
 * The windows survive a restart when the audit is {@linkplain #restore restored} from an {@link AuditStore}: it saves
 * them there every minute ({@link #schedule}) and when the ledger closes.
 *
 * <p>Implementation note: {@link #observe} runs on one thread (the record dispatcher). Each window is guarded by its
 * own monitor (readers are API and scheduler threads); the figures (two sorts of a copy of the window) are taken every
 * few calls rather than at each, and alerts are opened or closed outside the monitor. A calibration is an immutable
 * {@link Calibration} replaced on every sample, so {@link #calibration} is a lock-free map read, cheap enough for the
 * hot path.
 *
 * <pre>{@code
 * BillingAudit audit = new BillingAudit(counter::isExact, alerts, EfficiencySettings.DEFAULTS, inflation);
 * audit.restore(ledger.audit());
 * audit.schedule(scheduler, Duration.ofMinutes(1), Duration.ofMinutes(15), System::currentTimeMillis);
 * }</pre>
 */
public final class BillingAudit {
    private static final Logger log = LoggerFactory.getLogger(BillingAudit.class);
    /** The most windows kept (models × sides × feature groups); beyond it new groups are not audited. */
    static final int MAX_WINDOWS = 4096;

    /**
     * What a model's tokenizer is worth: {@code provider ≈ local × ratio}.
     *
     * @param inputRatio the EWMA of provider input tokens over the EWMA of local input tokens; NaN before a sample
     * @param outputRatio the same for output tokens
     * @param samples the calls learnt from
     */
    public record Calibration(String model, double inputRatio, double outputRatio, long samples) {
    }

    /**
     * The audit of one group of an exactly tokenized model's calls.
     *
     * @param endpoint the endpoint the calls went to
     * @param side {@code input} or {@code output}
     * @param features the {@link RequestFeature}s the group's calls had
     * @param exact whether the group's local counts were exact
     * @param calls calls in the window
     * @param differing calls whose provider count differs from the local one
     * @param medianTokens the median of {@code provider − local}, in tokens
     * @param medianRelative the median of {@code (provider − local) ÷ local}
     * @param baselineShare the expected share of differing calls (0 for exact counts), NaN until learnt
     * @param baselineMedian the expected median relative difference, NaN until learnt
     * @param finding whether a discrepancy is open for the group
     */
    public record Group(String model, Endpoint endpoint, String side, int features, boolean exact, int calls,
                        int differing,
                        long medianTokens, double medianRelative, double baselineShare, double baselineMedian,
                        boolean finding) {
        /**
         * The alert's metric: {@code input_tokens}, {@code input_tokens:tools+system_prompt}, ... {@code :estimated};
         * prefixed with the endpoint for other endpoints than chat completions ({@code responses:output_tokens}).
         */
        public String metric() {
            return BillingAudit.metric(endpoint, side, features, exact);
        }

        public double share() {
            return calls == 0 ? 0 : (double) differing / calls;
        }
    }

    private enum Side {
        INPUT, OUTPUT;

        String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private record GroupKey(String model, Endpoint endpoint, Side side, int features, boolean exact) {
    }

    private enum Change { NONE, OPEN, UPDATE, CLOSE }

    private record Verdict(Change change, DifferenceWindow.Figures figures, double value, double threshold,
                           double baselineShare, double baselineMedian) {
    }

    private final Predicate<String> exactModels;
    private final AlertBook alerts;
    private final EfficiencySettings settings;
    private final TokenInflation inflation;
    private final Map<GroupKey, DifferenceWindow> windows = new ConcurrentHashMap<>();
    private final Map<String, Ewma> ewmas = new ConcurrentHashMap<>();
    private final Map<String, Calibration> calibrations = new ConcurrentHashMap<>();
    private volatile AuditStore store;
    private volatile boolean full;

    /**
     * @param exactModels which models have an exact local tokenizer ({@code TokenCounter::isExact})
     */
    public BillingAudit(Predicate<String> exactModels, AlertBook alerts, EfficiencySettings settings) {
        this(exactModels, alerts, settings, null);
    }

    /**
     * @param exactModels which models have an exact local tokenizer ({@code TokenCounter::isExact})
     * @param inflation follows tokens per byte of every model, or {@code null}
     */
    public BillingAudit(Predicate<String> exactModels, AlertBook alerts, EfficiencySettings settings,
                        TokenInflation inflation) {
        this.exactModels = Objects.requireNonNull(exactModels, "exactModels");
        this.alerts = Objects.requireNonNull(alerts, "alerts");
        this.settings = Objects.requireNonNull(settings, "settings");
        this.inflation = inflation;
    }

    /** Takes one finished call into account. Called on one thread. */
    public void observe(UsageRecord r) {
        if (!r.usageFromProvider() || r.model() == null || r.cacheHit()) {
            return; // a cache hit repeats the usage of the call it was answered from: no new evidence
        }
        if (inflation != null) {
            inflation.observe(r);
        }
        long providerInput = r.usage().inputTokens();
        // What the answer's text shows: no reasoning, no rejected prediction.
        long providerOutput = Math.max(0, r.usage().outputTokens() - r.usage().reasoningTokens()
                - r.rejectedPredictionTokens());
        boolean input = r.localInputTokens() > 0;
        boolean output = r.localOutputTokens() > 0 && r.status() == CallStatus.OK
                && !"tool_calls".equals(r.finishReason()) && !"function_call".equals(r.finishReason())
                && !r.has(RequestFeature.TOOL_CHOICE_FORCED);
        if (!input && !output) {
            return;
        }
        if (exactModels.test(r.model())) {
            if (input) {
                sample(new GroupKey(r.model(), r.endpoint(), Side.INPUT, r.requestFeatures(), !r.localEstimated()),
                        providerInput, r.localInputTokens());
            }
            if (output) {
                // A chat answer that ended by itself is billed its text and one token ending the message.
                boolean exact = r.endpoint() == Endpoint.CHAT_COMPLETIONS && "stop".equals(r.finishReason())
                        && !r.has(RequestFeature.SEVERAL_CHOICES);
                sample(new GroupKey(r.model(), r.endpoint(), Side.OUTPUT, r.requestFeatures(), exact), providerOutput,
                        r.localOutputTokens() + (exact ? 1 : 0));
            }
        } else {
            Ewma e = ewmas.computeIfAbsent(r.model(), m -> new Ewma());
            if (input) {
                e.inputProvider = e.step(e.inputProvider, providerInput, e.inputSamples);
                e.inputLocal = e.step(e.inputLocal, r.localInputTokens(), e.inputSamples);
                e.inputSamples++;
            }
            if (output) {
                e.outputProvider = e.step(e.outputProvider, providerOutput, e.outputSamples);
                e.outputLocal = e.step(e.outputLocal, r.localOutputTokens(), e.outputSamples);
                e.outputSamples++;
            }
            calibrations.put(r.model(), new Calibration(r.model(),
                    e.inputSamples == 0 ? Double.NaN : e.inputProvider / e.inputLocal,
                    e.outputSamples == 0 ? Double.NaN : e.outputProvider / e.outputLocal,
                    Math.max(e.inputSamples, e.outputSamples)));
        }
    }

    private void sample(GroupKey key, long provider, long local) {
        DifferenceWindow w = window(key);
        if (w == null) {
            return;
        }
        Verdict verdict;
        synchronized (w) {
            w.add(provider, local);
            verdict = judge(w);
        }
        if (verdict.change() != Change.NONE) {
            report(key, verdict);
        }
    }

    private DifferenceWindow window(GroupKey key) {
        DifferenceWindow w = windows.get(key);
        if (w != null) {
            return w;
        }
        if (windows.size() >= MAX_WINDOWS) {
            if (!full) {
                full = true;
                log.warn("Billing audit: {} groups of calls are audited already; new groups are not", MAX_WINDOWS);
            }
            return null;
        }
        return windows.computeIfAbsent(key, k -> k.exact()
                ? DifferenceWindow.exact(settings.auditWindow()) : new DifferenceWindow(settings.auditWindow()));
    }

    /**
     * Decides whether the window's finding opens, moves or closes. The share of differing calls is known at once, so a
     * rise of it is judged at every call; the medians need a selection over the window, so the rest is judged every
     * few calls: every call while the window fills, then every sixteenth of the window, at most every 64 calls. A
     * median moves only once about half the window has changed, so this delays a finding by a small part of the
     * calls it takes to show. Holding {@code w}.
     */
    private Verdict judge(DifferenceWindow w) {
        int every = w.size() < 2 * settings.auditMinCalls() ? 1 : Math.max(1, Math.min(64, settings.auditWindow() / 16));
        boolean shareRose = w.reported == null && w.hasBaseline() && w.size() >= settings.auditMinCalls()
                && DifferenceWindow.shareLowerBound(w.differing(), w.size()) - w.baselineShare >= settings.auditShareShift();
        if (w.sinceCheck < every && !shareRose) {
            return new Verdict(Change.NONE, null, 0, 0, 0, 0);
        }
        w.sinceCheck = 0;
        DifferenceWindow.Figures f = w.figures();
        if (!w.hasBaseline()) {
            if (f.calls() >= settings.auditBaselineCalls()) {
                w.learnBaseline(f);
            }
            return new Verdict(Change.NONE, f, 0, 0, 0, 0);
        }
        if (f.calls() < settings.auditMinCalls()) {
            return new Verdict(Change.NONE, f, 0, 0, 0, 0);
        }
        double shareRise = DifferenceWindow.shareLowerBound(f.differing(), f.calls()) - w.baselineShare;
        double medianShift = f.medianRelative() - w.baselineMedian;
        boolean byShare = shareRise >= settings.auditShareShift();
        boolean byMedian = Math.abs(medianShift) >= settings.auditThreshold();
        double value = byShare || !byMedian ? f.share() : f.medianRelative();
        double threshold = byShare || !byMedian ? w.baselineShare + settings.auditShareShift()
                : w.baselineMedian + Math.copySign(settings.auditThreshold(), medianShift);
        if (w.reported == null) {
            if (byShare || byMedian) {
                w.reported = f;
                return new Verdict(Change.OPEN, f, value, threshold, w.baselineShare, w.baselineMedian);
            }
            return new Verdict(Change.NONE, f, 0, 0, 0, 0);
        }
        boolean holds = f.share() - w.baselineShare >= settings.auditShareShift() / 2
                || Math.abs(medianShift) >= settings.auditThreshold() / 2;
        if (!holds) {
            w.reported = null;
            return new Verdict(Change.CLOSE, f, 0, 0, 0, 0);
        }
        boolean moved = Math.abs(f.medianRelative() - w.reported.medianRelative()) >= settings.auditThreshold()
                || Math.abs(f.share() - w.reported.share()) >= settings.auditShareShift();
        if (moved) {
            w.reported = f;
            return new Verdict(Change.UPDATE, f, value, threshold, w.baselineShare, w.baselineMedian);
        }
        return new Verdict(Change.NONE, f, 0, 0, 0, 0);
    }

    private void report(GroupKey key, Verdict v) {
        String metric = metric(key.endpoint(), key.side().label(), key.features(), key.exact());
        if (v.change() == Change.CLOSE) {
            alerts.close(AlertType.BILLING_DISCREPANCY, Alert.Scope.MODEL, key.model(), metric);
            return;
        }
        alerts.open(AlertType.BILLING_DISCREPANCY, Alert.Scope.MODEL, key.model(), metric, message(key, v), v.value(),
                v.threshold());
    }

    /**
     * For example: {@code gpt-4o-mini: on calls with tools, system prompt the provider billed more input tokens than the
     * gateway counted: median +7 tokens (+1.75%) a call; 100.0% of the last 120 calls differ (an exact count: none
     * should), by a median of +7 tokens (+1.75%). Likely cause: tools (calls with system prompt match).}
     */
    private String message(GroupKey key, Verdict v) {
        DifferenceWindow.Figures f = v.figures();
        String where = key.features() == 0 ? "plain text calls" : "calls with " + RequestFeature.describe(key.features());
        long sign = f.medianTokens() != 0 ? f.medianTokens() : f.differingMedianTokens();
        String direction = sign > 0 ? "more" : sign < 0 ? "fewer" : "a different number of";
        String expected = key.exact() ? "an exact count: none should"
                : String.format(Locale.ROOT, "an estimated count; baseline: median %+.2f%%, %.1f%% differ",
                v.baselineMedian() * 100, v.baselineShare() * 100);
        return String.format(Locale.ROOT, "%s: on %s the provider billed %s %s tokens than the gateway counted: "
                        + "median %+d tokens (%+.2f%%) a call; %.1f%% of the last %d calls differ (%s), by a median of "
                        + "%+d tokens (%+.2f%%). %s",
                key.model(), where, direction, key.side().label(), f.medianTokens(), f.medianRelative() * 100,
                f.share() * 100, f.calls(), expected, f.differingMedianTokens(), f.differingMedianRelative() * 100,
                cause(key));
    }

    /**
     * The features of the group that no matching group of the same model and side has: those groups show that their
     * features are counted right, so the difference comes from the others.
     */
    private String cause(GroupKey key) {
        int cleared = 0;
        boolean plainMatches = false;
        for (Map.Entry<GroupKey, DifferenceWindow> e : windows.entrySet()) {
            GroupKey other = e.getKey();
            if (other.equals(key) || !other.model().equals(key.model()) || other.endpoint() != key.endpoint()
                    || other.side() != key.side()) {
                continue;
            }
            DifferenceWindow w = e.getValue();
            synchronized (w) {
                if (w.size() >= settings.auditMinCalls() && w.hasBaseline() && w.reported == null) {
                    cleared |= other.features();
                    plainMatches |= other.features() == 0;
                }
            }
        }
        if (key.features() == 0) {
            return "Plain text differs: the model's tokenizer or the provider's accounting changed.";
        }
        int suspects = key.features() & ~cleared;
        int matching = key.features() & cleared;
        if (suspects == 0) {
            return "Each of these features is counted right on other calls: their combination, or the text, differs.";
        }
        String alone = matching != 0 ? " (calls with " + RequestFeature.describe(matching) + " match)"
                : plainMatches ? " (plain text calls match)" : "";
        return "Likely cause: " + RequestFeature.describe(suspects) + alone + ".";
    }

    static String metric(Endpoint endpoint, String side, int features, boolean exact) {
        StringBuilder s = new StringBuilder();
        if (endpoint != Endpoint.CHAT_COMPLETIONS) {
            s.append(endpoint.name().toLowerCase(Locale.ROOT)).append(':');
        }
        s.append(side).append("_tokens");
        List<RequestFeature> set = RequestFeature.of(features);
        for (int i = 0; i < set.size(); i++) {
            s.append(i == 0 ? ':' : '+').append(set.get(i).key());
        }
        if (!exact) {
            s.append(":estimated");
        }
        return s.toString();
    }

    /** The learnt provider/local ratios of a model without an exact tokenizer, once it has a sample. */
    public Optional<Calibration> calibration(String model) {
        return Optional.ofNullable(calibrations.get(model));
    }

    /** The audited groups of an exactly tokenized model, input first, by features. */
    public List<Group> groups(String model) {
        List<Group> groups = new ArrayList<>();
        for (Map.Entry<GroupKey, DifferenceWindow> e : windows.entrySet()) {
            GroupKey k = e.getKey();
            if (!k.model().equals(model)) {
                continue;
            }
            DifferenceWindow w = e.getValue();
            synchronized (w) {
                DifferenceWindow.Figures f = w.figures();
                groups.add(new Group(k.model(), k.endpoint(), k.side().label(), k.features(), k.exact(), f.calls(),
                        f.differing(),
                        f.medianTokens(), f.medianRelative(), w.baselineShare, w.baselineMedian, w.reported != null));
            }
        }
        groups.sort(Comparator.comparing(Group::endpoint).thenComparing(Group::side).thenComparingInt(Group::features)
                .thenComparing(g -> !g.exact()));
        return groups;
    }

    /** The group of {@code model}'s chat completions with these features, if it has had a call. */
    public Optional<Group> group(String model, String side, int features, boolean exact) {
        return group(model, Endpoint.CHAT_COMPLETIONS, side, features, exact);
    }

    /** The group of {@code model}'s calls to {@code endpoint} with these features, if it has had a call. */
    public Optional<Group> group(String model, Endpoint endpoint, String side, int features, boolean exact) {
        return groups(model).stream()
                .filter(g -> g.endpoint() == endpoint && g.side().equals(side) && g.features() == features
                        && g.exact() == exact)
                .findFirst();
    }

    /** How many of a model's exactly counted calls in the windows differ from the provider's count, for one side. */
    public record Share(String model, String side, long calls, long differing) {
    }

    /** Per model and side, the exactly counted calls of all its groups' windows and how many of them differ. */
    public List<Share> exactShares() {
        Map<String, long[]> sums = new java.util.TreeMap<>();
        for (Map.Entry<GroupKey, DifferenceWindow> e : windows.entrySet()) {
            GroupKey k = e.getKey();
            if (!k.exact()) {
                continue;
            }
            DifferenceWindow w = e.getValue();
            long[] sum = sums.computeIfAbsent(k.model() + '\u0000' + k.side().label(), x -> new long[2]);
            synchronized (w) {
                sum[0] += w.size();
                sum[1] += w.differing();
            }
        }
        List<Share> shares = new ArrayList<>(sums.size());
        sums.forEach((key, sum) -> {
            int cut = key.indexOf('\u0000');
            shares.add(new Share(key.substring(0, cut), key.substring(cut + 1), sum[0], sum[1]));
        });
        return shares;
    }

    /** The token inflation follower fed by this audit, or {@code null}. */
    public TokenInflation inflation() {
        return inflation;
    }

    // ---- persistence -----------------------------------------------------------------------------------

    /**
     * Loads the windows (and the token-inflation buckets) saved in {@code store}, and saves into it from now on:
     * {@link #save}, and once more when the ledger closes. Call before the first record.
     */
    public void restore(AuditStore store) {
        Objects.requireNonNull(store, "store");
        for (AuditStore.DifferenceRow row : store.differences()) {
            Side side;
            Endpoint endpoint;
            try {
                side = Side.valueOf(row.side().toUpperCase(Locale.ROOT));
                endpoint = Endpoint.valueOf(row.endpoint());
            } catch (IllegalArgumentException unknown) {
                continue; // written by another version: that window starts afresh
            }
            DifferenceWindow w = window(new GroupKey(row.model(), endpoint, side, row.features(), row.exact()));
            if (w == null) {
                break;
            }
            synchronized (w) {
                int from = Math.max(0, row.diffs().length - settings.auditWindow());
                for (int i = from; i < row.diffs().length; i++) {
                    w.put(row.diffs()[i], row.relativePpm()[i]);
                }
                if (!row.exact() && !Double.isNaN(row.baselineShare())) {
                    w.baselineShare = row.baselineShare();
                    w.baselineMedian = row.baselineMedian();
                }
                w.sinceCheck = Integer.MAX_VALUE / 2; // judged at the next call: a finding that held reopens
                w.dirty = false;
            }
        }
        if (inflation != null) {
            inflation.restore(store);
        }
        this.store = store;
        store.beforeClose(this::save);
    }

    /** Saves the windows that changed since the last save (and the inflation buckets); nothing before {@link #restore}. */
    public void save() {
        AuditStore s = store;
        if (s == null) {
            return;
        }
        List<AuditStore.DifferenceRow> rows = new ArrayList<>();
        for (Map.Entry<GroupKey, DifferenceWindow> e : windows.entrySet()) {
            GroupKey k = e.getKey();
            DifferenceWindow w = e.getValue();
            synchronized (w) {
                if (!w.dirty) {
                    continue;
                }
                rows.add(new AuditStore.DifferenceRow(k.model(), k.endpoint().name(), k.side().label(), k.features(),
                        k.exact(),
                        w.baselineShare, w.baselineMedian, w.diffs(), w.relativePpm()));
                w.dirty = false;
            }
        }
        TokenInflation.Saved buckets = inflation == null ? TokenInflation.Saved.NONE : inflation.dirtyBuckets();
        try {
            s.save(rows, buckets.rows(), buckets.dropBeforeMillis(), System.currentTimeMillis());
        } catch (RuntimeException e) {
            // Saved again at the next turn: mark what was not written as changed.
            for (AuditStore.DifferenceRow row : rows) {
                DifferenceWindow w = windows.get(new GroupKey(row.model(), Endpoint.valueOf(row.endpoint()),
                        Side.valueOf(row.side().toUpperCase(Locale.ROOT)), row.features(), row.exact()));
                if (w != null) {
                    synchronized (w) {
                        w.dirty = true;
                    }
                }
            }
            if (inflation != null) {
                inflation.markDirty(buckets.rows());
            }
            throw e;
        }
    }

    /**
     * Saves every {@code saveEvery} and checks token inflation every {@code checkEvery}, on {@code scheduler} (never
     * an event loop: both touch the ledger). Failures are logged and retried at the next turn.
     */
    public void schedule(ScheduledExecutorService scheduler, Duration saveEvery, Duration checkEvery,
                         LongSupplier clockMillis) {
        scheduler.scheduleWithFixedDelay(() -> {
            try {
                save();
            } catch (RuntimeException e) {
                log.warn("Billing audit: saving failed, retried in {}: {}", saveEvery, e.getMessage());
            }
        }, saveEvery.toMillis(), saveEvery.toMillis(), TimeUnit.MILLISECONDS);
        if (inflation != null) {
            inflation.schedule(scheduler, checkEvery, clockMillis);
        }
    }

    /** EWMA state of one model; written by the observing thread only. */
    private final class Ewma {
        double inputProvider;
        double inputLocal;
        double outputProvider;
        double outputLocal;
        long inputSamples;
        long outputSamples;

        double step(double average, double sample, long samplesBefore) {
            // The first sample starts the average (no bias towards zero).
            return samplesBefore == 0 ? sample : average + settings.calibrationAlpha() * (sample - average);
        }
    }
}
