package dev.tokenwise.server;

import dev.tokenwise.core.accounting.AccountingCore;
import dev.tokenwise.core.auth.KeyRegistry;
import dev.tokenwise.core.budget.BudgetBook;
import dev.tokenwise.core.config.GatewayConfig;
import dev.tokenwise.core.config.ModelConfig;
import dev.tokenwise.core.config.ProviderConfig;
import dev.tokenwise.core.config.StorageSync;
import dev.tokenwise.core.proxy.GatewayServer;
import dev.tokenwise.core.cache.ResponseCache;
import dev.tokenwise.core.ratelimit.RateLimiter;
import dev.tokenwise.core.spi.AdmissionStage;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenwise.core.spi.ApiRoute;
import dev.tokenwise.core.spi.ProviderAdapter;
import dev.tokenwise.core.spi.TokenCounter;
import dev.tokenwise.core.spi.UsageSink;
import dev.tokenwise.telemetry.OtlpTracing;
import io.micrometer.core.instrument.FunctionCounter;
import dev.tokenwise.core.spi.PriceCatalog;
import dev.tokenwise.metrics.api.AlertsRoute;
import dev.tokenwise.metrics.api.DriftRoute;
import dev.tokenwise.metrics.api.ProbesRoute;
import dev.tokenwise.metrics.efficiency.ProbeMonitor;
import dev.tokenwise.core.config.ProbeConfig;
import dev.tokenwise.server.probe.ProbeRunner;
import java.net.URI;
import dev.tokenwise.metrics.api.EfficiencyRoute;
import dev.tokenwise.metrics.api.PricesRoute;
import dev.tokenwise.metrics.api.RequestsRoute;
import dev.tokenwise.metrics.api.TasksRoute;
import dev.tokenwise.metrics.efficiency.AlertBook;
import dev.tokenwise.metrics.efficiency.DriftDetector;
import dev.tokenwise.metrics.efficiency.DriftSettings;
import dev.tokenwise.metrics.efficiency.EfficiencySettings;
import dev.tokenwise.metrics.efficiency.EfficiencyTracker;
import dev.tokenwise.metrics.efficiency.InflationSettings;
import dev.tokenwise.metrics.efficiency.PromptCacheWatch;
import dev.tokenwise.metrics.efficiency.TokenInflation;
import dev.tokenwise.metrics.api.UsageRoute;
import dev.tokenwise.core.budget.Budget;
import dev.tokenwise.metrics.dashboard.DashboardRoute;
import dev.tokenwise.metrics.dashboard.DashboardSummaryRoute;
import dev.tokenwise.metrics.dashboard.RecentCallsRoute;
import dev.tokenwise.metrics.latency.LatencyBook;
import dev.tokenwise.metrics.latency.LatencyRoute;
import dev.tokenwise.metrics.meters.GatewayMeters;
import dev.tokenwise.metrics.meters.MeterSettings;
import dev.tokenwise.metrics.meters.MetricsRoute;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.Objects;
import java.util.function.Supplier;
import dev.tokenwise.metrics.ledger.Ledger;
import dev.tokenwise.metrics.ledger.PostgresLedger;
import dev.tokenwise.metrics.ledger.SqliteLedger;
import dev.tokenwise.metrics.routing.Router;
import dev.tokenwise.metrics.routing.RoutesRoute;
import dev.tokenwise.server.admin.AdminRoutes;
import dev.tokenwise.server.admin.RateLimitDirectory;
import dev.tokenwise.server.admin.TeamDirectory;
import dev.tokenwise.server.cluster.AdminFeed;
import dev.tokenwise.server.cluster.RedisBudgets;
import dev.tokenwise.server.cluster.RedisLink;
import dev.tokenwise.server.cluster.SharedRateLimits;
import dev.tokenwise.providers.ProviderAdapters;
import dev.tokenwise.providers.simulator.SimulatorServer;
import dev.tokenwise.providers.simulator.SimulatorSettings;
import dev.tokenwise.providers.tokenizer.JtokkitTokenCounter;
import dev.tokenwise.providers.tokenizer.TokenizerTable;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The running gateway: simulator providers, worker pool, token counter, accounting core, local
 * routes and the Netty server, started in that order and closed in reverse.
 *
 * <pre>{@code
 * try (GatewayApp app = GatewayApp.start(ConfigLoader.load(path, System.getenv(), YamlPriceCatalog::load))) {
 *     app.awaitShutdown();
 * }
 * }</pre>
 */
