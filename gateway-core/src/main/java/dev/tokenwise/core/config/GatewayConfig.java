package dev.tokenwise.core.config;

import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The whole, validated configuration: an immutable snapshot.
 *
 * @param server listener settings
 * @param adminKey the admin key; {@code null} when the file set none, and then the gateway makes one on its first
 *     start and keeps it in {@code admin.key} beside the ledger, unless {@code adminOff}
 * @param storagePath the ledger file
 * @param providers providers by name, in config order
 * @param models models by client-facing name, in config order
 * @param teams teams, in config order
 * @param budgets how budgets are enforced
 * @param storageSync how durable a record is when its response completes
 * @param rateLimits the rate limits of teams, keys and models set in the file
 * @param adminOff {@code true} when the file says {@code admin: {key: off}}: no admin API, no key made
 * @param cache the exact response cache
 * @param probes the scheduled probes, or {@code null} when there are none
 * @param telemetry the export of spans ({@link TelemetryConfig#OFF} by default)
 * @param logging the access log ({@link LoggingConfig#DEFAULT} by default)
 * @param routes the efficiency routes by name, in config order; a route's name is never a model's, and its candidates
 *     are models
 * @param cluster cluster mode (budgets shared on Redis), {@link ClusterConfig#NONE} on a single node
 * @param storage the PostgreSQL ledger ({@code storage.url}) and the retention of records
 *     ({@link StorageConfig#DEFAULT} by default: the SQLite file, records kept forever)
 */
public record GatewayConfig(ServerConfig server, String adminKey, String storagePath,
                            Map<String, ProviderConfig> providers, Map<String, ModelConfig> models,
                            List<TeamConfig> teams, BudgetSettings budgets, StorageSync storageSync,
                            RateLimitConfig rateLimits, boolean adminOff, CacheConfig cache, ProbeConfig probes,
                            TelemetryConfig telemetry, LoggingConfig logging, Map<String, RouteConfig> routes,
                            ClusterConfig cluster, StorageConfig storage) {

    /** A config with the ledger in the SQLite file at {@code storagePath}, records kept forever. */
    public GatewayConfig(ServerConfig server, String adminKey, String storagePath,
                         Map<String, ProviderConfig> providers, Map<String, ModelConfig> models,
                         List<TeamConfig> teams, BudgetSettings budgets, StorageSync storageSync,
                         RateLimitConfig rateLimits, boolean adminOff, CacheConfig cache, ProbeConfig probes,
                         TelemetryConfig telemetry, LoggingConfig logging, Map<String, RouteConfig> routes,
                         ClusterConfig cluster) {
        this(server, adminKey, storagePath, providers, models, teams, budgets, storageSync, rateLimits, adminOff, cache,
                probes, telemetry, logging, routes, cluster, StorageConfig.DEFAULT);
    }

    /** A single node's config without routes. */
    public GatewayConfig(ServerConfig server, String adminKey, String storagePath,
                         Map<String, ProviderConfig> providers, Map<String, ModelConfig> models,
                         List<TeamConfig> teams, BudgetSettings budgets, StorageSync storageSync,
                         RateLimitConfig rateLimits, boolean adminOff, CacheConfig cache, ProbeConfig probes,
                         TelemetryConfig telemetry, LoggingConfig logging) {
        this(server, adminKey, storagePath, providers, models, teams, budgets, storageSync, rateLimits, adminOff, cache,
                probes, telemetry, logging, Map.of(), ClusterConfig.NONE);
    }

    /** A config without span export, with the default access log. */
    public GatewayConfig(ServerConfig server, String adminKey, String storagePath,
                         Map<String, ProviderConfig> providers, Map<String, ModelConfig> models,
                         List<TeamConfig> teams, BudgetSettings budgets, StorageSync storageSync,
                         RateLimitConfig rateLimits, boolean adminOff, CacheConfig cache, ProbeConfig probes) {
        this(server, adminKey, storagePath, providers, models, teams, budgets, storageSync, rateLimits, adminOff, cache,
                probes, TelemetryConfig.OFF, LoggingConfig.DEFAULT);
    }

    /** A config without probes. */
    public GatewayConfig(ServerConfig server, String adminKey, String storagePath,
                         Map<String, ProviderConfig> providers, Map<String, ModelConfig> models,
                         List<TeamConfig> teams, BudgetSettings budgets, StorageSync storageSync,
                         RateLimitConfig rateLimits, boolean adminOff, CacheConfig cache) {
        this(server, adminKey, storagePath, providers, models, teams, budgets, storageSync, rateLimits, adminOff, cache,
                null);
    }

    /** A config without a response cache. */
    public GatewayConfig(ServerConfig server, String adminKey, String storagePath,
                         Map<String, ProviderConfig> providers, Map<String, ModelConfig> models,
                         List<TeamConfig> teams, BudgetSettings budgets, StorageSync storageSync,
                         RateLimitConfig rateLimits, boolean adminOff) {
        this(server, adminKey, storagePath, providers, models, teams, budgets, storageSync, rateLimits, adminOff,
                CacheConfig.DISABLED);
    }

    /** A config whose admin key, when not set, is made on the first start. */
    public GatewayConfig(ServerConfig server, String adminKey, String storagePath,
                         Map<String, ProviderConfig> providers, Map<String, ModelConfig> models,
                         List<TeamConfig> teams, BudgetSettings budgets, StorageSync storageSync,
                         RateLimitConfig rateLimits) {
        this(server, adminKey, storagePath, providers, models, teams, budgets, storageSync, rateLimits, false);
    }

    /** A config without rate limits. */
    public GatewayConfig(ServerConfig server, String adminKey, String storagePath,
                         Map<String, ProviderConfig> providers, Map<String, ModelConfig> models,
                         List<TeamConfig> teams, BudgetSettings budgets, StorageSync storageSync) {
        this(server, adminKey, storagePath, providers, models, teams, budgets, storageSync, RateLimitConfig.NONE);
    }

    /** A config with default budget settings. */
    public GatewayConfig(ServerConfig server, String adminKey, String storagePath,
                         Map<String, ProviderConfig> providers, Map<String, ModelConfig> models,
                         List<TeamConfig> teams) {
        this(server, adminKey, storagePath, providers, models, teams, BudgetSettings.defaults(), StorageSync.NORMAL);
    }

    /** The same config with other providers (the simulator's address is known only once it started). */
    public GatewayConfig withProviders(Map<String, ProviderConfig> newProviders) {
        return new GatewayConfig(server, adminKey, storagePath, newProviders, models, teams, budgets, storageSync,
                rateLimits, adminOff, cache, probes, telemetry, logging, routes, cluster, storage);
    }

    /** The same config with the admin key made or read at start-up. */
    public GatewayConfig withAdminKey(String key) {
        return new GatewayConfig(server, key, storagePath, providers, models, teams, budgets, storageSync, rateLimits,
                adminOff, cache, probes, telemetry, logging, routes, cluster, storage);
    }

    public GatewayConfig {
        Objects.requireNonNull(server, "server");
        Objects.requireNonNull(budgets, "budgets");
        Objects.requireNonNull(storageSync, "storage.sync");
        rateLimits = rateLimits == null ? RateLimitConfig.NONE : rateLimits;
        cache = cache == null ? CacheConfig.DISABLED : cache;
        telemetry = telemetry == null ? TelemetryConfig.OFF : telemetry;
        logging = logging == null ? LoggingConfig.DEFAULT : logging;
        cluster = cluster == null ? ClusterConfig.NONE : cluster;
        storage = storage == null ? StorageConfig.DEFAULT : storage;
        if (adminKey != null && adminKey.isBlank() || adminOff) {
            adminKey = null;
        }
        providers = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(providers));
        models = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(models));
        teams = List.copyOf(teams);
        routes = routes == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(routes));
        for (ModelConfig m : models.values()) {
            if (!providers.containsKey(m.provider())) {
                throw new ConfigException("models[" + m.name() + "].provider: " + m.provider()
                        + " (expected one of: " + providers.keySet() + ")");
            }
            for (String fallback : m.fallbacks()) {
                if (!models.containsKey(fallback)) {
                    throw new ConfigException("models[" + m.name() + "].fallbacks: " + fallback
                            + " (expected a model listed under models:)");
                }
            }
        }
        if (probes != null) {
            for (String model : probes.models()) {
                if (!models.containsKey(model)) {
                    throw new ConfigException("probes.models: " + model + " (expected a model listed under models:)");
                }
            }
        }
        for (RouteConfig route : routes.values()) {
            if (models.containsKey(route.name())) {
                throw new ConfigException("routes[" + route.name() + "].name: " + route.name()
                        + " (expected: a name no model has; it is a model's)");
            }
            for (String candidate : route.candidates()) {
                if (!models.containsKey(candidate)) {
                    throw new ConfigException("routes[" + route.name() + "].candidates: " + candidate
                            + " (expected a model listed under models:)");
                }
            }
        }
        Set<String> teamNames = new HashSet<>();
        Set<String> keys = new HashSet<>();
        for (TeamConfig t : teams) {
            if (!teamNames.add(t.name())) {
                throw new ConfigException("teams[].name: " + t.name() + " (expected: unique team names)");
            }
            for (KeyConfig k : t.keys()) {
                if (!keys.add(k.keyHash())) {
                    throw new ConfigException("teams[" + t.name() + "].keys: a key is listed twice (expected: unique keys)");
                }
                for (String model : k.models()) {
                    if (!models.containsKey(model) && !routes.containsKey(model)) {
                        throw new ConfigException("teams[" + t.name() + "].keys[].models: " + model
                                + " (expected a model listed under models: or a route under routes:)");
                    }
                }
            }
        }
    }

    /** The route called {@code name}, or {@code null} when no route has that name. */
    public RouteConfig route(String name) {
        return routes.get(name);
    }
}
