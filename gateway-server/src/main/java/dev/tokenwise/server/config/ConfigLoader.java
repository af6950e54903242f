package dev.tokenwise.server.config;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tokenwise.core.auth.KeyHashes;
import dev.tokenwise.core.config.BudgetConfig;
import dev.tokenwise.core.config.BudgetSettings;
import dev.tokenwise.core.config.CacheConfig;
import dev.tokenwise.core.config.ClusterConfig;
import dev.tokenwise.core.config.LoggingConfig;
import dev.tokenwise.core.config.TelemetryConfig;
import dev.tokenwise.core.config.StorageConfig;
import dev.tokenwise.core.config.Resilience;
import dev.tokenwise.core.config.StorageSync;
import dev.tokenwise.core.config.BudgetPeriod;
import dev.tokenwise.core.config.ConfigException;
import dev.tokenwise.core.config.GatewayConfig;
import dev.tokenwise.core.config.KeyConfig;
import dev.tokenwise.core.config.ModelConfig;
import dev.tokenwise.core.config.ProbeConfig;
import dev.tokenwise.core.config.RouteConfig;
import dev.tokenwise.core.config.ProviderConfig;
import dev.tokenwise.core.config.RateLimitConfig;
import dev.tokenwise.core.config.RateLimits;
import dev.tokenwise.core.config.ServerConfig;
import dev.tokenwise.core.config.TeamConfig;
import dev.tokenwise.core.model.ModelPrice;
import dev.tokenwise.core.model.Money;
import dev.tokenwise.core.spi.PriceCatalog;
import dev.tokenwise.providers.ProviderType;
import dev.tokenwise.providers.pricing.LiteLlmPriceImport;
import dev.tokenwise.providers.pricing.YamlPriceCatalog;
import dev.tokenwise.providers.simulator.SimulatedSkill;
import dev.tokenwise.eval.SuiteException;
import dev.tokenwise.eval.TaskSuites;
import java.io.IOException;
import java.math.BigDecimal;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads {@code gateway.yaml} into a validated {@link GatewayConfig}.
 *
 * <p>The YAML is read into a tree first; every scalar is then expanded from the environment
 * ({@code ${VAR}}, {@code ${VAR:-default}}, {@code $$}, see {@link EnvExpander}) and typed by hand, so a
 * variable's value can never add YAML structure and money is read from its text as {@link BigDecimal}, never
 * through a {@code double}. Every error is a {@link ConfigException} whose message starts with the file name
 * and names the YAML path, e.g. {@code "config/gateway.yaml: server.port: 'abc' (expected: an integer)"}.
 *
 * <p>Soft problems are logged once each as warnings instead of failing: a provider whose {@code api_key}
 * expands to empty is disabled, a model without a price is recorded at cost 0, a configured price catalog
 * file that does not exist is replaced by an empty one.
 *
 * <pre>{@code
 * GatewayConfig config = ConfigLoader.load(Path.of("config/gateway.yaml"), System.getenv(),
 *         catalogFile -> PriceCatalogs.fromYaml(catalogFile));
 * }</pre>
 */
public final class ConfigLoader {

    private static final Logger LOG = LoggerFactory.getLogger(ConfigLoader.class);

    /** The catalog looked for beside the config file when it has no {@code pricing:} section. */
    static final String DEFAULT_CATALOG = "prices.yaml";
    static final String DEFAULT_STORAGE_PATH = "data/tokenwise.db";
    static final long DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
    static final long DEFAULT_READ_TIMEOUT_MS = 120_000;
    static final int DEFAULT_MAX_IDLE_CONNECTIONS = 64;

    private static final List<String> TOP_KEYS =
            List.of("server", "admin", "storage", "pricing", "budgets", "providers", "models", "teams", "rate_limits",
                    "cache", "probes", "telemetry", "logging", "routes", "cluster", "instance_id");
    private static final List<String> TELEMETRY_KEYS = List.of("otlp_endpoint", "service_name", "sample_ratio",
            "headers");
    private static final List<String> ROUTE_KEYS = List.of("name", "candidates", "min_success_rate", "exploration",
            "metric", "threshold");
    private static final List<String> PROBE_KEYS = List.of("interval_seconds", "models", "tasks_per_run", "suite", "team",
            "reference_runs");
    private static final List<String> CACHE_KEYS = List.of("enabled", "ttl_seconds", "max_mib", "mode", "scope");
    /** The most {@code cache.max_mib} may be: 1 TiB, far beyond any heap. */
    private static final long MAX_CACHE_MIB = 1L << 20;
    private static final List<String> SERVER_KEYS = List.of("host", "port", "max_request_bytes",
            "max_header_bytes", "io_threads", "worker_threads", "request_read_timeout_ms");
    private static final List<String> MODEL_KEYS = List.of("name", "provider", "upstream_name", "price", "region",
            "fallbacks", "rate_limits", "simulate");
    private static final List<String> SIMULATE_KEYS = List.of("accuracy", "verbosity", "seed", "degrade");
    private static final List<String> DEGRADE_KEYS = List.of("after_calls", "after_seconds", "accuracy", "verbosity");
    private static final List<String> PRICE_KEYS = List.of("input_per_mtok", "output_per_mtok",
            "cached_input_per_mtok", "cache_write_per_mtok", "cache_write_1h_per_mtok", "reasoning_per_mtok",
            "max_output_tokens", "above_input_tokens", "service_tiers", "regions", "checked");
    /** The scalar prices of a price block, checked here first so that their messages name the YAML path. */
    private static final List<String> SCALAR_PRICE_KEYS = List.of("input_per_mtok", "output_per_mtok",
            "cached_input_per_mtok", "cache_write_per_mtok", "cache_write_1h_per_mtok", "reasoning_per_mtok");
    static final long DEFAULT_STALE_AFTER_DAYS = 120;
    private static final List<String> TEAM_KEYS = List.of("name", "budget", "keys", "rate_limits");
    private static final List<String> BUDGET_KEYS = List.of("limit_usd", "period");
    private static final List<String> KEY_KEYS = List.of("key", "name", "models", "budget", "rate_limits");
    private static final List<String> RATE_LIMIT_KEYS = List.of("requests_per_minute", "tokens_per_minute",
            "concurrent_requests");

    private static final PriceCatalog EMPTY_CATALOG = model -> Optional.empty();

    private ConfigLoader() {
    }

    /**
     * Reads and validates {@code file}; a relative {@code pricing.catalog} is resolved against the file's directory.
     *
     * @param env the environment used for {@code ${VAR}} expansion, normally {@link System#getenv()}
     * @param catalogLoader reads a price catalog file; called at most once, only for a file that exists
     * @throws ConfigException when the file is missing or invalid; the message starts with the file name
     */
    public static GatewayConfig load(Path file, Map<String, String> env, Function<Path, PriceCatalog> catalogLoader) {
        return logged(read(file, env, catalogLoader));
    }

    /**
     * Parses and validates {@code yaml}, e.g. a config held in memory by a test.
     *
     * @param baseDir the directory a relative {@code pricing.catalog} is resolved against; {@code null} means
     *     the working directory
     */
    public static GatewayConfig parse(String yaml, Path baseDir, Map<String, String> env,
                                      Function<Path, PriceCatalog> catalogLoader) {
        return logged(read(yaml, null, baseDir, env, catalogLoader));
    }