public final class GatewayApp implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(GatewayApp.class);
    private static final int RECORD_QUEUE_CAPACITY = 65_536;
    /**
     * Records kept in memory after they settle, so that a lookup finds them before the ledger commits them
     * (milliseconds later when it is healthy). More would only be old-generation churn for the collector.
     */
    private static final long RECENT_RECORDS = 10_000;
    /**
     * How long a settled record may wait before the sinks see it. In normal mode nothing waits for the
     * sinks (the ledger commits every 20 ms anyway), so the dispatcher wakes at most 200 times a second; in
     * strict mode a response's last bytes wait for the ledger's commit, and so for the dispatcher too.
     */
    private static final long DELIVERY_NAP_NANOS = TimeUnit.MILLISECONDS.toNanos(5);
    private static final long STRICT_DELIVERY_NAP_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
    private static final long REAP_EVERY_MILLIS = 1_000;
    /** Budgets are read back from Redis every this many ticks of its watcher (about once a second). */
    private static final int CLUSTER_REFRESH_TICKS = 4;
    /** A task with no outcome and no call for this long counts as {@code unknown}. */
    private static final Duration TASK_IDLE = Duration.ofHours(1);
    private static final Duration DRIFT_CHECK_EVERY = Duration.ofMinutes(15);
    /** How often records older than {@code storage.retention_days} are looked for and deleted. */
    static final Duration RETENTION_EVERY = Duration.ofHours(1);
    /** How often the billing audit saves its windows into the ledger (and once more at shutdown). */
    private static final Duration AUDIT_SAVE_EVERY = Duration.ofMinutes(1);
    /** How often token inflation is checked (its documented false-alarm rate assumes this cadence). */
    private static final Duration INFLATION_CHECK_EVERY = Duration.ofMinutes(15);

    private final GatewayConfig config;
    private final List<SimulatorServer> simulators;
    private final ExecutorService workers;
    private final ExecutorService apiPool;
    private final ScheduledExecutorService analytics;
    private final Ledger ledger;
    private final AccountingCore accounting;
    private final BudgetBook budgets;
    private final KeyRegistry keys;
    private final GatewayServer server;
    private final PrometheusMeterRegistry meterRegistry;
    /** Where the admin key the gateway made for itself is kept; {@code null} when the config sets one (or none). */
    private final Path adminKeyFile;
    private final ProbeRunner probes;
    /** The cluster's Redis; {@code null} on a single node. */
    private final RedisLink redis;
    /** The budgets shared on it; {@code null} on a single node. */
    private final RedisBudgets sharedBudgets;
    /** The span export, {@code null} when {@code telemetry} is off. */
    private final OtlpTracing tracing;

    private GatewayApp(GatewayConfig config, List<SimulatorServer> simulators, ExecutorService workers,
                       ExecutorService apiPool, ScheduledExecutorService analytics, Ledger ledger,
                       AccountingCore accounting, BudgetBook budgets,
                       KeyRegistry keys, GatewayServer server, PrometheusMeterRegistry meterRegistry,
                       Path adminKeyFile, ProbeRunner probes, OtlpTracing tracing, RedisLink redis,
                       RedisBudgets sharedBudgets) {
        this.config = config;
        this.simulators = simulators;
        this.workers = workers;
        this.apiPool = apiPool;
        this.analytics = analytics;
        this.ledger = ledger;
        this.accounting = accounting;
        this.budgets = budgets;
        this.keys = keys;
        this.server = server;
        this.meterRegistry = meterRegistry;
        this.adminKeyFile = adminKeyFile;
        this.probes = probes;
        this.tracing = tracing;
        this.redis = redis;
        this.sharedBudgets = sharedBudgets;
    }

    /** The demo key of the shipped config, shown in the ready block when a team has it. */
    static final String DEMO_KEY = "tw-demo-key";

    public static GatewayApp start(GatewayConfig config) throws InterruptedException {
        return start(config, List.of());
    }

    /** Starts the gateway; {@code extraSinks} also receive every usage record (tests, embedders). */
    public static GatewayApp start(GatewayConfig config, List<UsageSink> extraSinks) throws InterruptedException {
        ExecutorService workers = Executors.newFixedThreadPool(config.server().workerThreads(),
                new DefaultThreadFactory("tokenwise-worker", true));
        // Local APIs that read the ledger run here, never on an event loop.
        ExecutorService apiPool = Executors.newFixedThreadPool(2, new DefaultThreadFactory("tokenwise-api", true));
        ScheduledExecutorService analytics = Executors.newSingleThreadScheduledExecutor(
                new DefaultThreadFactory("tokenwise-analytics", true));
        List<SimulatorServer> simulators = new ArrayList<>();
        Ledger ledger = null;
        AccountingCore accounting = null;
        BudgetBook budgets = null;
        OtlpTracing tracing = null;
        RedisLink redis = null;
        try {
            // Load the encodings now, on this thread, so no first call waits for a vocabulary to load.
            TokenizerTable tokenizers = new TokenizerTable();
            tokenizers.warmUp();
            TokenCounter counter = new JtokkitTokenCounter(tokenizers, workers, JtokkitTokenCounter.DEFAULT_CACHE_ENTRIES);
            Map<String, ProviderConfig> providers = new LinkedHashMap<>();
            Map<String, ProviderAdapter> adapters = new LinkedHashMap<>();
            for (ProviderConfig provider : config.providers().values()) {
                if (!provider.enabled()) {
                    providers.put(provider.name(), provider);
                    continue;
                }
                if ("simulator".equals(provider.type())) {
                    SimulatorSettings settings = withModels(SimulatorSettings.fromOptions(provider.name(),
                            provider.options()), config, provider.name());
                    SimulatorServer simulator = SimulatorServer.start(settings, counter);
                    simulators.add(simulator);
                    provider = provider.withBaseUrl(simulator.baseUrl());
                    log.warn("Provider {} is the built-in SIMULATOR: its models ({}) give synthetic answers, not a real model's",
                            provider.name(), String.join(", ", settings.models()));
                }
                providers.put(provider.name(), provider);
                adapters.put(provider.name(), ProviderAdapters.create(provider));
            }
            GatewayConfig withProviders = config.withProviders(providers);
            AdminKeyFile.Key madeAdminKey = null;
            if (withProviders.adminKey() == null && !withProviders.adminOff()) {
                madeAdminKey = AdminKeyFile.readOrCreate(AdminKeyFile.beside(withProviders.storagePath()));
                withProviders = withProviders.withAdminKey(madeAdminKey.value());
                log.info("Admin key {} {} (read it with: cat {}); set admin.key in the config to choose one, or"
                        + " admin: {{key: off}} to turn the admin API off", madeAdminKey.created() ? "made and kept in"
                        : "read from", madeAdminKey.file(), madeAdminKey.file());
            }
            GatewayConfig running = withProviders;
            budgets = new BudgetBook(running.budgets().zone(), running.budgets().softThresholdPercent(),
                    System::currentTimeMillis, REAP_EVERY_MILLIS);
            boolean strict = running.storageSync() == StorageSync.STRICT;
            ledger = openLedger(running, strict ? SqliteLedger.Sync.STRICT : SqliteLedger.Sync.NORMAL);
            KeyRegistry keys = new KeyRegistry();
            // Teams and keys: the store wins, the config seeds what it does not know; spend of the
            // current period is restored from the ledger into the budgets.
            TeamDirectory directory = TeamDirectory.load(running, ledger, ledger, keys, budgets,
                    System::currentTimeMillis);
            // Cluster mode: reservations are made against Redis, which every instance shares (docs/cluster.md).
            RedisBudgets sharedBudgets = null;
            if (running.cluster().enabled()) {
                redis = RedisLink.open(running.cluster());
                sharedBudgets = new RedisBudgets(redis);
                if (running.storage().postgres()) {
                    // A shared ledger holds every instance's calls: what a killed instance had not yet booked in
                    // Redis is booked from it (docs/cluster.md, "Instance killed"). Ledger reads run on apiPool.
                    sharedBudgets.reconcileFrom(ledger::instanceSpentNanos, apiPool);
                }
                budgets.shareWith(sharedBudgets);
                RedisBudgets shared = sharedBudgets;
                BudgetBook book = budgets;
                java.util.concurrent.atomic.AtomicInteger ticks = new java.util.concurrent.atomic.AtomicInteger();
                redis.onTick(() -> {
                    if (ticks.incrementAndGet() % CLUSTER_REFRESH_TICKS == 0) {
                        shared.refresh(book); // what the other instances spent, for this one's views and alerts
                    }
                });
                if (redis.up()) {
                    // Redis is authoritative while it is up: this period's spend as it holds it replaces what the
                    // ledger restored (which knows only this instance's calls).
                    try {
                        shared.refresh(book).get(RedisLink.COMMAND_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
                    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                        log.warn("Cluster mode: this period's spend could not be read from Redis at start-up ({});"
                                + " it is read again within a second", e.toString());
                    }
                }
            }
            // Rate limits: the first admission stage (before the budget), in memory on the event loops.
            RateLimiter rateLimiter = new RateLimiter(System::nanoTime);
            RateLimitDirectory rateLimits = RateLimitDirectory.load(running, ledger, rateLimiter, directory,
                    System::currentTimeMillis);
            if (redis != null) {
                // Budgets, keys, revocations and rate limits set through the admin API reach every instance.
                new AdminFeed(redis, directory, rateLimits, apiPool).start();
            }
            // Intelligence efficiency: alerts, per-task tracking (after the ledger, which decides retries),
            // and a drift detector over the ledger's daily buckets.
            PrometheusMeterRegistry meterRegistry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
            AlertBook alerts = new AlertBook(System::currentTimeMillis, meterRegistry);
            int softPercent = running.budgets().softThresholdPercent();
            budgets.onSoftThreshold((team, keyId, snapshot) ->
                    alerts.budgetThreshold(team, keyId, snapshot, softPercent));
            if (running.budgets().allowUnpriced()) {
                alerts.unpricedModels(running.models().values().stream().filter(m -> m.price() == null)
                        .map(ModelConfig::name).toList(), running.budgets().unpricedReserveNanos());
            }
            // The billing audit (and token inflation) resumes from the windows it saved in the ledger.
            PriceCatalog auditPrices = model -> Optional.ofNullable(running.models().get(model)).map(ModelConfig::price);
            Ledger auditLedger = ledger;
            TokenInflation inflation = new TokenInflation(alerts, InflationSettings.DEFAULTS, auditPrices,
                    (model, from, to) -> auditLedger.audit().teamInput(model, from, to), System::currentTimeMillis);
            EfficiencyTracker efficiency = new EfficiencyTracker(alerts, counter::isExact,
                    EfficiencySettings.DEFAULTS.withTaskIdle(TASK_IDLE), System::currentTimeMillis, inflation);
            efficiency.audit().restore(ledger.audit());
            efficiency.audit().schedule(analytics, AUDIT_SAVE_EVERY, INFLATION_CHECK_EVERY, System::currentTimeMillis);
            List<UsageSink> sinks = new ArrayList<>();
            sinks.add(ledger);
            sinks.add(efficiency);
            // Savings a provider's prompt cache could make: long prompt prefixes repeated without being read from it.
            PromptCacheWatch promptCache = new PromptCacheWatch(alerts,
                    model -> Optional.ofNullable(running.models().get(model)).map(ModelConfig::price),
                    System::currentTimeMillis);
            promptCache.schedule(analytics);
            sinks.add(promptCache);
            // Metrics (issue 5): Prometheus meters and HdrHistogram latency, fed as sinks; gauges bound to live state.
            Supplier<List<Budget.Snapshot>> teamBudgets = () -> directory.teams().stream()
                    .map(TeamDirectory.TeamView::budgetState).filter(Objects::nonNull).toList();
            GatewayMeters meters = new GatewayMeters(meterRegistry, MeterSettings.DEFAULTS, running.models().keySet())
                    .bindJvm().bindLedger(ledger).bindAlerts(alerts).bindBudgets(teamBudgets).bindEfficiency(efficiency);
            LatencyBook latency = new LatencyBook(meters::modelLabel, System::currentTimeMillis);
            latency.schedule(analytics, Duration.ofSeconds(1));
            meters.bindLatency(latency);
            if (redis != null) {
                RedisLink link = redis;
                RedisBudgets shared = sharedBudgets;
                io.micrometer.core.instrument.Gauge.builder("tokenwise.cluster.redis.up", link, l -> l.up() ? 1 : 0)
                        .description("1 while this instance reaches the cluster's Redis, else 0 (calls with a budget"
                                + " are refused)").register(meterRegistry);
                io.micrometer.core.instrument.Gauge.builder("tokenwise.cluster.settlements.pending", shared,
                        RedisBudgets::pendingSettlements).description("Settlements waiting for Redis to be back")
                        .register(meterRegistry);
                FunctionCounter.builder("tokenwise.cluster.reconciled.nanos", shared,
                        b -> b.reconciled().addedNanos()).description("Nano-USD of dead instances' spend booked in"
                        + " Redis from the shared ledger (they had ended and not been booked when the instance stopped)")
                        .register(meterRegistry);
            }
            sinks.add(meters);
            sinks.add(latency);
            // Efficiency routes: rebuilt from the ledger, then taught by routed calls and by every outcome reported.
            Router router = Routing.router(running, ledger.tasks(), System::currentTimeMillis);
            sinks.add(router);
            efficiency.onOutcome(router::outcome);
            if (running.storage().postgres() && !running.routes().isEmpty()) {
                Routing.shareThroughLedger(router, ledger.tasks(), analytics, System::currentTimeMillis,
                        Routing.SHARED_REFRESH);
            }
            if (running.logging().access()) {
                AccessLog accessLog = new AccessLog(running.logging().format(), System.out);
                sinks.add(accessLog);
                FunctionCounter.builder("tokenwise.access_log.dropped", accessLog, AccessLog::dropped)
                        .description("Access-log lines dropped because standard output did not keep up")
                        .register(meterRegistry);
            }
            sinks.addAll(extraSinks);
            accounting = new AccountingCore(sinks, RECORD_QUEUE_CAPACITY, RECENT_RECORDS,
                    strict ? STRICT_DELIVERY_NAP_NANOS : DELIVERY_NAP_NANOS);
            meters.bindAccounting(accounting);
            Ledger store = ledger;
            PriceCatalog listPrices = model -> Optional.ofNullable(running.models().get(model)).map(ModelConfig::price);
            DriftDetector drift = new DriftDetector(store.tasks(), alerts, listPrices, DriftSettings.DEFAULTS);
            drift.schedule(analytics, DRIFT_CHECK_EVERY, System::currentTimeMillis);
            ProbeConfig probeConfig = running.probes();
            ProbeMonitor probeMonitor = probeConfig == null ? null : new ProbeMonitor(alerts, store.tasks(),
                    DriftSettings.DEFAULTS, probeConfig.referenceRuns(), probeConfig.interval());
            ProbesRoute.Settings probeSettings = probeConfig == null ? null : new ProbesRoute.Settings(
                    probeConfig.interval().toSeconds(), probeConfig.tasksPerRun(), probeConfig.suite(),
                    probeConfig.team(), probeConfig.referenceRuns());
            java.util.concurrent.atomic.AtomicReference<GatewayServer> started = new java.util.concurrent.atomic.AtomicReference<>();
            List<ApiRoute> routes = List.of(
                    new HealthRoute(store, accounting, () -> started.get() == null ? Map.of() : started.get().providerHealth(),
                            redis, java.util.stream.Stream.of(budgets.reaper(), redis == null ? null : redis.watcher())
                                    .filter(java.util.Objects::nonNull).toList()),
                    new RequestsRoute(accounting, store::find, apiPool, retryLookup(store, apiPool)),
                    new UsageRoute(store, apiPool),
                    new PricesRoute(prices(running)),
                    new TasksRoute(store, efficiency, apiPool),
                    new EfficiencyRoute(store, efficiency, apiPool),
                    new AlertsRoute(alerts),
                    new DriftRoute(drift, probeMonitor, apiPool, System::currentTimeMillis),
                    new ProbesRoute(probeMonitor, probeSettings, apiPool),
                    new MetricsRoute(meterRegistry, meters, apiPool, running.adminKey() != null),
                    new LatencyRoute(latency, store, apiPool),
                    new RecentCallsRoute(store, apiPool),
                    new DashboardSummaryRoute(store, teamBudgets, running.budgets().softThresholdPercent(), apiPool),
                    new DashboardRoute(),
                    new AdminRoutes(running, directory, rateLimits, apiPool),
                    new RoutesRoute(router, Routing.available(running,
                            () -> started.get() == null ? Map.of() : started.get().providerHealth())));
            // The response cache: the second admission stage, after the rate limits (a hit counts as a request) and
            // before the budget (a hit reserves and costs nothing).
            List<AdmissionStage> stages = new ArrayList<>();
            // Spans first, so that a call a later stage refuses has one too.
            if (running.telemetry().enabled()) {
                tracing = OtlpTracing.start(running.telemetry(), providerSystems(running), meterRegistry,
                        running.cluster().instanceId());
                stages.add(tracing.stage());
            }
            stages.add(rateLimiter);
            if (redis != null) {
                stages.add(new SharedRateLimits(rateLimiter, redis, running.budgets().reservationTimeout())); // across the cluster
            }
            if (running.cache().enabled()) {
                ResponseCache cache = new ResponseCache(running.cache(), new ObjectMapper());
                stages.add(cache);
                meters.bindResponseCache(cache);
            }
            GatewayServer server = GatewayServer.start(running, adapters, counter, accounting, budgets, keys, routes,
                    strict ? store::whenCommitted : null, new LearntCalibration(efficiency), stages, router);
            started.set(server);
            meters.bindProviders(server.providerHealth()).bindUpstreamPool(server.upstreamPool());
            if (running.adminKey() == null) {
                log.info("admin.key is off: the admin API and the dashboard are disabled");
            }
            // Probes call the gateway's own port as a client, so they start once it listens.
            ProbeRunner probes;
            try {
                probes = probeConfig == null ? null : ProbeRunner.start(probeConfig, directory, probeMonitor,
                        store.tasks(), URI.create("http://" + loopbackHost(running.server().host()) + ":" + server.port()),
                        System::currentTimeMillis);
            } catch (RuntimeException e) {
                server.shutdown(0);
                throw e;
            }
            return new GatewayApp(running, simulators, workers, apiPool, analytics, ledger, accounting, budgets, keys,
                    server, meterRegistry, madeAdminKey == null ? null : madeAdminKey.file(), probes, tracing, redis,
                    sharedBudgets);
        } catch (InterruptedException | RuntimeException e) {
            simulators.forEach(SimulatorServer::close);
            if (accounting != null) {
                accounting.close(); // closes the ledger too, after handing it every record
            } else if (ledger != null) {
                ledger.close();
            }
            if (budgets != null) {
                budgets.close();
            }
            if (tracing != null) {
                tracing.close();
            }
            if (redis != null) {
                redis.close();
            }
            workers.shutdownNow();
            apiPool.shutdownNow();
            analytics.shutdownNow();
            throw e;
        }
    }

    /**
     * The GenAI {@code gen_ai.provider.name} of each configured provider: the convention's name for the APIs it
     * names, {@code tokenwise.simulator} for the built-in simulator.
     */
    private static Map<String, String> providerSystems(GatewayConfig config) {
        Map<String, String> systems = new LinkedHashMap<>();
        for (ProviderConfig p : config.providers().values()) {
            systems.put(p.name(), switch (p.type()) {
                case "anthropic" -> "anthropic";
                case "azure_openai" -> "azure.ai.openai";
                case "gemini" -> "gcp.gemini";
                case "simulator" -> "tokenwise.simulator";
                default -> "openai";
            });
        }
        return systems;
    }

    /** The address the gateway's own clients (the probes) reach it at: loopback when it listens on every address. */
    private static String loopbackHost(String host) {
        if (host == null || host.isBlank() || host.equals("0.0.0.0") || host.equals("::") || host.equals("[::]")) {
            return "127.0.0.1";
        }
        return host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
    }

    /** Each configured model's price by name, in config order ({@code null} for an unpriced one). */
    private static Map<String, dev.tokenwise.core.model.ModelPrice> prices(GatewayConfig config) {
        Map<String, dev.tokenwise.core.model.ModelPrice> prices = new LinkedHashMap<>();
        config.models().values().forEach(m -> prices.put(m.name(), m.price()));
        return prices;
    }

    /**
     * A call's retry flag as the ledger decided it: read at once when the call is written, else once it is (the
     * record API may be asked for a call settled a few milliseconds ago), up to {@code waitMillis}.
     */
    /**
     * The ledger the config names: PostgreSQL at {@code storage.url}, else the SQLite file at {@code storage.path};
     * with {@code storage.retention_days}, its retention thread started.
     */
    static Ledger openLedger(GatewayConfig config, SqliteLedger.Sync sync) {
        Ledger ledger = config.storage().postgres() ? PostgresLedger.open(config.storage().url(), sync)
                : SqliteLedger.open(Path.of(config.storagePath()), sync);
        if (config.storage().retentionDays() > 0) {
            ledger.startRetention(config.storage().retentionDays(), RETENTION_EVERY);
        }
        return ledger;
    }

    private static RequestsRoute.RetryLookup retryLookup(Ledger store, ExecutorService apiPool) {
        return (id, waitMillis) -> {
            CompletableFuture<Void> committed = store.whenCommitted(id); // registered first: no commit slips between
            return CompletableFuture.supplyAsync(() -> store.tasks().retry(id), apiPool).thenCompose(found -> {
                if (found.isPresent()) {
                    committed.cancel(false);
                    return CompletableFuture.completedFuture(found);
                }
                return committed.orTimeout(waitMillis, TimeUnit.MILLISECONDS)
                        .handle((ok, error) -> error == null)
                        .thenApplyAsync(written -> written ? store.tasks().retry(id) : Optional.<Boolean>empty(), apiPool);
            });
        };
    }

    private static SimulatorSettings withModels(SimulatorSettings settings, GatewayConfig config, String provider) {
        List<String> models = config.models().values().stream()
                .filter(m -> m.provider().equals(provider))
                .map(ModelConfig::upstreamName)
                .toList();
        if (models.isEmpty() || settings.models().containsAll(models) && models.containsAll(settings.models())) {
            return settings;
        }
        return settings.withModels(models, settings.skills());
    }

    public int port() {
        return server.port();
    }

    /**
     * What a person starting the gateway needs to read once it is up: where it listens, the dashboard, where the
     * admin key is (never the key), the demo key when it is the shipped one, one call to try, and whether the
     * simulator answers instead of a real provider.
     */
    public List<String> readyBlock() {
        String base = "http://" + config.server().host() + ":" + port();
        List<String> lines = new ArrayList<>();
        lines.add("Tokenwise is ready.");
        lines.add("  Listening:  " + base + "  (point OpenAI clients at " + base + "/v1)");
        if (config.adminKey() == null) {
            lines.add("  Dashboard:  " + base + "/dashboard  (team keys only: admin.key is off)");
        } else {
            lines.add("  Dashboard:  " + base + "/dashboard");
            lines.add("  Admin key:  " + (adminKeyFile == null ? "the one set in the config (admin.key)"
                    : "cat " + adminKeyFile + "   (sign in to the dashboard and the admin API with it)"));
        }
        String demoHash = dev.tokenwise.core.auth.KeyHashes.sha256Hex(DEMO_KEY);
        boolean demo = config.teams().stream().flatMap(t -> t.keys().stream()).anyMatch(k -> k.keyHash().equals(demoHash));
        List<String> simulated = config.models().values().stream()
                .filter(m -> "simulator".equals(config.providers().get(m.provider()).type())
                        && config.providers().get(m.provider()).enabled())
                .map(ModelConfig::name).toList();
        String model = simulated.isEmpty() ? config.models().keySet().stream().findFirst().orElse("MODEL")
                : simulated.get(0);
        if (demo) {
            lines.add("  Demo key:   " + DEMO_KEY + "  (team " + config.teams().stream().filter(t -> t.keys().stream()
                    .anyMatch(k -> k.keyHash().equals(demoHash))).findFirst().orElseThrow().name() + ")");
        }
        lines.add("  Try:        curl -s " + base + "/v1/chat/completions -H 'Authorization: Bearer "
                + (demo ? DEMO_KEY : "<your key>") + "' -H 'Content-Type: application/json' -d '{\"model\":\"" + model
                + "\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}'");
        if (!simulated.isEmpty()) {
            lines.add("  Note:       " + String.join(", ", simulated)
                    + " are answered by the built-in SIMULATOR (synthetic text, simulated prices), not a real model;"
                    + " set a provider's key variable (e.g. OPENAI_API_KEY) for real ones");
        }
        return lines;
    }

    public GatewayConfig config() {
        return config;
    }

    public AccountingCore accounting() {
        return accounting;
    }

    public Ledger ledger() {
        return ledger;
    }

    public BudgetBook budgets() {
        return budgets;
    }

    /** The cluster's Redis link, or {@code null} on a single node. */
    public RedisLink redis() {
        return redis;
    }

    public KeyRegistry keys() {
        return keys;
    }

    public GatewayServer server() {
        return server;
    }

    /** The registry {@code GET /metrics} scrapes. */
    public PrometheusMeterRegistry meterRegistry() {
        return meterRegistry;
    }

    /**
     * Stops accepting, lets in-flight calls finish for up to {@code graceMillis}, flushes every record.
     *
     * @return the calls taken since start whose records the ledger did not write: settled and not written (it
     *     could not, or never got them: the errors are logged), or never settled at all; 0 when the books are whole
     */
    public long shutdown(long graceMillis) {
        if (probes != null) {
            probes.close();
        }
        server.shutdown(graceMillis);
        analytics.shutdownNow();
        accounting.close(); // hands every record to the sinks, then closes them (the ledger commits and closes)
        long neverSettled = accounting.inFlightCount();
        if (neverSettled > 0) {
            log.error("{} calls were still in flight at shutdown and were never booked", neverSettled);
        }
        long unwritten = Math.max(0, accounting.dispatcher().offered() - ledger.committedRecords()) + neverSettled;
        if (tracing != null) {
            tracing.close(); // every call has settled: its span is queued; export what is, briefly
        }
        meterRegistry.close();
        if (redis != null) {
            try {
                sharedBudgets.returnSlices(); // every call has ended: what the slices hold goes back to the others
                sharedBudgets.drain(2_000); // the settlements of the calls that just ended
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            redis.close();
        }
        apiPool.shutdown();
        simulators.forEach(SimulatorServer::close);
        workers.shutdown();
        try {
            workers.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return unwritten;
    }

    @Override
    public void close() {
        shutdown(0);
    }
}
