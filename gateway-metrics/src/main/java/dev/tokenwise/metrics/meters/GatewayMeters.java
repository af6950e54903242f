package dev.tokenwise.metrics.meters;

import dev.tokenwise.core.accounting.AccountingCore;
import dev.tokenwise.core.budget.Budget;
import dev.tokenwise.core.cache.ResponseCache;
import dev.tokenwise.core.model.Money;
import dev.tokenwise.core.model.RecordFlag;
import dev.tokenwise.core.model.TokenUsage;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.spi.ProviderStats;
import dev.tokenwise.core.spi.UpstreamPoolStats;
import dev.tokenwise.core.spi.UsageSink;
import dev.tokenwise.metrics.efficiency.AlertBook;
import dev.tokenwise.metrics.efficiency.AlertType;
import dev.tokenwise.metrics.efficiency.BillingAudit;
import dev.tokenwise.metrics.efficiency.TokenInflation;
import dev.tokenwise.metrics.efficiency.EfficiencyFigures;
import dev.tokenwise.metrics.efficiency.EfficiencyTracker;
import dev.tokenwise.metrics.latency.LatencyBook;
import dev.tokenwise.metrics.ledger.EfficiencyTotals;
import dev.tokenwise.metrics.ledger.GroupBy;
import dev.tokenwise.metrics.ledger.Ledger;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.netty4.NettyAllocatorMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.buffer.PooledByteBufAllocator;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The gateway's Micrometer meters: a {@link UsageSink} counting requests, tokens and cost per call, plus
 * gauges bound to the live state (budgets, queues, alerts, task efficiency, circuit breakers, JVM and Netty).
 * Names and labels are listed in {@code docs/metrics.md}.
 *
 * <p>Label cardinality is bounded: keys are never labels; teams and models go through a {@link LabelLimiter}
 * each (the first {@link MeterSettings#maxTeams()} teams and {@link MeterSettings#maxModels()} models get a
 * label of their own, later ones {@code other}); a model that is not configured is {@code unknown};
 * {@code provider}, {@code status}, {@code direction} and {@code type} take a handful of values by construction.
 *
 * <p>Threading: {@link #accept} runs on the record dispatcher thread and only increments cached counters (each
 * a {@code DoubleAdder}). The gauges that depend on sets that change (teams with budgets, models with tasks)
 * are {@link MultiGauge}s rebuilt by {@link #refresh()}, which {@link MetricsRoute} calls before each scrape on
 * its executor (it takes the efficiency tracker's monitor, so never on an event loop).
 *
 * <pre>{@code
 * PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
 * GatewayMeters meters = new GatewayMeters(registry, MeterSettings.DEFAULTS, config.models().keySet())
 *         .bindJvm().bindAccounting(accounting).bindLedger(ledger).bindAlerts(alerts);
 * sinks.add(meters);
 * routes.add(new MetricsRoute(registry, meters, apiPool, true));
 * }</pre>
 */
public final class GatewayMeters implements UsageSink {
    /** The model label of a model that is not configured. */
    public static final String UNKNOWN_MODEL = "unknown";

    private record CallKey(String team, String model, String provider, String status) {
    }

    private record SpendKey(String team, String model) {
    }

    /** The counters of one (team, model): tokens by direction and cost. */
    private record SpendCounters(Counter input, Counter output, Counter cached, Counter reasoning, Counter costUsd) {
    }

    private final MeterRegistry registry;
    private final LabelLimiter teams;
    private final LabelLimiter models;
    private final Set<String> knownModels;
    private final Map<CallKey, Counter> requests = new ConcurrentHashMap<>();
    private final Map<SpendKey, SpendCounters> spend = new ConcurrentHashMap<>();
    private final Map<FlagKey, Counter> flagged = new ConcurrentHashMap<>();

    private record FlagKey(String team, String model, RecordFlag flag) {
    }
    private final List<AutoCloseable> binders = new ArrayList<>();

    private volatile Supplier<? extends Collection<Budget.Snapshot>> budgets;
    private volatile EfficiencyTracker efficiency;
    private final MultiGauge budgetRemaining;
    private final MultiGauge budgetLimit;
    private final MultiGauge budgetSpent;
    private final MultiGauge successRatio;
    private final MultiGauge costPerSuccess;
    private final MultiGauge retryRatio;
    private final MultiGauge truncationRatio;
    private final MultiGauge tokensPerSuccess;
    private final MultiGauge auditDiffering;
    private final MultiGauge tokensPerKb;

    /**
     * @param knownModels the configured models; any other model is counted as {@code unknown} (empty: every
     *     model is known)
     */
    public GatewayMeters(MeterRegistry registry, MeterSettings settings, Collection<String> knownModels) {
        this.registry = Objects.requireNonNull(registry, "registry");
        Objects.requireNonNull(settings, "settings");
        this.knownModels = Set.copyOf(knownModels);
        this.teams = new LabelLimiter(settings.maxTeams(), List.of());
        this.models = new LabelLimiter(settings.maxModels(), knownModels);
        budgetRemaining = MultiGauge.builder("tokenwise.budget.remaining.usd")
                .description("What a team may still spend this budget period: limit minus spend minus open reservations")
                .register(registry);
        budgetLimit = MultiGauge.builder("tokenwise.budget.limit.usd")
                .description("A team's budget limit per period").register(registry);
        budgetSpent = MultiGauge.builder("tokenwise.budget.spent.usd")
                .description("A team's settled spend in the current budget period").register(registry);
        successRatio = MultiGauge.builder("tokenwise.task.success.ratio")
                .description("Tasks that succeeded among tasks with an outcome, per model of the task's last call, since start")
                .register(registry);
        costPerSuccess = MultiGauge.builder("tokenwise.cost.per.success.usd")
                .description("Cost of all tasks with an outcome divided by the successful ones, per model, since start")
                .register(registry);
        retryRatio = MultiGauge.builder("tokenwise.task.retry.ratio")
                .description("Calls of tasks flagged as retries among all calls of tasks, per model, since start")
                .register(registry);
        truncationRatio = MultiGauge.builder("tokenwise.task.truncation.ratio")
                .description("Calls of tasks cut by the output limit among all calls of tasks, per model, since start")
                .register(registry);
        tokensPerSuccess = MultiGauge.builder("tokenwise.task.tokens.per.success")
                .description("Input plus output tokens of all tasks with an outcome per successful task, per model, since start")
                .register(registry);
        auditDiffering = MultiGauge.builder("tokenwise.billing.audit.differing.ratio")
                .description("Exactly counted calls in the billing audit's windows whose provider token count differs "
                        + "from the gateway's, per model and side (input, output); 0 when the provider bills what was counted")
                .register(registry);
        tokensPerKb = MultiGauge.builder("tokenwise.input.tokens.per.kb")
                .description("Provider input tokens per 1,000 bytes of prompt text, per model, in the token-inflation "
                        + "windows (recent, baseline)")
                .register(registry);
    }

    /** The {@code team} label of a team. */
    public String teamLabel(String team) {
        return teams.label(team);
    }

    /** The {@code model} label of a model: itself, {@code other} beyond the limit, {@code unknown} when not configured. */
    public String modelLabel(String model) {
        if (model == null) {
            return LabelLimiter.NONE;
        }
        if (!knownModels.isEmpty() && !knownModels.contains(model)) {
            return UNKNOWN_MODEL;
        }
        return models.label(model);
    }

    @Override
    public void accept(UsageRecord r) {
        String team = teamLabel(r.team());
        String model = modelLabel(r.model());
        String provider = r.provider() == null ? LabelLimiter.NONE : r.provider();
        String status = r.status() == null ? LabelLimiter.NONE : r.status().label();
        requests.computeIfAbsent(new CallKey(team, model, provider, status), k -> Counter.builder("tokenwise.requests")
                .description("Calls that settled, by how they ended")
                .tags("team", k.team(), "model", k.model(), "provider", k.provider(), "status", k.status())
                .register(registry)).increment();
        SpendCounters c = spend.computeIfAbsent(new SpendKey(team, model), this::spendCounters);
        TokenUsage u = r.usage();
        if (u != null) {
            // As everywhere in Tokenwise: input includes cached tokens, output includes reasoning tokens.
            c.input().increment(u.inputTokens());
            c.cached().increment(u.cachedInputTokens());
            c.output().increment(u.outputTokens());
            c.reasoning().increment(u.reasoningTokens());
        }
        if (r.costNanos() != 0) {
            c.costUsd().increment((double) r.costNanos() / Money.NANOS_PER_USD);
        }
        if (r.flags() != 0) {
            for (RecordFlag flag : RecordFlag.of(r.flags())) {
                flagged.computeIfAbsent(new FlagKey(team, model, flag), k -> Counter.builder("tokenwise.records.flagged")
                        .description("Calls whose record carries a flag (e.g. reservation_exceeded: cost above what"
                                + " was reserved), by flag")
                        .tags("team", k.team(), "model", k.model(), "flag", k.flag().label())
                        .register(registry)).increment();
            }
        }
    }

    private SpendCounters spendCounters(SpendKey k) {
        return new SpendCounters(tokens(k, "input"), tokens(k, "output"), tokens(k, "cached"), tokens(k, "reasoning"),
                Counter.builder("tokenwise.cost.usd")
                        .description("What calls cost, in USD (exact sums in nano-USD are in the ledger)")
                        .tags("team", k.team(), "model", k.model())
                        .register(registry));
    }

    private Counter tokens(SpendKey k, String direction) {
        return Counter.builder("tokenwise.tokens")
                .description("Billed tokens; input includes cached, output includes reasoning: do not sum all directions")
                .tags("team", k.team(), "model", k.model(), "direction", direction)
                .register(registry);
    }

    /** JVM memory, GC, threads, class loading, CPU, uptime, file descriptors and Netty's pooled allocator. */
    public GatewayMeters bindJvm() {
        new ClassLoaderMetrics().bindTo(registry);
        new JvmMemoryMetrics().bindTo(registry);
        JvmGcMetrics gc = new JvmGcMetrics();
        gc.bindTo(registry);
        binders.add(gc);
        new JvmThreadMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        new FileDescriptorMetrics().bindTo(registry);
        new NettyAllocatorMetrics(PooledByteBufAllocator.DEFAULT).bindTo(registry);
        return this;
    }

    /** The record dispatcher's queue and the calls in flight. */
    public GatewayMeters bindAccounting(AccountingCore accounting) {
        Gauge.builder("tokenwise.record.queue.depth", accounting, a -> a.dispatcher().depth())
                .description("Usage records waiting for the sinks (ledger, meters, efficiency)").register(registry);
        FunctionCounter.builder("tokenwise.record.queue.overflowed", accounting, a -> a.dispatcher().overflowed())
                .description("Records that went to the unbounded overflow queue because the bounded one was full")
                .register(registry);
        FunctionCounter.builder("tokenwise.record.sink.failures", accounting, a -> a.dispatcher().sinkFailures())
                .description("Times a sink threw on a record").register(registry);
        Gauge.builder("tokenwise.recording.stopped", accounting, a -> a.recordingStopped() == null ? 0 : 1)
                .description("1 while usage records cannot be booked (a background thread died or is stuck) and calls are refused")
                .register(registry);
        Gauge.builder("tokenwise.calls.in.flight", accounting, AccountingCore::inFlightCount)
                .description("Calls accepted and not settled yet").register(registry);
        return this;
    }

    /** The ledger's write queue and health. */
    public GatewayMeters bindLedger(Ledger ledger) {
        Gauge.builder("tokenwise.ledger.queue.depth", ledger, Ledger::pendingRecords)
                .description("Records accepted by the ledger and not committed yet").register(registry);
        Gauge.builder("tokenwise.ledger.healthy", ledger, l -> l.healthy() ? 1 : 0)
                .description("1 while ledger writes succeed, 0 while they fail and records wait in memory")
                .register(registry);
        FunctionCounter.builder("tokenwise.ledger.committed.records", ledger, Ledger::committedRecords)
                .description("Records committed to the ledger since start").register(registry);
        FunctionCounter.builder("tokenwise.ledger.rejected.records", ledger, Ledger::rejectedRecords)
                .description("Records left out of the ledger because writing each failed on its own (logged with its id)")
                .register(registry);
        FunctionCounter.builder("tokenwise.ledger.expired.records", ledger, Ledger::expiredRecords)
                .description("Records deleted from the ledger by storage.retention_days since start").register(registry);
        return this;
    }

    /** Open alerts per type (every type, 0 when none is open). */
    public GatewayMeters bindAlerts(AlertBook alerts) {
        for (AlertType type : AlertType.values()) {
            Gauge.builder("tokenwise.alerts.open", alerts,
                            book -> book.list().stream().filter(a -> a.type() == type).count())
                    .description("Alerts open now").tags("type", type.label()).register(registry);
        }
        return this;
    }

    /**
     * Budget gauges per team: limit, spend and what remains of the current period. {@code budgets} gives a
     * snapshot of every budget held by a team (the holder is the team); it is read by {@link #refresh()}.
     */
    public GatewayMeters bindBudgets(Supplier<? extends Collection<Budget.Snapshot>> budgets) {
        this.budgets = Objects.requireNonNull(budgets, "budgets");
        return this;
    }

    /** Task success ratio, cost per success, retry and truncation ratios per model, from the live totals. */
    public GatewayMeters bindEfficiency(EfficiencyTracker tracker) {
        this.efficiency = Objects.requireNonNull(tracker, "tracker");
        return this;
    }

    /**
     * Circuit breaker, retries and response observer failures per provider. {@code tokenwise_provider_circuit_state}
     * is 0 closed, 1 half-open (the next call is a probe), 2 open.
     */
    public GatewayMeters bindProviders(Map<String, ? extends ProviderStats> providers) {
        for (ProviderStats h : providers.values()) {
            Tags tags = Tags.of("provider", h.provider());
            Gauge.builder("tokenwise.provider.circuit.state", h, GatewayMeters::circuitState)
                    .description("Circuit breaker: 0 closed, 1 half-open, 2 open").tags(tags).register(registry);
            Gauge.builder("tokenwise.provider.consecutive.failures", h, ProviderStats::consecutiveFailures)
                    .description("Failures in a row; the breaker opens at the provider's threshold")
                    .tags(tags).register(registry);
            FunctionCounter.builder("tokenwise.provider.retries", h, ProviderStats::retries)
                    .description("Upstream attempts the gateway retried").tags(tags).register(registry);
            FunctionCounter.builder("tokenwise.provider.held.calls", h, ProviderStats::heldCalls)
                    .description("Calls held for, or turned away by, the provider's own announced rate limit")
                    .tags(tags).register(registry);
            FunctionCounter.builder("tokenwise.provider.breaker.refused", h, ProviderStats::refusedByBreaker)
                    .description("Calls refused without trying because the breaker was open").tags(tags)
                    .register(registry);
            FunctionCounter.builder("tokenwise.provider.breaker.opened", h, ProviderStats::timesOpened)
                    .description("Times the breaker opened").tags(tags).register(registry);
            FunctionCounter.builder("tokenwise.observer.errors", h, ProviderStats::observerErrors)
                    .description("Times reading the provider's answer for usage failed; those calls are billed on the local count")
                    .tags(tags).register(registry);
        }
        return this;
    }

    /**
     * The upstream connection pool: keep-alive connections waiting for a call, and connects that the transport
     * closed before they completed and that were made again (see {@link UpstreamPoolStats}).
     */
    public GatewayMeters bindUpstreamPool(UpstreamPoolStats pool) {
        Gauge.builder("tokenwise.upstream.connections.idle", pool, UpstreamPoolStats::idleCount)
                .description("Keep-alive connections to providers waiting in the pool").register(registry);
        FunctionCounter.builder("tokenwise.upstream.connects.remade", pool, UpstreamPoolStats::connectsLostBeforeCompleting)
                .description("Connects closed by the transport before they completed (a stale hang-up) and made again")
                .register(registry);
        return this;
    }

    /** The exact response cache's hits, coalesced waits, stored answers, entries and bytes. */
    public GatewayMeters bindResponseCache(ResponseCache cache) {
        FunctionCounter.builder("tokenwise.cache.hits", cache, ResponseCache::hits)
                .description("Calls answered from the response cache, without an upstream call").register(registry);
        FunctionCounter.builder("tokenwise.cache.coalesced", cache, ResponseCache::coalesced)
                .description("Calls that waited for an identical call in flight instead of calling upstream too")
                .register(registry);
        FunctionCounter.builder("tokenwise.cache.stored", cache, ResponseCache::stored)
                .description("Answers stored in the response cache").register(registry);
        Gauge.builder("tokenwise.cache.entries", cache, ResponseCache::size)
                .description("Answers the response cache holds now").register(registry);
        Gauge.builder("tokenwise.cache.bytes", cache, ResponseCache::weightedBytes)
                .description("Bytes the response cache holds now (bounded by cache.max_mib)").register(registry);
        return this;
    }

    /** Exports the latency histograms (overhead, upstream, TTFT), on a Prometheus registry only. */
    public GatewayMeters bindLatency(LatencyBook latency) {
        if (registry instanceof PrometheusMeterRegistry prometheus) {
            LatencyHistogramCollector collector = new LatencyHistogramCollector(latency);
            prometheus.getPrometheusRegistry().register(collector);
            binders.add(() -> prometheus.getPrometheusRegistry().unregister(collector));
        }
        return this;
    }

    static int circuitState(ProviderStats h) {
        return switch (h.state()) {
            case CLOSED -> 0;
            case HALF_OPEN -> 1;
            case OPEN -> 2;
        };
    }

    /**
     * Rebuilds the gauges whose label sets change (budgets per team, efficiency per model). Not on an event loop;
     * synchronized so that two concurrent scrapes do not interleave their re-registrations.
     */
    public synchronized void refresh() {
        Supplier<? extends Collection<Budget.Snapshot>> b = budgets;
        if (b != null) {
            refreshBudgets(b.get());
        }
        EfficiencyTracker tracker = efficiency;
        if (tracker != null) {
            refreshEfficiency(tracker.live(GroupBy.MODEL));
            refreshAudit(tracker.audit());
        }
    }

    private void refreshAudit(BillingAudit audit) {
        Map<List<String>, long[]> shares = new TreeMap<>(java.util.Comparator.comparing((List<String> k) -> k.get(0))
                .thenComparing(k -> k.get(1)));
        for (BillingAudit.Share s : audit.exactShares()) {
            long[] sum = shares.computeIfAbsent(List.of(modelLabel(s.model()), s.side()), k -> new long[2]);
            sum[0] += s.calls();
            sum[1] += s.differing();
        }
        List<MultiGauge.Row<?>> differing = new ArrayList<>();
        shares.forEach((k, sum) -> row(differing, Tags.of("model", k.get(0), "side", k.get(1)),
                sum[0] == 0 ? Double.NaN : (double) sum[1] / sum[0]));
        auditDiffering.register(differing, true);
        List<MultiGauge.Row<?>> perKb = new ArrayList<>();
        TokenInflation inflation = audit.inflation();
        if (inflation != null) {
            for (String model : new TreeSet<>(inflation.models())) {
                String label = modelLabel(model);
                if (!label.equals(model)) {
                    continue; // a ratio cannot be summed into other
                }
                inflation.current(model).ifPresent(shift -> {
                    row(perKb, Tags.of("model", label, "window", "recent"), shift.recentPerKb());
                    row(perKb, Tags.of("model", label, "window", "baseline"), shift.baselinePerKb());
                });
            }
        }
        tokensPerKb.register(perKb, true);
    }

    private void refreshBudgets(Collection<Budget.Snapshot> snapshots) {
        Map<String, long[]> byTeam = new TreeMap<>(); // limit, spent, remaining
        for (Budget.Snapshot s : snapshots) {
            long[] sums = byTeam.computeIfAbsent(teamLabel(s.holder()), t -> new long[3]);
            sums[0] += s.limitNanos();
            sums[1] += s.spentNanos();
            sums[2] += s.remainingNanos();
        }
        List<MultiGauge.Row<?>> limit = new ArrayList<>();
        List<MultiGauge.Row<?>> spent = new ArrayList<>();
        List<MultiGauge.Row<?>> remaining = new ArrayList<>();
        byTeam.forEach((team, sums) -> {
            Tags tags = Tags.of("team", team);
            limit.add(MultiGauge.Row.of(tags, usd(sums[0])));
            spent.add(MultiGauge.Row.of(tags, usd(sums[1])));
            remaining.add(MultiGauge.Row.of(tags, usd(sums[2])));
        });
        budgetLimit.register(limit, true);
        budgetSpent.register(spent, true);
        budgetRemaining.register(remaining, true);
    }

    private void refreshEfficiency(List<EfficiencyTotals> live) {
        Map<String, EfficiencyTotals> byModel = new TreeMap<>();
        for (EfficiencyTotals t : live) {
            byModel.merge(modelLabel(t.group()), t, GatewayMeters::plus);
        }
        List<MultiGauge.Row<?>> success = new ArrayList<>();
        List<MultiGauge.Row<?>> cost = new ArrayList<>();
        List<MultiGauge.Row<?>> retry = new ArrayList<>();
        List<MultiGauge.Row<?>> truncation = new ArrayList<>();
        List<MultiGauge.Row<?>> tokens = new ArrayList<>();
        byModel.forEach((model, totals) -> {
            Tags tags = Tags.of("model", model);
            EfficiencyFigures f = new EfficiencyFigures(totals);
            row(success, tags, f.successRate());
            row(retry, tags, f.retryRate());
            row(truncation, tags, f.truncationRate());
            row(tokens, tags, f.tokensPerSuccess());
            if (f.costPerSuccessUsd() != null) {
                cost.add(MultiGauge.Row.of(tags, f.costPerSuccessUsd().doubleValue()));
            }
        });
        successRatio.register(success, true);
        costPerSuccess.register(cost, true);
        retryRatio.register(retry, true);
        truncationRatio.register(truncation, true);
        tokensPerSuccess.register(tokens, true);
    }

    /** A ratio without a denominator is left out rather than exported as NaN. */
    private static void row(List<MultiGauge.Row<?>> rows, Tags tags, double value) {
        if (Double.isFinite(value)) {
            rows.add(MultiGauge.Row.of(tags, value));
        }
    }

    private static EfficiencyTotals plus(EfficiencyTotals a, EfficiencyTotals b) {
        return new EfficiencyTotals(a.group(), a.tasks() + b.tasks(), a.succeeded() + b.succeeded(),
                a.failed() + b.failed(), a.unknown() + b.unknown(), a.pending() + b.pending(), a.calls() + b.calls(),
                a.retries() + b.retries(), a.truncated() + b.truncated(), a.inputTokens() + b.inputTokens(),
                a.outputTokens() + b.outputTokens(), a.judgedTokens() + b.judgedTokens(),
                a.judgedCostNanos() + b.judgedCostNanos(), a.wastedCostNanos() + b.wastedCostNanos(),
                a.costNanos() + b.costNanos());
    }

    private static double usd(long nanos) {
        return (double) nanos / Money.NANOS_PER_USD;
    }

    /** Closes the binders that hold resources (GC listeners, collectors). */
    @Override
    public void close() {
        for (AutoCloseable c : binders) {
            try {
                c.close();
            } catch (Exception ignored) {
                // closing meters must not fail a shutdown
            }
        }
        binders.clear();
    }
}