    /** A loaded config and the warnings {@link #load} logs for it, in order. */
    record Loaded(GatewayConfig config, List<String> warnings) {
        Loaded {
            warnings = List.copyOf(warnings);
        }
    }

    static Loaded read(Path file, Map<String, String> env, Function<Path, PriceCatalog> catalogLoader) {
        return read(file, env, catalogLoader, LocalDate.now(ZoneOffset.UTC));
    }

    /** {@link #read(Path, Map, Function)} on {@code today}, the day stale prices are counted from. */
    static Loaded read(Path file, Map<String, String> env, Function<Path, PriceCatalog> catalogLoader, LocalDate today) {
        String yaml;
        try {
            yaml = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new ConfigException("config file not found: " + file.toAbsolutePath().normalize(), e);
        } catch (IOException e) {
            throw new ConfigException("config file " + file + " cannot be read: " + e, e);
        }
        return read(yaml, file.toString(), file.toAbsolutePath().getParent(), env, catalogLoader, today);
    }

    static Loaded read(String yaml, String source, Path baseDir, Map<String, String> env,
                       Function<Path, PriceCatalog> catalogLoader) {
        return read(yaml, source, baseDir, env, catalogLoader, LocalDate.now(ZoneOffset.UTC));
    }

    static Loaded read(String yaml, String source, Path baseDir, Map<String, String> env,
                       Function<Path, PriceCatalog> catalogLoader, LocalDate today) {
        String prefix = source == null ? "" : source + ": ";
        try {
            return new Reader(env, baseDir == null ? Path.of("") : baseDir, catalogLoader, today).read(yaml);
        } catch (ConfigException e) {
            throw source == null ? e : new ConfigException(prefix + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw new ConfigException(prefix + "invalid configuration: " + e, e);
        }
    }

    private static GatewayConfig logged(Loaded loaded) {
        for (String warning : loaded.warnings()) {
            LOG.warn("{}", warning);
        }
        return loaded.config();
    }

    /** The label of a key written without a {@code name}: {@code "key-"} and 8 hex digits of its SHA-256. */
    static String defaultKeyName(String key) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
            return "key-" + HexFormat.of().formatHex(digest, 0, 4);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    /** One pass over one document; collects warnings instead of logging them, so a failed load logs nothing. */
    private static final class Reader {
        private final EnvExpander env;
        private final Path baseDir;
        private final Function<Path, PriceCatalog> catalogLoader;
        private final List<String> catalogWarnings = new ArrayList<>();
        /** The {@code rate_limits:} of teams, keys (by id) and models, as they are read. */
        private final Map<String, RateLimits> teamLimits = new HashMap<>();
        private final Map<String, RateLimits> keyLimits = new HashMap<>();
        private final Map<String, RateLimits> modelLimits = new HashMap<>();
        /** Models without a price, warned about once the pricing policy is known. */
        private final List<String> unpricedWarnings = new ArrayList<>();
        /** Prices imported from a LiteLLM price file ({@code pricing.litellm}), for models the catalog lacks. */
        private PriceCatalog litellm = EMPTY_CATALOG;
        /** Per simulator provider, the {@code simulate.<model>} options written from model entries. */
        private final Map<String, Map<String, String>> skillOptions = new LinkedHashMap<>();
        /** The day prices are dated against ({@code pricing.stale_after_days}). */
        private final LocalDate today;
        /** Disabled providers by name, with the variables their {@code api_key} refers to. */
        private final Map<String, List<String>> disabled = new LinkedHashMap<>();

        /** The environment as given, for the standard {@code OTEL_*} variables. */
        private final Map<String, String> rawEnv;

        Reader(Map<String, String> env, Path baseDir, Function<Path, PriceCatalog> catalogLoader, LocalDate today) {
            this.today = today;
            this.rawEnv = env;
            this.env = new EnvExpander(env);
            this.baseDir = baseDir;
            this.catalogLoader = Objects.requireNonNull(catalogLoader, "catalogLoader");
        }

        /** {@code cluster:} and {@code instance_id}. */
        private ClusterConfig cluster(ConfigSection root) {
            ConfigSection cluster = root.section("cluster");
            cluster.allowOnly(List.of("redis_url", "on_redis_down", "lease_percent", "booking_delay_ms"));
            String url = cluster.string("redis_url").filter(u -> !u.isBlank()).orElse(null);
            ClusterConfig.OnRedisDown onDown = cluster.string("on_redis_down")
                    .map(v -> ClusterConfig.OnRedisDown.parse(v, "cluster.on_redis_down"))
                    .orElse(ClusterConfig.OnRedisDown.FAIL_CLOSED);
            String instanceId = root.string("instance_id").filter(i -> !i.isBlank())
                    .orElseGet(ClusterConfig::defaultInstanceId);
            int leasePercent = (int) cluster.integer("lease_percent", ClusterConfig.DEFAULT_LEASE_PERCENT, 0,
                    ClusterConfig.MAX_LEASE_PERCENT);
            if (onDown == ClusterConfig.OnRedisDown.LOCAL_SHARE && leasePercent == 0) {
                throw new ConfigException("cluster.on_redis_down: 'local_share' admits against the budget slices an"
                        + " instance holds, and cluster.lease_percent: 0 leases none (expected: fail_closed, or a"
                        + " lease_percent of 1.." + ClusterConfig.MAX_LEASE_PERCENT + ")");
            }
            long bookingDelayMillis = cluster.integer("booking_delay_ms", ClusterConfig.DEFAULT_BOOKING_DELAY_MILLIS, 1,
                    ClusterConfig.MAX_BOOKING_DELAY_MILLIS);
            return new ClusterConfig(url, onDown, instanceId, leasePercent, bookingDelayMillis);
        }

        Loaded read(String yaml) {
            ConfigSection root = ConfigSection.of(YamlTreeReader.read(yaml), "", env);
            root.allowOnly(TOP_KEYS);
            ServerConfig server = server(root.section("server"));
            ConfigSection admin = root.section("admin");
            admin.allowOnly(List.of("key"));
            String adminKey = admin.string("key").orElse(null);
            boolean adminOff = "off".equalsIgnoreCase(adminKey);
            ConfigSection storage = root.section("storage");
            storage.allowOnly(List.of("path", "sync", "url", "retention_days"));
            String storageUrl = storage.string("url").orElse(null);
            if (storageUrl != null && !storageUrl.isBlank() && storage.string("path").isPresent()) {
                throw new ConfigException("storage: both path and url are set (expected one: path for the SQLite file, "
                        + "url for PostgreSQL)");
            }
            StorageConfig storageConfig = new StorageConfig(storageUrl,
                    (int) storage.integer("retention_days", 0, 0, 36_500));
            String storagePath = storage.string("path").orElse(DEFAULT_STORAGE_PATH);
            StorageSync storageSync = storage.string("sync").map(v -> StorageSync.parse(v, "storage.sync"))
                    .orElse(StorageSync.NORMAL);
            PriceCatalog catalog = catalog(root);
            litellm = litellm(root);
            Map<String, ProviderConfig> providers = providers(root.section("providers"));
            Map<String, ModelConfig> models = models(root, providers, catalog);
            providers = withSkills(providers);
            Map<String, RouteConfig> routes = routes(root, models);
            Map<String, Object> callable = new LinkedHashMap<>(models);
            callable.putAll(routes);
            List<TeamConfig> teams = teams(root, callable);
            BudgetSettings budgets = budgets(root.section("budgets"), root.section("pricing"));
            ConfigSection limits = root.section("rate_limits");
            limits.allowOnly(List.of("upstream_max_wait_ms"));
            RateLimitConfig rateLimits = new RateLimitConfig(teamLimits, keyLimits, modelLimits,
                    Duration.ofMillis(limits.integer("upstream_max_wait_ms",
                            RateLimitConfig.NONE.upstreamMaxWait().toMillis(), 0, 600_000)));
            ProbeConfig probes = probes(root, models);
            GatewayConfig config = new GatewayConfig(server, adminOff ? null : adminKey, storagePath, providers, models,
                    teams, budgets, storageSync, rateLimits, adminOff, cache(root.section("cache")), probes,
                    telemetry(root.section("telemetry")), logging(root.section("logging")), routes,
                    cluster(root), storageConfig);
            // Catalog first, then providers, then unpriced models: the order in which one would fix them.
            List<String> all = new ArrayList<>(catalogWarnings);
            disabled.forEach((name, variables) -> all.add(disabledWarning(name, variables, models)));
            stalePrices(root.section("pricing"), models).ifPresent(all::add);
            for (String model : unpricedWarnings) {
                all.add(budgets.allowUnpriced()
                        ? "model " + model + " has no price: pricing.allow_unpriced lets its calls through at cost 0, each"
                        + " reserving " + Money.toUsd(budgets.unpricedReserveNanos()).toPlainString() + " USD of budget"
                        : "model " + model + " has no price: its calls are refused (model_not_priced) until it has one,"
                        + " or pricing.allow_unpriced is true");
            }
            return new Loaded(config, all);
        }

        /**
         * The {@code routes:} list: each route's name (never a model's, never twice), its candidates (configured
         * models), its bar, its exploration share and its metric ({@code success}, or {@code score} with a
         * {@code threshold}).
         */
        private Map<String, RouteConfig> routes(ConfigSection root, Map<String, ModelConfig> models) {
            Map<String, RouteConfig> routes = new LinkedHashMap<>();
            List<JsonNode> items = root.list("routes");
            for (int i = 0; i < items.size(); i++) {
                ConfigSection r = ConfigSection.of(items.get(i), "routes[" + i + "]", env);
                r.allowOnly(ROUTE_KEYS);
                String name = r.string("name").orElseThrow(() -> r.missing("name"));
                if (models.containsKey(name)) {
                    throw new ConfigException(r.pathOf("name") + ": '" + name
                            + "' (expected: a name no model has; models: lists it)");
                }
                if (routes.containsKey(name)) {
                    throw new ConfigException(r.pathOf("name") + ": '" + name + "' (expected: unique route names)");
                }
                List<String> candidates = new ArrayList<>();
                List<JsonNode> listed = r.list("candidates");
                for (int c = 0; c < listed.size(); c++) {
                    String path = r.pathOf("candidates") + "[" + c + "]";
                    String model = ConfigSection.scalar(listed.get(c), path, env)
                            .orElseThrow(() -> new ConfigException(path + ": missing"));
                    if (!models.containsKey(model)) {
                        throw new ConfigException(path + ": '" + model + "' (expected one of: "
                                + String.join(", ", models.keySet()) + ")");
                    }
                    candidates.add(model);
                }
                if (candidates.isEmpty()) {
                    throw new ConfigException(r.pathOf("candidates") + ": missing or empty (expected: a list of models)");
                }
                String metric = r.string("metric").orElse("success");
                Double threshold = null;
                if (metric.equals("score")) {
                    threshold = fraction(r, "threshold", Double.NaN);
                } else if (!metric.equals("success")) {
                    throw new ConfigException(r.pathOf("metric") + ": '" + metric + "' (expected: success or score)");
                } else if (r.has("threshold")) {
                    throw new ConfigException(r.pathOf("threshold") + ": set with metric: success (expected: only with"
                            + " metric: score)");
                }
                routes.put(name, new RouteConfig(name, candidates, fraction(r, "min_success_rate", Double.NaN),
                        fraction(r, "exploration", RouteConfig.DEFAULT_EXPLORATION), threshold));
            }
            return routes;
        }

        /**
         * The {@code probes:} section, or {@code null} without one. Its models must be configured; its team is created
         * at start-up if no team of that name exists (then without a budget); a suite file must load.
         */
        private ProbeConfig probes(ConfigSection root, Map<String, ModelConfig> models) {
            JsonNode node = root.node("probes");
            if (node == null || node.isNull()) {
                return null;
            }
            ConfigSection p = root.section("probes");
            p.allowOnly(PROBE_KEYS);
            List<String> probed = new ArrayList<>();
            List<JsonNode> items = p.list("models");
            for (int i = 0; i < items.size(); i++) {
                String path = p.pathOf("models") + "[" + i + "]";
                String model = ConfigSection.scalar(items.get(i), path, env)
                        .orElseThrow(() -> new ConfigException(path + ": missing"));
                if (!models.containsKey(model)) {
                    throw new ConfigException(path + ": '" + model + "' (expected one of: "
                            + String.join(", ", models.keySet()) + ")");
                }
                if (!probed.contains(model)) {
                    probed.add(model);
                }
            }
            if (probed.isEmpty()) {
                throw new ConfigException(p.pathOf("models") + ": missing (expected: a list of the models to probe)");
            }
            String suite = p.string("suite").orElse("builtin");
            if (!suite.equals("builtin")) {
                Path file = baseDir.resolve(suite);
                try {
                    TaskSuites.load(file);
                } catch (SuiteException e) {
                    throw new ConfigException(p.pathOf("suite") + ": " + e.getMessage(), e);
                }
                suite = file.toString();
            }
            String team = p.string("team").orElseThrow(() -> new ConfigException(p.pathOf("team")
                    + ": missing (expected: the team whose budget pays for the probes)"));
            return new ProbeConfig(Duration.ofSeconds(p.integer("interval_seconds", 3600, 1, 30L * 86_400)), probed,
                    (int) p.integer("tasks_per_run", ProbeConfig.DEFAULT_TASKS_PER_RUN, 1, 1000), suite, team,
                    (int) p.integer("reference_runs", ProbeConfig.DEFAULT_REFERENCE_RUNS, 2, 1000));
        }

        /**
         * {@code telemetry:}, off unless an endpoint is set. Each key the file sets wins; what it leaves unset is read
         * from the standard variables: {@code OTEL_EXPORTER_OTLP_TRACES_ENDPOINT} (the traces URL as it is), else
         * {@code OTEL_EXPORTER_OTLP_ENDPOINT} (a base URL, {@code /v1/traces} appended), {@code OTEL_SERVICE_NAME},
         * {@code OTEL_TRACES_SAMPLER_ARG} and {@code OTEL_EXPORTER_OTLP_TRACES_HEADERS} /
         * {@code OTEL_EXPORTER_OTLP_HEADERS}. {@code otlp_endpoint: off}, or {@code OTEL_SDK_DISABLED=true}, turns the
         * export off whatever the variables say.
         */
        private TelemetryConfig telemetry(ConfigSection t) {
            t.allowOnly(TELEMETRY_KEYS);
            TelemetryConfig d = TelemetryConfig.OFF;
            Optional<String> configured = t.string("otlp_endpoint");
            String endpoint;
            if (configured.isPresent()) {
                String value = configured.get().trim();
                if (!value.equalsIgnoreCase("off") && !TelemetryConfig.isHttpUrl(value)) {
                    throw new ConfigException(t.pathOf("otlp_endpoint") + ": " + t.quoted("otlp_endpoint", value)
                            + " (expected: an http:// or https:// URL, or off)");
                }
                endpoint = value.equalsIgnoreCase("off") ? null : TelemetryConfig.tracesUrl(value);
            } else if (notBlank(rawEnv.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))) {
                endpoint = httpUrlVariable("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
            } else if (notBlank(rawEnv.get("OTEL_EXPORTER_OTLP_ENDPOINT"))) {
                endpoint = TelemetryConfig.tracesUrl(httpUrlVariable("OTEL_EXPORTER_OTLP_ENDPOINT"));
            } else {
                endpoint = null;
            }
            if ("true".equalsIgnoreCase(String.valueOf(rawEnv.get("OTEL_SDK_DISABLED")).trim())) {
                endpoint = null;
            }
            String serviceName = t.string("service_name")
                    .orElse(notBlank(rawEnv.get("OTEL_SERVICE_NAME")) ? rawEnv.get("OTEL_SERVICE_NAME").trim()
                            : d.serviceName());
            double ratio;
            Optional<BigDecimal> configuredRatio = t.decimal("sample_ratio");
            if (configuredRatio.isPresent()) {
                ratio = configuredRatio.get().doubleValue();
            } else if (notBlank(rawEnv.get("OTEL_TRACES_SAMPLER_ARG"))) {
                try {
                    ratio = Double.parseDouble(rawEnv.get("OTEL_TRACES_SAMPLER_ARG").trim());
                } catch (NumberFormatException e) {
                    throw new ConfigException("OTEL_TRACES_SAMPLER_ARG: '" + rawEnv.get("OTEL_TRACES_SAMPLER_ARG")
                            + "' (expected: a number from 0 to 1)");
                }
            } else {
                ratio = d.sampleRatio();
            }
            if (!(ratio >= 0 && ratio <= 1)) {
                throw new ConfigException((configuredRatio.isPresent() ? t.pathOf("sample_ratio")
                        : "OTEL_TRACES_SAMPLER_ARG") + ": " + ratio + " (expected: from 0 to 1)");
            }
            Map<String, String> headers = new LinkedHashMap<>();
            ConfigSection h = t.section("headers");
            if (!h.keys().isEmpty()) {
                for (String name : h.keys()) {
                    headers.put(name, h.requiredString(name));
                }
            } else {
                String fromEnv = notBlank(rawEnv.get("OTEL_EXPORTER_OTLP_TRACES_HEADERS"))
                        ? rawEnv.get("OTEL_EXPORTER_OTLP_TRACES_HEADERS") : rawEnv.get("OTEL_EXPORTER_OTLP_HEADERS");
                if (notBlank(fromEnv)) {
                    headers.putAll(otlpHeaders(fromEnv));
                }
            }
            return new TelemetryConfig(endpoint, serviceName, ratio, headers);
        }

        /** The URL variable {@code name} holds, refused unless it is an {@code http(s)} URL. */
        private String httpUrlVariable(String name) {
            String value = rawEnv.get(name).trim();
            if (!TelemetryConfig.isHttpUrl(value)) {
                throw new ConfigException(name + ": '" + value + "' (expected: an http:// or https:// URL)");
            }
            return value;
        }

        /** {@code OTEL_EXPORTER_OTLP_HEADERS}: {@code name=value} pairs separated by commas, values URL-encoded. */
        private static Map<String, String> otlpHeaders(String raw) {
            Map<String, String> headers = new LinkedHashMap<>();
            for (String pair : raw.split(",")) {
                if (pair.isBlank()) {
                    continue;
                }
                int eq = pair.indexOf('=');
                if (eq <= 0) {
                    // Never echo the value: it is usually a credential.
                    throw new ConfigException("OTEL_EXPORTER_OTLP_HEADERS: a pair has no name=value form"
                            + " (expected: name=value,name2=value2)");
                }
                headers.put(pair.substring(0, eq).trim(), java.net.URLDecoder.decode(pair.substring(eq + 1).trim(),
                        StandardCharsets.UTF_8));
            }
            return headers;
        }

        private static boolean notBlank(String value) {
            return value != null && !value.isBlank();
        }

        /** {@code logging:}: the access log, one human-readable line per call unless {@code format: json}. */
        private static LoggingConfig logging(ConfigSection l) {
            l.allowOnly(List.of("format", "access"));
            LoggingConfig d = LoggingConfig.DEFAULT;
            return new LoggingConfig(l.string("format").map(v -> LoggingConfig.Format.parse(v, l.pathOf("format")))
                    .orElse(d.format()), l.bool("access", d.access()));
        }

        /** {@code cache:}: the exact response cache, off unless {@code enabled: true}. */
        private static CacheConfig cache(ConfigSection c) {
            c.allowOnly(CACHE_KEYS);
            CacheConfig d = CacheConfig.DISABLED;
            return new CacheConfig(c.bool("enabled", false),
                    Duration.ofSeconds(c.integer("ttl_seconds", d.ttl().toSeconds(), 1, 365L * 24 * 3600)),
                    c.integer("max_mib", d.maxBytes() >> 20, 1, MAX_CACHE_MIB) << 20,
                    c.string("mode").map(v -> CacheConfig.Mode.parse(v, c.pathOf("mode"))).orElse(d.mode()),
                    c.string("scope").map(v -> CacheConfig.Scope.parse(v, c.pathOf("scope"))).orElse(d.scope()));
        }

        /**
         * One warning naming the models whose price was last checked more than {@code pricing.stale_after_days}
         * (default 120) days ago, with the date of each, oldest first; none when every price is recent or undated.
         */
        private Optional<String> stalePrices(ConfigSection pricing, Map<String, ModelConfig> models) {
            long days = pricing.integer("stale_after_days", DEFAULT_STALE_AFTER_DAYS, 1, 36_500);
            LocalDate limit = today.minusDays(days);
            List<ModelConfig> stale = models.values().stream()
                    .filter(m -> m.price() != null && m.price().checked() != null && m.price().checked().isBefore(limit))
                    .sorted(java.util.Comparator.comparing((ModelConfig m) -> m.price().checked()).thenComparing(ModelConfig::name))
                    .toList();
            if (stale.isEmpty()) {
                return Optional.empty();
            }
            String named = stale.stream().map(m -> m.name() + " (" + m.price().checked() + ")")
                    .collect(Collectors.joining(", "));
            return Optional.of("prices checked more than " + days + " days ago (pricing.stale_after_days): " + named
                    + "; check them against the providers' pages and update the price catalog");
        }

        private BudgetSettings budgets(ConfigSection b, ConfigSection pricing) {
            b.allowOnly(List.of("zone", "soft_threshold_percent", "default_max_output_tokens", "reservation_timeout_ms",
                    "stored_context_tokens"));
            BudgetSettings d = BudgetSettings.defaults();
            ZoneId zone = d.zone();
            Optional<String> zoneText = b.string("zone");
            if (zoneText.isPresent()) {
                try {
                    zone = ZoneId.of(zoneText.get());
                } catch (java.time.DateTimeException e) {
                    throw new ConfigException("budgets.zone: '" + zoneText.get()
                            + "' (expected: a time zone id such as UTC or Europe/Berlin)");
                }
            }
            return new BudgetSettings(zone,
                    (int) b.integer("soft_threshold_percent", d.softThresholdPercent(), 1, 100),
                    b.integer("default_max_output_tokens", d.defaultMaxOutputTokens(), 1, Integer.MAX_VALUE),
                    Duration.ofMillis(b.integer("reservation_timeout_ms", d.reservationTimeout().toMillis(), 1,
                            Long.MAX_VALUE)),
                    b.integer("stored_context_tokens", d.storedContextTokens(), 1, 100_000_000),
                    flag(pricing, "allow_unpriced"),
                    unpricedReserveNanos(pricing, d.unpricedReserveNanos()));
        }

        /** {@code true}/{@code false}; {@code false} when not set. */
        private static boolean flag(ConfigSection s, String key) {
            Optional<String> text = s.string(key);
            if (text.isEmpty()) {
                return false;
            }
            return switch (text.get().toLowerCase(Locale.ROOT)) {
                case "true" -> true;
                case "false" -> false;
                default -> throw new ConfigException(s.pathOf(key) + ": '" + text.get() + "' (expected: true or false)");
            };
        }

        private static long unpricedReserveNanos(ConfigSection pricing, long defaultNanos) {
            Optional<BigDecimal> usd = pricing.decimal("unpriced_reserve_usd");
            if (usd.isEmpty()) {
                return defaultNanos;
            }
            checkUsd(usd.get(), pricing.pathOf("unpriced_reserve_usd"));
            if (usd.get().signum() == 0) {
                throw new ConfigException(pricing.pathOf("unpriced_reserve_usd") + ": 0 (expected: > 0)");
            }
            return Money.fromUsd(usd.get());
        }

        private ServerConfig server(ConfigSection s) {
            s.allowOnly(SERVER_KEYS);
            ServerConfig d = ServerConfig.defaults();
            return new ServerConfig(
                    s.string("host").orElse(d.host()),
                    (int) s.integer("port", d.port(), 0, 65_535),
                    s.integer("max_request_bytes", d.maxRequestBytes(), 1, Integer.MAX_VALUE - 8),
                    (int) s.integer("max_header_bytes", d.maxHeaderBytes(), 1, Integer.MAX_VALUE),
                    (int) s.integer("io_threads", d.ioThreads(), 0, Integer.MAX_VALUE),
                    (int) s.integer("worker_threads", d.workerThreads(), 1, Integer.MAX_VALUE),
                    Duration.ofMillis(s.integer("request_read_timeout_ms", d.requestReadTimeout().toMillis(),
                            1, Long.MAX_VALUE)));
        }

        private PriceCatalog catalog(ConfigSection root) {
            Path file;
            if (root.has("pricing")) {
                ConfigSection pricing = root.section("pricing");
                pricing.allowOnly(List.of("catalog", "litellm", "allow_unpriced", "unpriced_reserve_usd",
                        "stale_after_days"));
                Optional<String> name = pricing.string("catalog");
                if (name.isEmpty()) {
                    return EMPTY_CATALOG;
                }
                file = baseDir.resolve(name.get());
                if (!Files.isRegularFile(file)) {
                    catalogWarnings.add("pricing.catalog: " + file + " not found; using an empty price catalog, so only"
                            + " models with a price: block are priced");
                    return EMPTY_CATALOG;
                }
            } else {
                file = baseDir.resolve(DEFAULT_CATALOG);
                if (!Files.isRegularFile(file)) {
                    return EMPTY_CATALOG;
                }
            }
            PriceCatalog catalog;
            try {
                catalog = catalogLoader.apply(file);
            } catch (ConfigException e) {
                throw e;
            } catch (RuntimeException e) {
                throw new ConfigException("pricing.catalog: " + file + " cannot be loaded: " + e.getMessage(), e);
            }
            return catalog == null ? EMPTY_CATALOG : catalog;
        }

        /**
         * The LiteLLM price file named by {@code pricing.litellm} (relative to the config file), or an empty
         * catalog; a file that does not exist is a warning, one that cannot be read is an error.
         */
        private PriceCatalog litellm(ConfigSection root) {
            if (!root.has("pricing")) {
                return EMPTY_CATALOG;
            }
            Optional<String> name = root.section("pricing").string("litellm");
            if (name.isEmpty()) {
                return EMPTY_CATALOG;
            }
            Path file = baseDir.resolve(name.get());
            if (!Files.isRegularFile(file)) {
                catalogWarnings.add("pricing.litellm: " + file + " not found; models are priced from the catalog and"
                        + " their price: blocks only");
                return EMPTY_CATALOG;
            }
            try {
                return LiteLlmPriceImport.load(file);
            } catch (ConfigException e) {
                // Its message starts with the file name and says what is wrong.
                throw new ConfigException("pricing.litellm: " + e.getMessage(), e);
            }
        }

        private Map<String, ProviderConfig> providers(ConfigSection all) {
            Map<String, ProviderConfig> providers = new LinkedHashMap<>();
            for (String name : all.keys()) {
                providers.put(name, provider(name, all.section(name)));
            }
            return providers;
        }

        private ProviderConfig provider(String name, ConfigSection p) {
            ProviderType type = ProviderType.parse(p.requiredString("type"), p.pathOf("type"));
            if (type.baseUrl() == ProviderType.BaseUrl.FORBIDDEN && p.has("base_url")) {
                throw new ConfigException(p.pathOf("base_url") + ": not allowed for type " + type.label()
                        + " (it runs inside the gateway)");
            }
            Map<String, String> options = new LinkedHashMap<>();
            if (type.extraKeysAreOptions()) {
                for (String key : p.keys()) {
                    if (!ProviderType.COMMON_KEYS.contains(key)) {
                        option(p, key).ifPresent(value -> options.put(key, value));
                    }
                }
            } else {
                p.allowOnly(type.keys());
                for (String key : type.requiredOptions()) {
                    options.put(key, requiredOption(p, key, type));
                }
            }
            URI baseUrl = null;
            if (type.baseUrl() != ProviderType.BaseUrl.FORBIDDEN) {
                Optional<String> url = p.string("base_url");
                if (url.isEmpty() && type.baseUrl() == ProviderType.BaseUrl.REQUIRED) {
                    throw new ConfigException(p.pathOf("base_url") + ": missing (required for type " + type.label()
                            + ", e.g. " + type.baseUrlExample() + ")");
                }
                // An OPTIONAL base_url defaults to the provider's public API.
                baseUrl = baseUrl(url.orElse(type.baseUrlExample()), p.pathOf("base_url"));
            }
            String apiKey = null;
            String disabledReason = null;
            if (!p.has("api_key") && type.apiKeyRequired()) {
                // Only OpenAI-compatible local servers run without a key; for a hosted API it is a mistake.
                throw new ConfigException(p.pathOf("api_key") + ": missing (required for type " + type.label()
                        + ", e.g. api_key: ${" + type.keyVariable() + "})");
            }
            if (p.has("api_key")) {
                apiKey = p.string("api_key").orElse(null);
                if (apiKey == null) {
                    String raw = p.raw("api_key");
                    List<String> variables = raw == null ? List.of() : EnvExpander.variables(raw);
                    disabledReason = variables.isEmpty()
                            ? "api_key is empty"
                            : "api_key is empty (set " + String.join(" or ", variables) + ")";
                    disabled.put(name, variables);
                }
            }
            return new ProviderConfig(name, type.label(), baseUrl, apiKey, disabledReason,
                    Duration.ofMillis(p.integer("connect_timeout_ms", DEFAULT_CONNECT_TIMEOUT_MS, 1, Long.MAX_VALUE)),
                    Duration.ofMillis(p.integer("read_timeout_ms", DEFAULT_READ_TIMEOUT_MS, 1, Long.MAX_VALUE)),
                    (int) p.integer("max_idle_connections", DEFAULT_MAX_IDLE_CONNECTIONS, 1, Integer.MAX_VALUE),
                    options, resilience(p), p.bool("forward_client_org_headers", false));
        }

        private static Resilience resilience(ConfigSection p) {
            Resilience d = Resilience.DEFAULTS;
            return new Resilience(
                    (int) p.integer("max_retries", d.maxRetries(), 0, 10),
                    Duration.ofMillis(p.integer("retry_backoff_ms", d.retryBackoff().toMillis(), 1, 60_000)),
                    (int) p.integer("retry_budget_percent", d.retryBudgetPercent(), 0, 100),
                    (int) p.integer("breaker_failures", d.breakerFailures(), 1, Integer.MAX_VALUE),
                    Duration.ofMillis(p.integer("breaker_cooldown_ms", d.breakerCooldown().toMillis(), 1, Long.MAX_VALUE)),
                    p.has("first_byte_timeout_ms")
                            ? Duration.ofMillis(p.integer("first_byte_timeout_ms", 0, 1, Long.MAX_VALUE)) : null,
                    Duration.ofMillis(p.integer("total_timeout_ms", 0, 0, Long.MAX_VALUE)));
        }

        /** A type-specific key that must be set, e.g. Azure's {@code api_version}; it is used in URLs, so it is a token. */
        private static String requiredOption(ConfigSection p, String key, ProviderType type) {
            String example = ProviderType.API_VERSION.equals(key) ? "2024-10-21" : "a value";
            String value = p.string(key).orElseThrow(() -> new ConfigException(p.pathOf(key)
                    + ": missing (required for type " + type.label() + ", e.g. " + example + ")"));
            if (!value.matches("[A-Za-z0-9._-]+")) {
                throw new ConfigException(p.pathOf(key) + ": '" + value + "' (expected: letters, digits, '.', '_'"
                        + " or '-', e.g. " + example + ")");
            }
            return value;
        }

        /** A provider option as a string: a scalar, or a list of scalars joined with commas; empty means unset. */
        private Optional<String> option(ConfigSection p, String key) {
            JsonNode value = p.node(key);
            String path = p.pathOf(key);
            if (value.isArray()) {
                List<String> parts = new ArrayList<>();
                int i = 0;
                for (JsonNode item : value) {
                    ConfigSection.checkScalar(item, path + "[" + i + "]", "a scalar");
                    ConfigSection.scalar(item, path + "[" + i++ + "]", env).ifPresent(parts::add);
                }
                return parts.isEmpty() ? Optional.empty() : Optional.of(String.join(",", parts));
            }
            ConfigSection.checkScalar(value, path, "a scalar or a list of scalars");
            return ConfigSection.scalar(value, path, env);
        }

        private static URI baseUrl(String text, String path) {
            String trimmed = text;
            while (trimmed.endsWith("/")) {
                trimmed = trimmed.substring(0, trimmed.length() - 1);
            }
            try {
                URI uri = new URI(trimmed);
                String scheme = uri.getScheme();
                if (("http".equals(scheme) || "https".equals(scheme)) && uri.getHost() != null) {
                    return uri;
                }
            } catch (URISyntaxException e) {
                // Reported below with the expected form.
            }
            throw new ConfigException(path + ": '" + text + "' (expected: an absolute http:// or https:// URL)");
        }

        private Map<String, ModelConfig> models(ConfigSection root, Map<String, ProviderConfig> providers,
                                                PriceCatalog catalog) {
            Map<String, ModelConfig> models = new LinkedHashMap<>();
            Map<String, String> firstPath = new HashMap<>();
            List<JsonNode> items = root.list("models");
            for (int i = 0; i < items.size(); i++) {
                ConfigSection m = ConfigSection.of(items.get(i), "models[" + i + "]", env);
                m.allowOnly(MODEL_KEYS);
                String name = m.requiredString("name");
                rateLimits(m).ifPresent(limits -> modelLimits.put(name, limits));
                String earlier = firstPath.putIfAbsent(name, m.path());
                if (earlier != null) {
                    throw new ConfigException(m.pathOf("name") + ": '" + name
                            + "' (expected: a unique name; already used by " + earlier + ")");
                }
                String provider = m.requiredString("provider");
                if (!providers.containsKey(provider)) {
                    throw new ConfigException(m.pathOf("provider") + ": '" + provider + "' ("
                            + (providers.isEmpty() ? "expected: a provider defined under providers:, which has none"
                                    : "expected one of: " + String.join(", ", providers.keySet())) + ")");
                }
                String upstreamName = m.string("upstream_name").orElse(null);
                JsonNode priceNode = m.node("price");
                ModelPrice price;
                if (priceNode != null && !priceNode.isNull()) {
                    price = price(m.section("price"), priceNode);
                } else {
                    price = catalog.find(name)
                            .or(() -> upstreamName == null ? Optional.empty() : catalog.find(upstreamName))
                            .or(() -> litellm.find(name))
                            .or(() -> upstreamName == null ? Optional.empty() : litellm.find(upstreamName))
                            .orElse(null);
                }
                Optional<String> region = m.string("region");
                if (region.isPresent()) {
                    if (price == null) {
                        throw new ConfigException(m.pathOf("region") + ": '" + region.get()
                                + "' (expected: a model with a price that lists the region's uplift)");
                    }
                    if (!price.regionUpliftPpm().containsKey(region.get()) || price.region() != null) {
                        throw new ConfigException(m.pathOf("region") + ": '" + region.get() + "' (expected one of the"
                                + " regions its price lists under regions: " + (price.regionUpliftPpm().isEmpty() ? "none"
                                : String.join(", ", price.regionUpliftPpm().keySet())) + ")");
                    }
                    price = price.inRegion(region.get());
                }
                if (price == null) {
                    unpricedWarnings.add(name);
                }
                List<String> fallbacks = new ArrayList<>();
                List<JsonNode> fallbackItems = m.list("fallbacks");
                for (int j = 0; j < fallbackItems.size(); j++) {
                    String path = m.pathOf("fallbacks") + "[" + j + "]";
                    fallbacks.add(ConfigSection.scalar(fallbackItems.get(j), path, env)
                            .orElseThrow(() -> new ConfigException(path + ": missing")));
                }
                if (m.has("simulate")) {
                    skill(m, providers.get(provider), upstreamName == null ? name : upstreamName);
                }
                models.put(name, new ModelConfig(name, provider, upstreamName, price, fallbacks));
            }
            // Fallbacks may name models defined further down, so they are checked once all are known.
            for (int i = 0; i < items.size(); i++) {
                ConfigSection m = ConfigSection.of(items.get(i), "models[" + i + "]", env);
                ModelConfig model = models.get(m.requiredString("name"));
                for (int j = 0; j < model.fallbacks().size(); j++) {
                    String fallback = model.fallbacks().get(j);
                    if (fallback.equals(model.name()) || !models.containsKey(fallback)) {
                        throw new ConfigException(m.pathOf("fallbacks") + "[" + j + "]: '" + fallback + "' (expected: "
                                + (fallback.equals(model.name()) ? "another model than itself" : "a model listed under models:") + ")");
                    }
                }
            }
            return models;
        }

        /**
         * A model's {@code simulate} block, checked here so that messages name the YAML path, and kept as the
         * option {@code simulate.<upstream name>} of its simulator provider (see {@code SimulatedSkill}).
         */
        private void skill(ConfigSection m, ProviderConfig provider, String upstreamName) {
            if (!ProviderType.SIMULATOR.label().equals(provider.type())) {
                throw new ConfigException(m.pathOf("simulate") + ": only for models of a simulator provider ("
                        + provider.name() + " is of type " + provider.type() + ")");
            }
            ConfigSection s = m.section("simulate");
            s.allowOnly(SIMULATE_KEYS);
            double accuracy = fraction(s, "accuracy", Double.NaN);
            double verbosity = verbosity(s, "verbosity", 1);
            long seed = s.integer("seed", SimulatedSkill.defaultSeed(upstreamName), Long.MIN_VALUE, Long.MAX_VALUE);
            SimulatedSkill.Profile degraded = null;
            long afterCalls = 0;
            long afterSeconds = 0;
            if (s.node("degrade") != null && !s.node("degrade").isNull()) {
                ConfigSection d = s.section("degrade");
                d.allowOnly(DEGRADE_KEYS);
                afterCalls = d.integer("after_calls", 0, 1, Long.MAX_VALUE);
                afterSeconds = d.integer("after_seconds", 0, 1, 100L * 365 * 86_400);
                if (afterCalls == 0 && afterSeconds == 0) {
                    throw new ConfigException(d.path() + ": needs after_calls or after_seconds (when to degrade)");
                }
                degraded = new SimulatedSkill.Profile(fraction(d, "accuracy", accuracy), verbosity(d, "verbosity", verbosity));
            }
            SimulatedSkill skill = new SimulatedSkill(new SimulatedSkill.Profile(accuracy, verbosity), degraded,
                    afterCalls, Duration.ofSeconds(afterSeconds), seed);
            String key = SimulatedSkill.OPTION_PREFIX + upstreamName;
            String earlier = skillOptions.computeIfAbsent(provider.name(), p -> new LinkedHashMap<>())
                    .putIfAbsent(key, skill.toOption());
            if (earlier != null && !earlier.equals(skill.toOption())) {
                throw new ConfigException(m.pathOf("simulate") + ": another model of provider " + provider.name()
                        + " is served as " + upstreamName + " with another simulate block (expected: one per upstream name)");
            }
        }

        private static double fraction(ConfigSection s, String key, double otherwise) {
            Optional<BigDecimal> value = s.decimal(key);
            if (value.isEmpty()) {
                if (Double.isNaN(otherwise)) {
                    throw s.missing(key);
                }
                return otherwise;
            }
            if (value.get().signum() < 0 || value.get().compareTo(BigDecimal.ONE) > 0) {
                throw new ConfigException(s.pathOf(key) + ": " + value.get().toPlainString() + " (expected: 0..1)");
            }
            return value.get().doubleValue();
        }

        private static double verbosity(ConfigSection s, String key, double otherwise) {
            Optional<BigDecimal> value = s.decimal(key);
            if (value.isEmpty()) {
                return otherwise;
            }
            if (value.get().signum() <= 0 || value.get().compareTo(BigDecimal.valueOf(20)) > 0) {
                throw new ConfigException(s.pathOf(key) + ": " + value.get().toPlainString()
                        + " (expected: > 0 and <= 20)");
            }
            return value.get().doubleValue();
        }

        /** The providers with the {@code simulate.*} options of their models added. */
        private Map<String, ProviderConfig> withSkills(Map<String, ProviderConfig> providers) {
            if (skillOptions.isEmpty()) {
                return providers;
            }
            Map<String, ProviderConfig> out = new LinkedHashMap<>(providers);
            skillOptions.forEach((name, options) -> {
                ProviderConfig p = out.get(name);
                Map<String, String> merged = new LinkedHashMap<>(p.options());
                merged.putAll(options);
                out.put(name, p.withOptions(merged));
            });
            return out;
        }

        /**
         * A {@code price:} block: the scalar prices are checked here (messages name the YAML path as for every other
         * key), then the whole block, tiers included, is read by the catalog's own parser, so a block means what the
         * same entry means in {@code prices.yaml}.
         */
        private ModelPrice price(ConfigSection p, JsonNode block) {
            p.allowOnly(PRICE_KEYS);
            perMtok(p, "input_per_mtok", null);
            perMtok(p, "output_per_mtok", null);
            for (String key : SCALAR_PRICE_KEYS) {
                perMtok(p, key, 0L);
            }
            p.integer("max_output_tokens", 0, 0, Long.MAX_VALUE);
            @SuppressWarnings("unchecked")
            Map<String, Object> fields = (Map<String, Object>) plain(block, p.path());
            return YamlPriceCatalog.parsePrice(fields, p.path());
        }

        /** A YAML tree as maps, lists and expanded scalar strings, for the catalog's parser. */
        private Object plain(JsonNode node, String path) {
            if (node.isObject()) {
                Map<String, Object> map = new LinkedHashMap<>();
                node.properties().forEach(e -> map.put(e.getKey(), plain(e.getValue(), path + "." + e.getKey())));
                return map;
            }
            if (node.isArray()) {
                List<Object> list = new ArrayList<>();
                int i = 0;
                for (JsonNode item : node) {
                    list.add(plain(item, path + "[" + i++ + "]"));
                }
                return list;
            }
            return ConfigSection.scalar(node, path, env).orElse(null);
        }

        /** A USD-per-Mtok price in nano-USD per Mtok; {@code defaultNanos == null} means required. */
        private static long perMtok(ConfigSection p, String key, Long defaultNanos) {
            Optional<BigDecimal> usd = p.decimal(key);
            if (usd.isEmpty()) {
                if (defaultNanos == null) {
                    throw p.missing(key);
                }
                return defaultNanos;
            }
            checkUsd(usd.get(), p.pathOf(key));
            return ModelPrice.usdPerMtokToNanos(usd.get());
        }

        /** Checks what the core conversions would refuse, so the message names the YAML path. */
        private static void checkUsd(BigDecimal usd, String path) {
            // Plain digits read best, but 1e400 would print 400 of them.
            String shown = usd.toPlainString().length() <= 32 ? usd.toPlainString() : usd.toString();
            if (usd.signum() < 0) {
                throw new ConfigException(path + ": " + shown + " (expected: >= 0)");
            }
            if (usd.stripTrailingZeros().scale() > 9) {
                throw new ConfigException(path + ": " + shown
                        + " (expected: at most 9 decimals, the precision of nano-USD)");
            }
            if (usd.compareTo(BigDecimal.valueOf(Long.MAX_VALUE, 9)) > 0) {
                throw new ConfigException(path + ": " + shown + " (expected: < 9223372036, the nano-USD range)");
            }
        }

        private List<TeamConfig> teams(ConfigSection root, Map<String, ?> models) {
            List<TeamConfig> teams = new ArrayList<>();
            Map<String, String> teamPaths = new HashMap<>();
            Map<String, String> keyPaths = new HashMap<>();
            List<JsonNode> items = root.list("teams");
            for (int i = 0; i < items.size(); i++) {
                ConfigSection t = ConfigSection.of(items.get(i), "teams[" + i + "]", env);
                t.allowOnly(TEAM_KEYS);
                String name = t.requiredString("name");
                rateLimits(t).ifPresent(limits -> teamLimits.put(name, limits));
                String earlier = teamPaths.putIfAbsent(name, t.path());
                if (earlier != null) {
                    throw new ConfigException(t.pathOf("name") + ": '" + name
                            + "' (expected: a unique name; already used by " + earlier + ")");
                }
                JsonNode budgetNode = t.node("budget");
                BudgetConfig budget = budgetNode == null || budgetNode.isNull() ? null : budget(t.section("budget"));
                List<KeyConfig> keys = new ArrayList<>();
                Map<String, String> keyNames = new HashMap<>();
                List<JsonNode> keyItems = t.list("keys");
                for (int j = 0; j < keyItems.size(); j++) {
                    ConfigSection k = ConfigSection.of(keyItems.get(j), t.pathOf("keys") + "[" + j + "]", env);
                    keys.add(key(k, name, models, keyPaths, keyNames));
                }
                teams.add(new TeamConfig(name, budget, keys));
            }
            return teams;
        }

        /** The {@code rate_limits:} mapping of a team, key or model, if it has one with any limit. */
        private static Optional<RateLimits> rateLimits(ConfigSection holder) {
            JsonNode node = holder.node("rate_limits");
            if (node == null || node.isNull()) {
                return Optional.empty();
            }
            ConfigSection r = holder.section("rate_limits");
            r.allowOnly(RATE_LIMIT_KEYS);
            RateLimits limits = new RateLimits(
                    r.integer("requests_per_minute", 0, 1, RateLimits.MAX_PER_MINUTE),
                    r.integer("tokens_per_minute", 0, 1, RateLimits.MAX_PER_MINUTE),
                    (int) r.integer("concurrent_requests", 0, 1, Integer.MAX_VALUE));
            return limits.isNone() ? Optional.empty() : Optional.of(limits);
        }

        private static BudgetConfig budget(ConfigSection b) {
            b.allowOnly(BUDGET_KEYS);
            BigDecimal limitUsd = b.requiredDecimal("limit_usd");
            checkUsd(limitUsd, b.pathOf("limit_usd"));
            String period = b.string("period").orElseThrow(() -> new ConfigException(b.pathOf("period")
                    + ": missing (expected: daily, weekly, monthly or total)"));
            return new BudgetConfig(Money.fromUsd(limitUsd), BudgetPeriod.parse(period, b.pathOf("period")));
        }

        private KeyConfig key(ConfigSection k, String team, Map<String, ?> models,
                              Map<String, String> keyPaths, Map<String, String> keyNames) {
            k.allowOnly(KEY_KEYS);
            if (!k.has("key")) {
                throw k.missing("key");
            }
            Optional<String> secret = k.string("key");
            if (secret.isEmpty()) {
                String raw = k.raw("key");
                List<String> variables = raw == null ? List.of() : EnvExpander.variables(raw);
                throw new ConfigException(k.pathOf("key") + ": empty (team " + team + " needs a non-empty key"
                        + (variables.isEmpty() ? "" : "; set " + String.join(" or ", variables)) + ")");
            }
            String earlier = keyPaths.putIfAbsent(secret.get(), k.path());
            if (earlier != null) {
                // Never echo the key itself.
                throw new ConfigException(k.pathOf("key") + ": the same key as " + earlier
                        + " (expected: unique keys)");
            }
            String name = k.string("name").orElseGet(() -> defaultKeyName(secret.get()));
            String sameName = keyNames.putIfAbsent(name, k.path());
            if (sameName != null) {
                throw new ConfigException(k.pathOf("name") + ": '" + name + "' (expected: a unique name within team "
                        + team + "; already used by " + sameName + ")");
            }
            List<String> allowed = new ArrayList<>();
            List<JsonNode> items = k.list("models");
            for (int i = 0; i < items.size(); i++) {
                String path = k.pathOf("models") + "[" + i + "]";
                String model = ConfigSection.scalar(items.get(i), path, env)
                        .orElseThrow(() -> new ConfigException(path + ": missing"));
                if (!models.containsKey(model)) {
                    throw new ConfigException(path + ": '" + model + "' ("
                            + (models.isEmpty() ? "expected: a model defined under models:, which has none"
                                    : "expected one of: " + String.join(", ", models.keySet())) + ")");
                }
                allowed.add(model);
            }
            JsonNode budgetNode = k.node("budget");
            BudgetConfig budget = budgetNode == null || budgetNode.isNull() ? null : budget(k.section("budget"));
            rateLimits(k).ifPresent(limits -> keyLimits.put(name, limits));
            // Only the hash leaves the parser: the parsed config never holds a secret.
            return new KeyConfig(KeyHashes.sha256Hex(secret.get()), name, allowed, budget);
        }

        /** E.g. {@code "Provider openai disabled: OPENAI_API_KEY is not set; its models (a, b) answer 404 until it is"}. */
        private String disabledWarning(String provider, List<String> variables, Map<String, ModelConfig> models) {
            List<String> served = models.values().stream()
                    .filter(m -> m.provider().equals(provider))
                    .map(ModelConfig::name)
                    .toList();
            String cause;
            String until;
            if (variables.isEmpty()) {
                cause = "its api_key is empty";
                until = "a key is configured";
            } else if (variables.size() == 1) {
                String variable = variables.get(0);
                cause = variable + (env.isSet(variable) ? " is empty" : " is not set");
                until = env.isSet(variable) ? "it is set" : "it is";
            } else {
                cause = variables.stream()
                        .map(v -> v + (env.isSet(v) ? " is empty" : " is not set"))
                        .collect(Collectors.joining(", "));
                until = "one is set";
            }
            String effect;
            if (served.isEmpty()) {
                effect = "no model uses it";
            } else if (served.size() == 1) {
                effect = "its model " + served.get(0) + " answers 404 until " + until;
            } else {
                effect = "its models (" + String.join(", ", served) + ") answer 404 until " + until;
            }
            return "Provider " + provider + " disabled: " + cause + "; " + effect;
        }
    }
}
