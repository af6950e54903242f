package dev.tokenwise.metrics.efficiency;

import dev.tokenwise.core.model.ModelPrice;
import dev.tokenwise.core.model.Money;
import dev.tokenwise.core.model.RecordFlag;
import dev.tokenwise.core.model.RequestFeature;
import dev.tokenwise.core.model.TokenUsage;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.spi.PriceCatalog;
import dev.tokenwise.metrics.ledger.AuditStore;
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
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tokenizer inflation: the same text costing more tokens after a provider changes its tokenizer. Per model, follows the
 * provider's input tokens per 1,000 UTF-8 bytes of prompt text ({@link UsageRecord#inputTextBytes()}, known at the
 * gateway for every provider, with or without a local tokenizer) and raises {@link AlertType#TOKEN_INFLATION} when it
 * shifts.
 *
 * <p>The test is windowed: every check compares the calls of the {@code recent} window (default the last 24 hours)
 * with those of the {@code baseline} window before it (default 7 days). Each window's figure is the ratio of sums
 * {@code R = 1000 · Σ tokens ÷ Σ bytes} (longer prompts weigh more, as they do on the invoice); its variance is the
 * delta method's {@code n · Σ(t − R·b)² ÷ ((n − 1) · (Σb)²)}, computed from per-hour sums, counts and sums of squares
 * and products, and the two windows are compared with a two-sided z-test. A change is a finding when it is at least
 * {@code minRelativeChange} (5 %) <em>and</em> {@code p < maxPValue} (10⁻⁶) with {@code minCalls} calls on each side.
 * Under stable traffic (calls independent, from an unchanging mix) one check raises a false alarm with probability at
 * most {@code maxPValue}; with a check every 15 minutes that is at most 2,880 × 10⁻⁶ ≈ 0.3 % per model and month (a
 * union bound; overlapping windows make the true rate lower, and the 5 % floor lower still). A change in the mix of
 * texts (another language, more code) moves tokens per byte too: that is why the floor is there, and why the message
 * gives both figures for a person to judge.
 *
 * <p>The alert on the model gives before and after, sample sizes and p; each team with traffic on the model gets an
 * alert of its own ({@link Alert.Scope#TEAM}, metric {@code input_tokens_per_kb:<model>}) with what the change costs it
 * a month at its traffic of the last {@code trafficWindow} (the input cost of its calls to the model in that period,
 * scaled to 30 days, times the relative change). Every team sees the model's alert, so no figure of another team's
 * traffic is in it. The alerts close at
 * the first check that no longer finds the change at half its threshold: when it reverts, or once the new level fills
 * the baseline window.
 *
 * <p>Calls are left out when their tokens are not the text's: images, audio or files, a provider-kept context
 * ({@link RecordFlag#STORED_CONTEXT}), no provider usage, or no text bytes.
 *
 * <p>Implementation note: {@link #observe} runs on the record dispatcher; {@link #check} and the persistence on a
 * scheduler. Each model's hourly buckets are a {@link TreeMap} guarded by its monitor; a check copies the sums it needs
 * and queries the ledger (team traffic) outside of it.
 */
public final class TokenInflation {
    private static final Logger log = LoggerFactory.getLogger(TokenInflation.class);
    static final long HOUR_MILLIS = 3_600_000L;
    private static final long DAY_MILLIS = 24 * HOUR_MILLIS;
    private static final long MONTH_MILLIS = 30 * DAY_MILLIS;
    private static final int MEDIA = RequestFeature.IMAGES.bit() | RequestFeature.AUDIO.bit() | RequestFeature.FILES.bit();

    /** What each team sent a model over a period (the ledger's {@link AuditStore#teamInput}). */
    @FunctionalInterface
    public interface TeamTraffic {
        List<AuditStore.TeamInput> input(String model, long fromMillis, long toMillis);
    }

    /**
     * One comparison of a model's windows.
     *
     * @param baselinePerKb provider input tokens per 1,000 bytes of prompt text in the baseline window
     * @param recentPerKb the same in the recent window
     * @param change {@code recentPerKb ÷ baselinePerKb − 1}
     * @param p the two-sided p-value of the difference
     */
    public record Shift(String model, long baselineCalls, double baselinePerKb, long recentCalls, double recentPerKb,
                        double change, double p) {
    }

    /** Buckets to save, and the hour before which saved ones are dropped. */
    record Saved(List<AuditStore.InflationRow> rows, long dropBeforeMillis) {
        static final Saved NONE = new Saved(List.of(), Long.MIN_VALUE);
    }

    private static final class Bucket {
        long calls;
        long tokens;
        long bytes;
        double tokensSquared;
        double bytesSquared;
        double tokensBytes;
        boolean dirty;
    }

    private static final class Sums {
        long calls;
        double tokens;
        double bytes;
        double tokensSquared;
        double bytesSquared;
        double tokensBytes;

        void add(Bucket b) {
            calls += b.calls;
            tokens += b.tokens;
            bytes += b.bytes;
            tokensSquared += b.tokensSquared;
            bytesSquared += b.bytesSquared;
            tokensBytes += b.tokensBytes;
        }

        double perKb() {
            return bytes == 0 ? Double.NaN : 1000 * tokens / bytes;
        }

        /** The variance of {@link #perKb} (delta method). */
        double variance() {
            return 1e6 * Significance.ratioVariance(calls, tokens, tokensSquared, tokensBytes, bytes, bytesSquared);
        }
    }

    private final AlertBook alerts;
    private final InflationSettings settings;
    private final PriceCatalog prices;
    private final TeamTraffic traffic;
    private final LongSupplier clockMillis;
    private final Map<String, TreeMap<Long, Bucket>> models = new ConcurrentHashMap<>();
    /** Open alerts, by model (touched by the checking thread only). */
    private final Map<String, Set<String>> teamsAlerted = new ConcurrentHashMap<>();

    /**
     * @param prices the models' prices, to say what a change costs; {@code null} to leave it out
     * @param traffic each team's input on a model, to say what a change costs it; {@code null} to leave it out
     * @param clockMillis the time that decides which saved buckets are still inside the windows
     */
    public TokenInflation(AlertBook alerts, InflationSettings settings, PriceCatalog prices, TeamTraffic traffic,
                          LongSupplier clockMillis) {
        this.alerts = Objects.requireNonNull(alerts, "alerts");
        this.settings = Objects.requireNonNull(settings, "settings");
        this.prices = prices;
        this.traffic = traffic;
        this.clockMillis = Objects.requireNonNull(clockMillis, "clockMillis");
    }

    /** Takes one finished call into account. Called on one thread. */
    public void observe(UsageRecord r) {
        long tokens = r.usage().inputTokens();
        long bytes = r.inputTextBytes();
        if (!r.usageFromProvider() || r.model() == null || tokens <= 0 || bytes <= 0 || (r.requestFeatures() & MEDIA) != 0
                || r.has(RecordFlag.STORED_CONTEXT)) {
            return;
        }
        long hour = Math.floorDiv(r.createdAtMillis(), HOUR_MILLIS) * HOUR_MILLIS;
        TreeMap<Long, Bucket> buckets = models.computeIfAbsent(r.model(), m -> new TreeMap<>());
        synchronized (buckets) {
            Bucket b = buckets.computeIfAbsent(hour, h -> new Bucket());
            b.calls++;
            b.tokens += tokens;
            b.bytes += bytes;
            b.tokensSquared += (double) tokens * tokens;
            b.bytesSquared += (double) bytes * bytes;
            b.tokensBytes += (double) tokens * bytes;
            b.dirty = true;
        }
    }

    /** Compares {@code model}'s windows ending at {@code nowMillis}; empty without calls. */
    public Optional<Shift> shift(String model, long nowMillis) {
        TreeMap<Long, Bucket> buckets = models.get(model);
        if (buckets == null) {
            return Optional.empty();
        }
        long recentFrom = nowMillis - settings.recent().toMillis();
        long baselineFrom = recentFrom - settings.baseline().toMillis();
        Sums baseline = new Sums();
        Sums recent = new Sums();
        synchronized (buckets) {
            for (Map.Entry<Long, Bucket> e : buckets.subMap(baselineFrom, true, nowMillis, false).entrySet()) {
                (e.getKey() >= recentFrom ? recent : baseline).add(e.getValue());
            }
        }
        if (baseline.calls == 0 && recent.calls == 0) {
            return Optional.empty();
        }
        double before = baseline.perKb();
        double after = recent.perKb();
        double p = Significance.zTest(before, baseline.variance(), after, recent.variance());
        return Optional.of(new Shift(model, baseline.calls, before, recent.calls, after, after / before - 1, p));
    }

    /** The models with buckets. */
    public Set<String> models() {
        return Set.copyOf(models.keySet());
    }

    /** {@link #shift(String, long)} now. */
    public Optional<Shift> current(String model) {
        return shift(model, clockMillis.getAsLong());
    }

    /** Checks every model: opens, updates or closes its alerts; drops buckets older than both windows. */
    public void check(long nowMillis) {
        for (String model : models.keySet()) {
            try {
                check(model, nowMillis);
            } catch (RuntimeException e) {
                log.warn("Token inflation check of {} failed: {}", model, e.getMessage());
            }
        }
    }

    private void check(String model, long nowMillis) {
        long keepFrom = nowMillis - settings.recent().toMillis() - settings.baseline().toMillis() - HOUR_MILLIS;
        TreeMap<Long, Bucket> buckets = models.get(model);
        synchronized (buckets) {
            buckets.headMap(keepFrom).clear();
        }
        Shift s = shift(model, nowMillis).orElse(null);
        String metric = "input_tokens_per_kb";
        boolean open = alerts.find(AlertType.TOKEN_INFLATION, Alert.Scope.MODEL, model, metric) != null;
        boolean enough = s != null && s.baselineCalls() >= settings.minCalls() && s.recentCalls() >= settings.minCalls()
                && !Double.isNaN(s.change());
        double floor = open ? settings.minRelativeChange() / 2 : settings.minRelativeChange();
        if (enough && Math.abs(s.change()) >= floor && s.p() < settings.maxPValue()) {
            report(s, nowMillis);
        } else if (open || teamsAlerted.containsKey(model)) {
            alerts.close(AlertType.TOKEN_INFLATION, Alert.Scope.MODEL, model, metric);
            for (String team : teamsAlerted.getOrDefault(model, Set.of())) {
                alerts.close(AlertType.TOKEN_INFLATION, Alert.Scope.TEAM, team, teamMetric(model));
            }
            teamsAlerted.remove(model);
        }
    }

    private void report(Shift s, long nowMillis) {
        long from = nowMillis - settings.trafficWindow().toMillis();
        List<AuditStore.TeamInput> teams = traffic == null ? List.of() : traffic.input(s.model(), from, nowMillis);
        ModelPrice price = prices == null ? null : prices.find(s.model()).orElse(null);
        String more = s.change() >= 0 ? "more" : "fewer";
        String head = String.format(Locale.ROOT, "%s bills %.1f%% %s input tokens for the same prompt text: %.1f → %.1f "
                        + "tokens per 1,000 bytes (baseline: %s before, %d calls; the last %s, %d calls; %s)", s.model(),
                Math.abs(s.change()) * 100, more, s.baselinePerKb(), s.recentPerKb(), span(settings.baseline()),
                s.baselineCalls(), span(settings.recent()), s.recentCalls(),
                s.p() < 1e-16 ? "p < 1e-16" : String.format(Locale.ROOT, "p = %.1e", s.p()));
        Set<String> alerted = new HashSet<>();
        for (AuditStore.TeamInput t : teams) {
            long monthlyInputNanos = price == null ? 0 : monthly(price, t, from, nowMillis);
            long extraNanos = Math.round(monthlyInputNanos * s.change());
            String cost = price == null ? "its cost is unknown (no price for the model)"
                    : String.format(Locale.ROOT, "its input (%,d tokens in the last %s, %s a month) costs about %s a month %s",
                    t.inputTokens(), days(nowMillis - Math.max(from, t.firstAtMillis())), dollars(monthlyInputNanos),
                    dollars(Math.abs(extraNanos)), extraNanos >= 0 ? "more" : "less");
            alerts.open(AlertType.TOKEN_INFLATION, Alert.Scope.TEAM, t.team(), teamMetric(s.model()),
                    head + ". For team " + t.team() + ", " + cost + ".", extraNanos / (double) Money.NANOS_PER_USD, 0);
            alerted.add(t.team());
        }
        for (String team : teamsAlerted.getOrDefault(s.model(), Set.of())) {
            if (!alerted.contains(team)) {
                alerts.close(AlertType.TOKEN_INFLATION, Alert.Scope.TEAM, team, teamMetric(s.model()));
            }
        }
        teamsAlerted.put(s.model(), alerted);
        // Every team sees a model's alert: what the change costs is in each team's own alert, never summed here.
        String cost = price == null ? " (no price for the model: its cost is unknown)"
                : ": what it costs each team a month is in that team's token_inflation alert";
        double threshold = s.baselinePerKb() * (1 + Math.copySign(settings.minRelativeChange(), s.change()));
        alerts.open(AlertType.TOKEN_INFLATION, Alert.Scope.MODEL, s.model(), "input_tokens_per_kb", head + cost + ".",
                s.recentPerKb(), threshold);
    }

    /** The team's input cost in the traffic window, scaled to 30 days (from its first call, at least a day). */
    private static long monthly(ModelPrice price, AuditStore.TeamInput t, long fromMillis, long nowMillis) {
        long cached = Math.min(t.cachedInputTokens(), t.inputTokens());
        long writes = Math.min(t.cacheWriteTokens(), t.inputTokens() - cached);
        long inputNanos = price.costNanos(new TokenUsage(t.inputTokens(), cached, writes, 0, 0));
        long span = Math.max(DAY_MILLIS, nowMillis - Math.max(fromMillis, t.firstAtMillis()));
        return Math.round(inputNanos * ((double) MONTH_MILLIS / span));
    }

    /** Dollars and cents for people, e.g. {@code $1,234.57}. */
    static String dollars(long nanos) {
        return String.format(Locale.ROOT, "$%,.2f", nanos / (double) Money.NANOS_PER_USD);
    }

    static String teamMetric(String model) {
        return "input_tokens_per_kb:" + model;
    }

    /** {@code 7 days}, {@code 24 h}. */
    private static String span(Duration d) {
        long hours = d.toHours();
        return hours % 24 == 0 && hours > 24 ? (hours / 24) + " days" : hours + " h";
    }

    private static String days(long millis) {
        long days = Math.max(1, Math.round(millis / (double) DAY_MILLIS));
        return days + (days == 1 ? " day" : " days");
    }

    /** Checks every {@code every} on {@code scheduler} (never an event loop: it reads the ledger). */
    public void schedule(ScheduledExecutorService scheduler, Duration every, LongSupplier clockMillis) {
        scheduler.scheduleWithFixedDelay(() -> {
            try {
                check(clockMillis.getAsLong());
            } catch (RuntimeException e) {
                log.warn("Token inflation check failed: {}", e.getMessage());
            }
        }, every.toMillis(), every.toMillis(), TimeUnit.MILLISECONDS);
    }

    // ---- persistence -----------------------------------------------------------------------------------

    /** Loads the saved buckets still inside the windows (adds to any already here). */
    void restore(AuditStore store) {
        long from = clockMillis.getAsLong() - settings.recent().toMillis() - settings.baseline().toMillis()
                - HOUR_MILLIS;
        for (AuditStore.InflationRow row : store.inflation(from)) {
            TreeMap<Long, Bucket> buckets = models.computeIfAbsent(row.model(), m -> new TreeMap<>());
            synchronized (buckets) {
                Bucket b = buckets.computeIfAbsent(row.hourMillis(), h -> new Bucket());
                b.calls += row.calls();
                b.tokens += row.tokens();
                b.bytes += row.bytes();
                b.tokensSquared += row.tokensSquared();
                b.bytesSquared += row.bytesSquared();
                b.tokensBytes += row.tokensBytes();
            }
        }
    }

    /** The buckets changed since the last call (marked saved), and the hour before which saved buckets can go. */
    Saved dirtyBuckets() {
        List<AuditStore.InflationRow> rows = new ArrayList<>();
        for (Map.Entry<String, TreeMap<Long, Bucket>> m : models.entrySet()) {
            TreeMap<Long, Bucket> buckets = m.getValue();
            synchronized (buckets) {
                for (Map.Entry<Long, Bucket> e : buckets.entrySet()) {
                    Bucket b = e.getValue();
                    if (b.dirty) {
                        rows.add(new AuditStore.InflationRow(m.getKey(), e.getKey(), b.calls, b.tokens, b.bytes,
                                b.tokensSquared, b.bytesSquared, b.tokensBytes));
                        b.dirty = false;
                    }
                }
            }
        }
        long dropBefore = clockMillis.getAsLong() - settings.recent().toMillis() - settings.baseline().toMillis()
                - 2 * HOUR_MILLIS;
        return new Saved(rows, dropBefore);
    }

    /** Marks buckets whose save failed as changed again. */
    void markDirty(List<AuditStore.InflationRow> rows) {
        for (AuditStore.InflationRow row : rows) {
            TreeMap<Long, Bucket> buckets = models.get(row.model());
            if (buckets != null) {
                synchronized (buckets) {
                    Bucket b = buckets.get(row.hourMillis());
                    if (b != null) {
                        b.dirty = true;
                    }
                }
            }
        }
    }
}
