package dev.tokenwise.server.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenwise.core.config.RateLimits;
import dev.tokenwise.core.config.BudgetPeriod;
import dev.tokenwise.core.config.CacheConfig;
import dev.tokenwise.core.config.ConfigException;
import dev.tokenwise.core.config.GatewayConfig;
import dev.tokenwise.core.config.KeyConfig;
import dev.tokenwise.core.config.LoggingConfig;
import dev.tokenwise.core.config.TelemetryConfig;
import dev.tokenwise.core.config.ProviderConfig;
import dev.tokenwise.core.config.ServerConfig;
import dev.tokenwise.core.model.ModelPrice;
import dev.tokenwise.core.model.ServiceTier;
import dev.tokenwise.core.model.TokenUsage;
import dev.tokenwise.core.spi.PriceCatalog;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {

    private static final ModelPrice MINI = new ModelPrice(150_000_000, 600_000_000, 75_000_000, 150_000_000,
            600_000_000, 16_384);
    private static final PriceCatalog CATALOG = model -> Optional.ofNullable(Map.of(
            "gpt-4o-mini", MINI,
            "gpt-4o-2024-08-06", ModelPrice.of(2_500_000_000L, 10_000_000_000L)).get(model));
    private static final Function<Path, PriceCatalog> NO_CATALOG_FILE = file -> {
        throw new AssertionError("no catalog file expected, got " + file);
    };

    /** Minimal valid sections to which a test adds the part it is about. */
    private static final String PROVIDERS = """
            providers:
              openai: {type: openai, base_url: https://api.openai.com/v1, api_key: ${OPENAI_API_KEY}}
              sim: {type: simulator}
            """;

    @TempDir
    Path dir;

    @BeforeEach
    void writeCatalogBesideConfig() throws Exception {
        // Without a pricing: section the loader reads prices.yaml beside the config; here that is CATALOG.
        Files.writeString(dir.resolve("prices.yaml"), "# stands for CATALOG");
    }

    private ConfigLoader.Loaded read(String yaml, Map<String, String> env) {
        return ConfigLoader.read(yaml, null, dir, env, file -> CATALOG);
    }

    private GatewayConfig parse(String yaml, Map<String, String> env) {
        return read(yaml, env).config();
    }

    private GatewayConfig parse(String yaml) {
        return parse(yaml, Map.of());
    }

    private String error(String yaml) {
        return error(yaml, Map.of());
    }

    private String error(String yaml, Map<String, String> env) {
        return assertThrows(ConfigException.class, () -> parse(yaml, env)).getMessage();
    }

    // ---- the contract's shape

    @Test
    void parsesContractExampleWithVariablesInsideFlowMappings() {
        String yaml = """
                server:   {host: 127.0.0.1, port: 8080, max_request_bytes: 33554432}
                admin:    {key: ${TOKENWISE_ADMIN_KEY:-}}
                storage:  {path: data/tokenwise.db}
                pricing:  {catalog: prices.yaml}          # optional; relative to this file's directory
                providers:
                  openai:  {type: openai, base_url: https://api.openai.com/v1, api_key: ${OPENAI_API_KEY}}
                  sim:     {type: simulator}
                models:
                  - {name: gpt-4o-mini, provider: openai, price: {input_per_mtok: 0.15, output_per_mtok: 0.60, cached_input_per_mtok: 0.075}}
                teams:
                  - name: demo
                    budget: {limit_usd: 5, period: daily}
                    keys: [{key: ${TOKENWISE_DEMO_KEY:-tw-demo-key}}]
                """;
        ConfigLoader.Loaded loaded = read(yaml, Map.of("OPENAI_API_KEY", "sk-1", "TOKENWISE_ADMIN_KEY", "adm"));
        GatewayConfig config = loaded.config();

        assertEquals("adm", config.adminKey());
        assertEquals("sk-1", config.providers().get("openai").apiKey());
        assertTrue(config.providers().get("openai").enabled());
        assertEquals(new ModelPrice(150_000_000, 600_000_000, 75_000_000, 150_000_000, 600_000_000, 0),
                config.models().get("gpt-4o-mini").price());
        assertEquals(dev.tokenwise.core.auth.KeyHashes.sha256Hex("tw-demo-key"), config.teams().get(0).keys().get(0).keyHash());
        assertEquals(List.of(), loaded.warnings());
    }

    @Test
    void readsTheClusterKeysWithVariablesAndDefaults() {
        GatewayConfig single = parse("");
        assertFalse(single.cluster().enabled());
        GatewayConfig config = parse("""
                instance_id: gw-1
                cluster: {redis_url: "${REDIS_URL}"}
                """, Map.of("REDIS_URL", "rediss://:s3cret@redis.example:6380/2"));
        assertTrue(config.cluster().enabled());
        assertEquals("rediss://:s3cret@redis.example:6380/2", config.cluster().redisUrl());
        assertEquals(dev.tokenwise.core.config.ClusterConfig.OnRedisDown.FAIL_CLOSED, config.cluster().onRedisDown());
        assertEquals("gw-1", config.cluster().instanceId());
        assertEquals(dev.tokenwise.core.config.ClusterConfig.DEFAULT_LEASE_PERCENT, config.cluster().leasePercent());
        var shared = parse("cluster: {redis_url: \"redis://h:1\", on_redis_down: local_share, lease_percent: 25}")
                .cluster();
        assertEquals(dev.tokenwise.core.config.ClusterConfig.OnRedisDown.LOCAL_SHARE, shared.onRedisDown());
        assertEquals(25, shared.leasePercent());
        assertTrue(parse("cluster: {redis_url: \"${REDIS_URL:-}\"}").cluster().instanceId().contains("-"),
                "an unset URL is single-node mode, with the default instance id (host-pid)");
    }

    @Test
    void readsTheBookingDelayOfSlicesAndRefusesOneOutOfRange() {
        assertEquals(dev.tokenwise.core.config.ClusterConfig.DEFAULT_BOOKING_DELAY_MILLIS,
                parse("cluster: {redis_url: \"redis://h:1\"}").cluster().bookingDelayMillis());
        assertEquals(250, parse("cluster: {redis_url: \"redis://h:1\", booking_delay_ms: 250}").cluster()
                .bookingDelayMillis());
        assertTrue(error("cluster: {redis_url: \"redis://h:1\", booking_delay_ms: 0}")
                .contains("cluster.booking_delay_ms"));
        assertTrue(error("cluster: {redis_url: \"redis://h:1\", booking_delay_ms: 60001}")
                .contains("cluster.booking_delay_ms"));
    }

    @Test
    void refusesAClusterUrlThatIsNotRedisAndLocalShareWithoutSlices() {
        String url = error("cluster: {redis_url: \"http://:pw@host:6379\"}");
        assertTrue(url.contains("cluster.redis_url") && !url.contains("pw"), url);
        String policy = error("cluster: {redis_url: \"redis://host:6379\", on_redis_down: local_share, lease_percent: 0}");
        assertTrue(policy.contains("cluster.on_redis_down") && policy.contains("leases none"), policy);
        assertTrue(error("cluster: {redis_url: \"redis://h:1\", lease_percent: 51}").contains("cluster.lease_percent"));
        assertTrue(error("cluster: {redis_url: \"redis://h:1\", on_redis_down: open}").contains("fail_closed"));
    }

    @Test
    void appliesDefaultsForAbsentSections() {
        GatewayConfig config = parse("");
        ServerConfig defaults = ServerConfig.defaults();

        assertEquals(defaults, config.server());
        assertNull(config.adminKey());
        assertEquals("data/tokenwise.db", config.storagePath());
        assertTrue(config.providers().isEmpty());
        assertTrue(config.models().isEmpty());
        assertTrue(config.teams().isEmpty());
    }

    @Test
    void readsEveryServerKey() {
        ServerConfig server = parse("""
                server:
                  host: 0.0.0.0
                  port: 0
                  max_request_bytes: 1_048_576
                  max_header_bytes: 8192
                  io_threads: 2
                  worker_threads: 3
                  request_read_timeout_ms: 1500
                """).server();

        assertEquals(new ServerConfig("0.0.0.0", 0, 1_048_576, 8192, 2, 3, Duration.ofMillis(1500)), server);
    }

    @Test
    void readsEveryProviderKey() {
        ProviderConfig openai = parse("""
                providers:
                  openai:
                    type: openai
                    base_url: http://localhost:11434/v1/
                    connect_timeout_ms: 250
                    read_timeout_ms: 9000
                    max_idle_connections: 4
                """).providers().get("openai");

        assertEquals("http://localhost:11434/v1", openai.baseUrl().toString(), "a trailing slash is dropped");
        assertEquals(Duration.ofMillis(250), openai.connectTimeout());
        assertEquals(Duration.ofMillis(9000), openai.readTimeout());
        assertEquals(4, openai.maxIdlePerLoop());
        assertTrue(openai.enabled(), "a provider without an api_key entry needs no key");
        assertNull(openai.apiKey());
    }

    @Test
    void collectsOtherSimulatorKeysAsStringOptions() {
        ProviderConfig sim = parse("""
                providers:
                  sim:
                    type: simulator
                    chunk_delay_ms: 15
                    models: [sim-a, sim-b]
                    first_token_delay_ms: ${SIM_FIRST:-}
                    read_timeout_ms: 1000
                """).providers().get("sim");

        assertEquals(Map.of("chunk_delay_ms", "15", "models", "sim-a,sim-b"), sim.options(),
                "common keys are not options, and an option that expands to empty is left out");
        assertEquals(Duration.ofMillis(1000), sim.readTimeout());
        assertNull(sim.baseUrl());
    }

    // ---- environment expansion in the tree

    @Test
    void expandsVariablesInEveryScalarIncludingNumbers() {
        GatewayConfig config = parse("""
                server: {host: "${BIND:-127.0.0.1}", port: ${PORT:-9090}}
                storage: {path: ${DATA}/tw.db}
                """, Map.of("DATA", "/var/lib/tokenwise"));

        assertEquals("127.0.0.1", config.server().host());
        assertEquals(9090, config.server().port());
        assertEquals("/var/lib/tokenwise/tw.db", config.storagePath());
    }

    @Test
    void treatsValueThatExpandsToEmptyAsNotSet() {
        assertEquals(8080, parse("server: {port: ${PORT}}").server().port());
    }

    @Test
    void variableValueCannotInjectYamlStructure() {
        String evil = "x}\nadmin: {key: stolen\nteams: [";
        GatewayConfig config = parse(PROVIDERS + """
                teams:
                  - name: ${TEAM}
                    keys: [{key: '${KEY}'}]
                """, Map.of("TEAM", evil, "KEY", "{a: 1}", "OPENAI_API_KEY", "sk"));

        assertEquals(evil.strip(), config.teams().get(0).name());
        assertEquals(dev.tokenwise.core.auth.KeyHashes.sha256Hex("{a: 1}"), config.teams().get(0).keys().get(0).keyHash());
        assertNull(config.adminKey());
    }

    @Test
    void keepsDoubleDollarAsLiteralDollarInsideFlowMapping() {
        GatewayConfig config = parse("storage: {path: /tmp/$${NOT_A_VAR}/a$$b.db}");

        assertEquals("/tmp/${NOT_A_VAR}/a$b.db", config.storagePath());
    }

    @Test
    void keepsNoVirtualKeyInPlainTextOnceTheFileIsRead() {
        GatewayConfig config = parse(PROVIDERS + """
                teams: [{name: t, keys: [{key: tw-very-secret-key, name: k}, {key: tw-other-secret}]}]
                """);
        String everything = config.toString() + config.teams();
        for (var key : config.teams().get(0).keys()) {
            everything += key.keyHash() + key.name() + key;
        }
        assertFalse(everything.contains("tw-very-secret-key"), everything);
        assertFalse(everything.contains("tw-other-secret"), everything);
        assertEquals(dev.tokenwise.core.auth.KeyHashes.sha256Hex("tw-very-secret-key"),
                config.teams().get(0).keys().get(0).keyHash());
    }

    @Test
    void keepsNumericLookingStringsAsWritten() {
        KeyConfig key = parse("teams: [{name: t, keys: [{key: 0123, name: 0x1F}]}]").teams().get(0).keys().get(0);

        assertEquals(dev.tokenwise.core.auth.KeyHashes.sha256Hex("0123"), key.keyHash());
        assertEquals("0x1F", key.name());
    }

    // ---- disabled providers

    @Test
    void disablesProviderWhoseKeyVariableIsUnset() {
        ConfigLoader.Loaded loaded = read(PROVIDERS + """
                models:
                  - {name: gpt-4o-mini, provider: openai}
                  - {name: gpt-4o, provider: openai, upstream_name: gpt-4o-2024-08-06}
                """, Map.of());
        ProviderConfig openai = loaded.config().providers().get("openai");

        assertFalse(openai.enabled());
        assertNull(openai.apiKey());
        assertEquals("api_key is empty (set OPENAI_API_KEY)", openai.disabledReason());
        assertTrue(loaded.config().providers().get("sim").enabled());
        assertEquals(List.of("Provider openai disabled: OPENAI_API_KEY is not set; its models (gpt-4o-mini, gpt-4o)"
                + " answer 404 until it is"), loaded.warnings());
    }

    @Test
    void disablesProviderWhoseKeyVariableIsSetButEmpty() {
        ConfigLoader.Loaded loaded = read(PROVIDERS + "models: [{name: gpt-4o-mini, provider: openai}]",
                Map.of("OPENAI_API_KEY", "  "));

        assertFalse(loaded.config().providers().get("openai").enabled());
        assertEquals(List.of("Provider openai disabled: OPENAI_API_KEY is empty; its model gpt-4o-mini answers 404"
                + " until it is set"), loaded.warnings());
    }

    @Test
    void disablesProviderWithLiterallyEmptyKeyWithoutNamingAVariable() {
        ConfigLoader.Loaded loaded = read("providers: {local: {type: openai, base_url: 'http://127.0.0.1:1/v1',"
                + " api_key: ''}}", Map.of());

        assertEquals("api_key is empty", loaded.config().providers().get("local").disabledReason());
        assertEquals(List.of("Provider local disabled: its api_key is empty; no model uses it"), loaded.warnings());
    }

    @Test
    void enablesProviderWhoseKeyVariableIsSet() {
        GatewayConfig config = parse(PROVIDERS, Map.of("OPENAI_API_KEY", "sk-live\n"));

        assertTrue(config.providers().get("openai").enabled());
        assertEquals("sk-live", config.providers().get("openai").apiKey(), "surrounding whitespace is stripped");
        assertFalse(config.providers().get("openai").toString().contains("sk-live"));
    }

    // ---- prices

    @Test
    void takesPriceFromInlineBlockOverCatalog() {
        ModelPrice price = parse(PROVIDERS + """
                models:
                  - name: gpt-4o-mini
                    provider: openai
                    price:
                      input_per_mtok: 1
                      output_per_mtok: 2
                      cached_input_per_mtok: 0.5
                      cache_write_per_mtok: 1.25
                      reasoning_per_mtok: 3
                      max_output_tokens: 4096
                """).models().get("gpt-4o-mini").price();

        assertEquals(new ModelPrice(1_000_000_000, 2_000_000_000, 500_000_000, 1_250_000_000, 3_000_000_000L, 4096),
                price);
    }

    @Test
    void defaultsCachedAndCacheWriteToInputAndReasoningToOutput() {
        ModelPrice price = parse(PROVIDERS + """
                models: [{name: m, provider: sim, price: {input_per_mtok: 0.3, output_per_mtok: 1.2}}]
                """).models().get("m").price();

        assertEquals(new ModelPrice(300_000_000, 1_200_000_000, 300_000_000, 300_000_000, 1_200_000_000, 0), price);
    }

    @Test
    void readsTiersOfAPriceBlockAndAppliesTheModelsRegion() {
        GatewayConfig config = parse(PROVIDERS + """
                models:
                  - name: gpt-eu
                    provider: sim
                    region: eu
                    price:
                      input_per_mtok: 2.50
                      output_per_mtok: 15
                      cached_input_per_mtok: 0.25
                      above_input_tokens: {272000: {input_per_mtok: 5, output_per_mtok: 22.50}}
                      service_tiers: {flex: {multiplier: 0.5}, priority: {input_per_mtok: 5, output_per_mtok: 30}}
                      regions: {eu: 1.1}
                  - {name: gpt, provider: sim, price: {input_per_mtok: 2.50, output_per_mtok: 15, regions: {eu: 1.1}}}
                """);
        ModelPrice eu = config.models().get("gpt-eu").price();
        // 1,000 in + 1,000 out at 1.1 x (2.50, 15) = $0.01925; flex half of it; priority 1.1 x (5 + 30) x 1,000 = $0.0385
        assertEquals(19_250_000L, eu.costNanos(TokenUsage.of(1_000, 1_000)));
        assertEquals(9_625_000L, eu.costNanos(TokenUsage.of(1_000, 1_000), ServiceTier.FLEX));
        assertEquals(38_500_000L, eu.costNanos(TokenUsage.of(1_000, 1_000), ServiceTier.PRIORITY));
        // above 272k: 1.1 x (300,000 x 5 + 1,000 x 22.50) = $1.67475
        assertEquals(1_674_750_000L, eu.costNanos(TokenUsage.of(300_000, 1_000)));
        assertEquals("eu", eu.region());
        assertEquals(17_500_000L, config.models().get("gpt").price().costNanos(TokenUsage.of(1_000, 1_000)), "no region");
    }

    @Test
    void refusesARegionThePriceDoesNotList() {
        assertEquals("models[0].region: 'apac' (expected one of the regions its price lists under regions: eu)",
                error(PROVIDERS + "models: [{name: m, provider: sim, region: apac, price: {input_per_mtok: 1,"
                        + " output_per_mtok: 1, regions: {eu: 1.1}}}]"));
        assertTrue(error(PROVIDERS + "models: [{name: m, provider: sim, price: {input_per_mtok: 1, output_per_mtok: 1,"
                + " service_tiers: {flex: {multiplier: -1}}}}]").startsWith("models[0].price.service_tiers.flex.multiplier: -1"));
    }

    @Test
    void warnsOnceNamingThePricesCheckedLongerAgoThanStaleAfterDays() {
        ModelPrice old = MINI.checkedOn(java.time.LocalDate.of(2026, 5, 1));
        ModelPrice recent = ModelPrice.of(1, 2).checkedOn(java.time.LocalDate.of(2026, 11, 1));
        PriceCatalog dated = model -> Optional.ofNullable(Map.of("gpt-4o-mini", old, "fresh", recent).get(model));
        String models = """
                models:
                  - {name: fresh, provider: sim}
                  - {name: gpt-4o-mini, provider: sim}
                  - {name: inline, provider: sim, price: {input_per_mtok: 1, output_per_mtok: 1, checked: 2025-12-31}}
                """;
        java.time.LocalDate today = java.time.LocalDate.of(2026, 11, 28);

        List<String> warnings = ConfigLoader.read(PROVIDERS + models, null, dir, Map.of("OPENAI_API_KEY", "k"),
                file -> dated, today).warnings();
        assertEquals(List.of("prices checked more than 120 days ago (pricing.stale_after_days): inline (2025-12-31),"
                + " gpt-4o-mini (2026-05-01); check them against the providers' pages and update the price catalog"), warnings);

        assertEquals(List.of(), ConfigLoader.read(PROVIDERS + "pricing: {catalog: prices.yaml, stale_after_days: 400}\n"
                + models, null, dir, Map.of("OPENAI_API_KEY", "k"), file -> dated, today).warnings());
    }

    @Test
    void takesPriceFromCatalogByNameThenByUpstreamName() {
        ConfigLoader.Loaded loaded = read(PROVIDERS + """
                models:
                  - {name: gpt-4o-mini, provider: openai}
                  - {name: smart, provider: openai, upstream_name: gpt-4o-2024-08-06}
                """, Map.of("OPENAI_API_KEY", "sk"));

        assertSame(MINI, loaded.config().models().get("gpt-4o-mini").price());
        assertEquals(ModelPrice.of(2_500_000_000L, 10_000_000_000L), loaded.config().models().get("smart").price());
        assertEquals("gpt-4o-2024-08-06", loaded.config().models().get("smart").upstreamName());
        assertEquals(List.of(), loaded.warnings());
    }

    @Test
    void leavesModelUnpricedAndWarnsOnce() {
        ConfigLoader.Loaded loaded = read(PROVIDERS + "models: [{name: sim-x, provider: sim}]", Map.of());

        assertNull(loaded.config().models().get("sim-x").price());
        assertEquals(List.of("Provider openai disabled: OPENAI_API_KEY is not set; no model uses it",
                "model sim-x has no price: its calls are refused (model_not_priced) until it has one, or pricing.allow_unpriced is true"), loaded.warnings());
    }

    @Test
    void letsUnpricedModelsThroughOnlyWhenAllowedAndSaysWhatEachCallReserves() {
        ConfigLoader.Loaded loaded = read(PROVIDERS + """
                pricing: {allow_unpriced: true, unpriced_reserve_usd: 0.25}
                budgets: {stored_context_tokens: 200000}
                models: [{name: sim-x, provider: sim}]
                """, Map.of());
        assertTrue(loaded.config().budgets().allowUnpriced());
        assertEquals(250_000_000L, loaded.config().budgets().unpricedReserveNanos());
        assertEquals(200_000, loaded.config().budgets().storedContextTokens());
        assertEquals("model sim-x has no price: pricing.allow_unpriced lets its calls through at cost 0, each reserving"
                + " 0.25 USD of budget", loaded.warnings().get(loaded.warnings().size() - 1));
        assertFalse(parse(PROVIDERS + "models: []").budgets().allowUnpriced(), "refused unless allowed");
        ConfigException e = assertThrows(ConfigException.class,
                () -> parse(PROVIDERS + "pricing: {allow_unpriced: yes please}\nmodels: []"));
        assertTrue(e.getMessage().contains("pricing.allow_unpriced: 'yes please' (expected: true or false)"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> parse(PROVIDERS + "pricing: {unpriced_reserve_usd: 0}\nmodels: []"));
        assertTrue(e.getMessage().contains("pricing.unpriced_reserve_usd: 0 (expected: > 0)"), e.getMessage());
    }

    @Test
    void readsTheRateLimitsOfTeamsKeysAndModels() {
        GatewayConfig config = parse(PROVIDERS + """
                rate_limits: {upstream_max_wait_ms: 500}
                models:
                  - {name: gpt-4o, provider: openai, rate_limits: {requests_per_minute: 500}}
                teams:
                  - name: gamma
                    rate_limits: {requests_per_minute: 5, tokens_per_minute: 300000, concurrent_requests: 20}
                    keys:
                      - {key: tw-g, name: gamma-key, rate_limits: {requests_per_minute: 2}}
                      - {key: tw-h, name: plain-key}
                """);
        assertEquals(new RateLimits(5, 300_000, 20), config.rateLimits().teams().get("gamma"));
        assertEquals(new RateLimits(2, 0, 0), config.rateLimits().keys().get("gamma-key"));
        assertNull(config.rateLimits().keys().get("plain-key"));
        assertEquals(new RateLimits(500, 0, 0), config.rateLimits().models().get("gpt-4o"));
        assertEquals(500, config.rateLimits().upstreamMaxWait().toMillis());
        ConfigException e = assertThrows(ConfigException.class, () -> parse(PROVIDERS
                + "teams: [{name: a, rate_limits: {requests_per_minute: 0}}]"));
        assertTrue(e.getMessage().contains("teams[0].rate_limits.requests_per_minute: 0 (expected: "), e.getMessage());
        e = assertThrows(ConfigException.class, () -> parse(PROVIDERS + "teams: [{name: a, rate_limits: {rpm: 5}}]"));
        assertTrue(e.getMessage().contains("teams[0].rate_limits.rpm: unknown key"), e.getMessage());
    }

    @Test
    void readsTheResponseCacheOffByDefaultAndItsSettingsWhenEnabled() {
        CacheConfig none = parse(PROVIDERS).cache();
        assertFalse(none.enabled());
        assertEquals(CacheConfig.DISABLED, none);
        CacheConfig cache = parse(PROVIDERS + "cache: {enabled: true, ttl_seconds: 60, max_mib: 32, mode: all, scope: global}")
                .cache();
        assertTrue(cache.enabled());
        assertEquals(60, cache.ttl().toSeconds());
        assertEquals(32L << 20, cache.maxBytes());
        assertEquals(CacheConfig.Mode.ALL, cache.mode());
        assertEquals(CacheConfig.Scope.GLOBAL, cache.scope());
        CacheConfig defaults = parse(PROVIDERS + "cache: {enabled: true}").cache();
        assertEquals(600, defaults.ttl().toSeconds());
        assertEquals(256L << 20, defaults.maxBytes());
        assertEquals(CacheConfig.Mode.DETERMINISTIC, defaults.mode());
        assertEquals(CacheConfig.Scope.TEAM, defaults.scope());
        assertTrue(error(PROVIDERS + "cache: {enabled: true, mode: sometimes}")
                .contains("cache.mode: 'sometimes' (expected: deterministic or all)"));
        assertTrue(error(PROVIDERS + "cache: {scope: company}").contains("cache.scope: 'company' (expected: team or global)"));
        assertTrue(error(PROVIDERS + "cache: {ttl_seconds: 0}").contains("cache.ttl_seconds: 0 (expected: "));
        assertTrue(error(PROVIDERS + "cache: {max_mib: 0}").contains("cache.max_mib: 0 (expected: "));
        assertTrue(error(PROVIDERS + "cache: {size: 5}").contains("cache.size: unknown key"));
    }

    @Test
    void parsesMoneyExactlyAsBigDecimal() {
        GatewayConfig config = parse(PROVIDERS + """
                models: [{name: m, provider: sim, price: {input_per_mtok: 0.000000001, output_per_mtok: 0.075}}]
                teams:
                  - {name: a, budget: {limit_usd: 0.1, period: weekly}}
                  - {name: b, budget: {limit_usd: 0.30000000, period: monthly}}
                  - {name: c, budget: {limit_usd: "1e2", period: total}}
                """);

        assertEquals(100_000_000L, config.teams().get(0).budget().limitNanos());
        assertEquals(BudgetPeriod.WEEKLY, config.teams().get(0).budget().period());
        assertEquals(300_000_000L, config.teams().get(1).budget().limitNanos());
        assertEquals(100_000_000_000L, config.teams().get(2).budget().limitNanos());
        assertEquals(1L, config.models().get("m").price().inputNanosPerMtok());
        assertEquals(75_000_000L, config.models().get("m").price().outputNanosPerMtok());
    }

    @Test
    void rejectsMoneyFinerThanNanoUsd() {
        assertEquals("teams[0].budget.limit_usd: 0.0000000001 (expected: at most 9 decimals, the precision of"
                + " nano-USD)", error("teams: [{name: a, budget: {limit_usd: 0.0000000001, period: daily}}]"));
    }

    @Test
    void rejectsNegativeMoney() {
        assertEquals("models[0].price.output_per_mtok: -1 (expected: >= 0)",
                error(PROVIDERS + "models: [{name: m, provider: sim, price: {input_per_mtok: 1, output_per_mtok: -1}}]"));
    }

    // ---- the pricing catalog file

    @Test
    void resolvesCatalogRelativeToConfigFile() throws Exception {
        Path configDir = Files.createDirectories(dir.resolve("etc"));
        Files.writeString(configDir.resolve("my-prices.yaml"), "# a catalog");
        Path file = Files.writeString(configDir.resolve("gateway.yaml"),
                "pricing: {catalog: my-prices.yaml}\n" + PROVIDERS + "models: [{name: gpt-4o-mini, provider: sim}]");
        List<Path> asked = new ArrayList<>();

        GatewayConfig config = ConfigLoader.load(file, Map.of(), path -> {
            asked.add(path);
            return CATALOG;
        });

        assertEquals(List.of(configDir.toAbsolutePath().resolve("my-prices.yaml")), asked);
        assertSame(MINI, config.models().get("gpt-4o-mini").price());
    }

    @Test
    void usesPricesYamlBesideConfigWhenPricingIsAbsent() throws Exception {
        Path file = Files.writeString(dir.resolve("gateway.yaml"), PROVIDERS + "models: [{name: gpt-4o-mini, provider: sim}]");
        List<Path> asked = new ArrayList<>();

        ConfigLoader.Loaded loaded = ConfigLoader.read(file, Map.of("OPENAI_API_KEY", "sk"), path -> {
            asked.add(path);
            return CATALOG;
        });

        assertEquals(List.of(dir.toAbsolutePath().resolve("prices.yaml")), asked);
        assertSame(MINI, loaded.config().models().get("gpt-4o-mini").price());
        assertEquals(List.of(), loaded.warnings());
    }

    @Test
    void usesEmptyCatalogSilentlyWhenPricingIsAbsentAndNoPricesYamlExists() throws Exception {
        Path file = Files.writeString(Files.createDirectories(dir.resolve("bare")).resolve("gateway.yaml"),
                "storage: {path: x.db}");

        ConfigLoader.Loaded loaded = ConfigLoader.read(file, Map.of(), NO_CATALOG_FILE);

        assertEquals(List.of(), loaded.warnings());
    }

    @Test
    void warnsOnceAndUsesEmptyCatalogWhenCatalogFileIsMissing() {
        ConfigLoader.Loaded loaded = ConfigLoader.read(PROVIDERS + """
                pricing: {catalog: nowhere/prices.yaml}
                models: [{name: gpt-4o-mini, provider: sim}]
                """, null, dir, Map.of("OPENAI_API_KEY", "sk"), NO_CATALOG_FILE);

        assertNull(loaded.config().models().get("gpt-4o-mini").price());
        assertEquals(List.of("pricing.catalog: " + dir.resolve("nowhere/prices.yaml") + " not found; using an empty"
                        + " price catalog, so only models with a price: block are priced",
                "model gpt-4o-mini has no price: its calls are refused (model_not_priced) until it has one, or pricing.allow_unpriced is true"), loaded.warnings());
    }

    @Test
    void wrapsCatalogLoaderFailureNamingTheCatalog() throws Exception {
        Path catalog = dir.resolve("prices.yaml");
        Path file = Files.writeString(dir.resolve("gateway.yaml"), "storage: {path: x.db}");

        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(file, Map.of(), path -> {
            throw new IllegalStateException("line 1: not a mapping");
        }));

        assertEquals(file + ": pricing.catalog: " + catalog.toAbsolutePath() + " cannot be loaded: line 1: not a mapping",
                e.getMessage());
    }

    // ---- teams and keys

    @Test
    void derivesKeyNameFromSha256OfKey() throws Exception {
        KeyConfig key = parse("teams: [{name: t, keys: [{key: tw-demo-key}]}]").teams().get(0).keys().get(0);
        byte[] digest = MessageDigest.getInstance("SHA-256").digest("tw-demo-key".getBytes(StandardCharsets.UTF_8));

        assertEquals("key-" + HexFormat.of().formatHex(digest).substring(0, 8), key.name());
        assertEquals(12, key.name().length());
    }

    @Test
    void readsKeyNameAndAllowedModels() {
        KeyConfig key = parse(PROVIDERS + """
                models: [{name: a, provider: sim}, {name: b, provider: sim}]
                teams: [{name: t, keys: [{key: k1, name: ci, models: [b]}]}]
                """).teams().get(0).keys().get(0);

        assertEquals("ci", key.name());
        assertEquals(List.of("b"), key.models());
    }

    @Test
    void allowsTeamWithoutBudgetOrKeys() {
        GatewayConfig config = parse("teams: [{name: solo}]");

        assertNull(config.teams().get(0).budget());
        assertTrue(config.teams().get(0).keys().isEmpty());
    }

    @Test
    void forwardsTheClientsOrgHeadersOnlyForAProviderThatSaysSo() {
        GatewayConfig config = parse("""
                providers:
                  openai: {type: openai, base_url: https://api.openai.com/v1, api_key: k}
                  shared: {type: openai, base_url: https://api.openai.com/v1, api_key: k, forward_client_org_headers: false}
                  own: {type: openai, base_url: https://api.openai.com/v1, api_key: k, forward_client_org_headers: true}
                  sim: {type: simulator, forward_client_org_headers: true}
                """);
        assertFalse(config.providers().get("openai").forwardClientOrgHeaders(), "off unless asked for");
        assertFalse(config.providers().get("shared").forwardClientOrgHeaders());
        assertTrue(config.providers().get("own").forwardClientOrgHeaders());
        assertTrue(config.providers().get("sim").forwardClientOrgHeaders());
        assertFalse(config.providers().get("sim").options().containsKey("forward_client_org_headers"),
                "a common key, not a simulator option");
        assertEquals("providers.openai.forward_client_org_headers: 'yes' (expected: true or false)",
                error("providers: {openai: {type: openai, base_url: 'https://x', forward_client_org_headers: yes}}"));
    }

    // ---- error messages

    @Test
    void rejectsUnknownKeyNamingItsPath() {
        assertEquals("providers.openai.base_ulr: unknown key (expected one of: type, base_url, api_key,"
                        + " connect_timeout_ms, read_timeout_ms, max_idle_connections, max_retries, retry_backoff_ms, retry_budget_percent, breaker_failures, breaker_cooldown_ms, first_byte_timeout_ms, total_timeout_ms,"
                        + " forward_client_org_headers)",
                error("providers: {openai: {type: openai, base_ulr: 'https://x'}}"));
        assertEquals("teams[0].keys[1].modles: unknown key (expected one of: key, name, models, budget, rate_limits)",
                error("teams: [{name: t, keys: [{key: a}, {key: b, modles: []}]}]"));
        assertEquals("models[0].price.input: unknown key (expected one of: input_per_mtok, output_per_mtok,"
                        + " cached_input_per_mtok, cache_write_per_mtok, cache_write_1h_per_mtok, reasoning_per_mtok,"
                        + " max_output_tokens, above_input_tokens, service_tiers, regions, checked)",
                error(PROVIDERS + "models: [{name: m, provider: sim, price: {input: 1}}]"));
    }

    @Test
    void rejectsUnknownTopLevelKey() {
        assertEquals("model: unknown key (expected one of: server, admin, storage, pricing, budgets, providers, models, teams,"
                        + " rate_limits, cache, probes, telemetry, logging, routes, cluster, instance_id)",
                error("model: []"));
    }

    @Test
    void rejectsWrongTypeNamingPathAndValue() {
        assertEquals("server.port: 'abc' (expected: an integer)", error("server: {port: abc}"));
        assertEquals("server.port: '80.5' (expected: an integer)", error("server: {port: 80.5}"));
        assertEquals("server.port: 'abc' from ${PORT} (expected: an integer)",
                error("server: {port: '${PORT}'}", Map.of("PORT", "abc")));
        assertEquals("teams[0].budget.limit_usd: 'five' (expected: a decimal number)",
                error("teams: [{name: t, budget: {limit_usd: five, period: daily}}]"));
        assertEquals("server: a list (expected: a mapping)", error("server: [1, 2]"));
        assertEquals("models: a mapping (expected: a list)", error("models: {name: a}"));
        assertEquals("server.host: a list (expected: a string)", error("server: {host: [a]}"));
        assertEquals("(top level): a list (expected: a mapping)", error("- a"));
    }

    @Test
    void rejectsOutOfRangeNumberNamingItsRange() {
        assertEquals("server.port: 70000 (expected: 0..65535)", error("server: {port: 70000}"));
        assertEquals("server.io_threads: -1 (expected: >= 0)", error("server: {io_threads: -1}"));
        assertEquals("server.worker_threads: 0 (expected: > 0)", error("server: {worker_threads: 0}"));
        assertEquals("providers.sim.read_timeout_ms: 0 (expected: > 0)",
                error("providers: {sim: {type: simulator, read_timeout_ms: 0}}"));
    }

    @Test
    void rejectsMissingRequiredKeyNamingItsPath() {
        assertEquals("models[2].provider: missing", error(PROVIDERS + """
                models:
                  - {name: a, provider: sim}
                  - {name: b, provider: sim}
                  - {name: c}
                """));
        assertEquals("models[0].price.output_per_mtok: missing",
                error(PROVIDERS + "models: [{name: m, provider: sim, price: {input_per_mtok: 1}}]"));
        assertEquals("providers.x.type: missing", error("providers: {x: {base_url: 'https://x'}}"));
        assertEquals("teams[0].name: missing", error("teams: [{keys: []}]"));
        assertEquals("teams[0].budget.period: missing (expected: daily, weekly, monthly or total)",
                error("teams: [{name: t, budget: {limit_usd: 1}}]"));
        assertEquals("teams[0].keys[0].key: missing", error("teams: [{name: t, keys: [{name: k}]}]"));
    }

    @Test
    void rejectsUnknownProviderTypeListingAllowedTypes() {
        assertEquals("providers.x.type: 'bedrock' (expected one of: openai, anthropic, azure_openai, gemini, simulator)",
                error("providers: {x: {type: bedrock}}"));
    }

    @Test
    void rejectsOpenAiProviderWithoutBaseUrl() {
        assertEquals("providers.openai.base_url: missing (required for type openai, e.g. https://api.openai.com/v1)",
                error("providers: {openai: {type: openai, api_key: sk}}"));
    }

    @Test
    void rejectsBaseUrlOnSimulator() {
        assertEquals("providers.sim.base_url: not allowed for type simulator (it runs inside the gateway)",
                error("providers: {sim: {type: simulator, base_url: 'http://localhost:1'}}"));
    }

    @Test
    void rejectsMalformedBaseUrl() {
        assertEquals("providers.openai.base_url: 'api.openai.com/v1' (expected: an absolute http:// or https:// URL)",
                error("providers: {openai: {type: openai, base_url: api.openai.com/v1}}"));
        assertEquals("providers.openai.base_url: 'ftp://x/v1' (expected: an absolute http:// or https:// URL)",
                error("providers: {openai: {type: openai, base_url: 'ftp://x/v1'}}"));
    }

    @Test
    void rejectsModelOfUnknownProvider() {
        assertEquals("models[0].provider: 'anthropic' (expected one of: openai, sim)",
                error(PROVIDERS + "models: [{name: claude, provider: anthropic}]"));
    }

    @Test
    void rejectsDuplicateModelNames() {
        assertEquals("models[1].name: 'm' (expected: a unique name; already used by models[0])",
                error(PROVIDERS + "models: [{name: m, provider: sim}, {name: m, provider: openai}]"));
    }

    @Test
    void rejectsDuplicateTeamNames() {
        assertEquals("teams[1].name: 't' (expected: a unique name; already used by teams[0])",
                error("teams: [{name: t}, {name: t}]"));
    }

    @Test
    void rejectsDuplicateYamlKey() {
        assertEquals("server.port: duplicate key (expected: each key once)",
                error("server:\n  port: 1\n  port: 2\n"));
    }

    @Test
    void rejectsEmptyTeamKeyNamingTeamAndVariable() {
        assertEquals("teams[0].keys[0].key: empty (team demo needs a non-empty key; set TOKENWISE_DEMO_KEY)",
                error("teams: [{name: demo, keys: [{key: '${TOKENWISE_DEMO_KEY}'}]}]"));
        assertEquals("teams[0].keys[0].key: empty (team demo needs a non-empty key)",
                error("teams: [{name: demo, keys: [{key: ''}]}]"));
    }

    @Test
    void rejectsDuplicateKeyWithoutEchoingIt() {
        String message = error("teams: [{name: a, keys: [{key: secret-1}]}, {name: b, keys: [{key: secret-1}]}]");

        assertEquals("teams[1].keys[0].key: the same key as teams[0].keys[0] (expected: unique keys)", message);
        assertFalse(message.contains("secret-1"));
    }

    @Test
    void rejectsDuplicateKeyNameWithinTeam() {
        assertEquals("teams[0].keys[1].name: 'ci' (expected: a unique name within team t; already used by"
                        + " teams[0].keys[0])",
                error("teams: [{name: t, keys: [{key: a, name: ci}, {key: b, name: ci}]}]"));
    }

    @Test
    void rejectsKeyModelNotListedUnderModels() {
        assertEquals("teams[0].keys[0].models[1]: 'gpt-5' (expected one of: a)",
                error(PROVIDERS + "models: [{name: a, provider: sim}]\nteams: [{name: t, keys: [{key: k, models: [a, gpt-5]}]}]"));
    }

    @Test
    void readsBudgetEnforcementSettingsWithDefaults() {
        assertEquals(dev.tokenwise.core.config.BudgetSettings.defaults(), parse("teams: []").budgets());
        var budgets = parse("""
                budgets: {zone: Europe/Berlin, soft_threshold_percent: 90, default_max_output_tokens: 2048,
                          reservation_timeout_ms: 60000}
                """).budgets();
        assertEquals(java.time.ZoneId.of("Europe/Berlin"), budgets.zone());
        assertEquals(90, budgets.softThresholdPercent());
        assertEquals(2048, budgets.defaultMaxOutputTokens());
        assertEquals(java.time.Duration.ofMinutes(1), budgets.reservationTimeout());
    }

    @Test
    void readsTheStorageSyncMode() {
        assertEquals(dev.tokenwise.core.config.StorageSync.NORMAL, parse("teams: []").storageSync());
        assertEquals(dev.tokenwise.core.config.StorageSync.STRICT, parse("storage: {sync: strict}").storageSync());
        assertEquals("storage.sync: 'sometimes' (expected: normal or strict)", error("storage: {sync: sometimes}"));
    }

    @Test
    void readsAPostgresLedgerUrlWithVariablesAndARetention() {
        GatewayConfig config = parse("storage: {url: \"jdbc:postgresql://${PGHOST}:5432/tokenwise?user=tw&password=${PGPASSWORD}\","
                + " retention_days: 90}", Map.of("PGHOST", "db.internal", "PGPASSWORD", "s3cret"));
        assertEquals("jdbc:postgresql://db.internal:5432/tokenwise?user=tw&password=s3cret", config.storage().url());
        assertTrue(config.storage().postgres());
        assertEquals(90, config.storage().retentionDays());
        assertFalse(parse("teams: []").storage().postgres(), "the SQLite file by default");
        assertEquals(0, parse("teams: []").storage().retentionDays(), "records kept forever by default");
    }

    @Test
    void refusesTwoLedgersAnotherDatabaseAndANegativeRetention() {
        assertEquals("storage: both path and url are set (expected one: path for the SQLite file, url for PostgreSQL)",
                error("storage: {path: x.db, url: \"jdbc:postgresql://h/db\"}"));
        assertEquals("storage.url: 'jdbc:mysql://h/db?password=***' (expected: jdbc:postgresql://host:port/database)",
                error("storage: {url: \"jdbc:mysql://h/db?password=hunter2\"}"));
        assertTrue(error("storage: {retention_days: -1}").startsWith("storage.retention_days: -1"),
                error("storage: {retention_days: -1}"));
    }

    @Test
    void rejectsAnUnknownBudgetZoneNamingIt() {
        assertEquals("budgets.zone: 'Mars/Olympus' (expected: a time zone id such as UTC or Europe/Berlin)",
                error("budgets: {zone: Mars/Olympus}"));
        assertEquals("budgets.soft_threshold_percent: 120 (expected: 1..100)",
                error("budgets: {soft_threshold_percent: 120}"));
    }

    @Test
    void rejectsUnknownBudgetPeriod() {
        assertEquals("teams[0].budget.period: hourly (expected: daily, weekly, monthly or total)",
                error("teams: [{name: t, budget: {limit_usd: 1, period: hourly}}]"));
    }

    @Test
    void rejectsYamlSyntaxErrorWithItsLine() {
        String message = error("server:\n  port: 1\n bad: [\n");

        assertTrue(message.startsWith("line 3"), message);
        assertTrue(message.contains("YAML syntax error"), message);
    }

    @Test
    void rejectsYamlAliases() {
        assertEquals("storage.path: the alias *p (expected: a value; YAML anchors and aliases are not supported)",
                error("server: {host: &p x}\nstorage: {path: *p}"));
    }

    @Test
    void rejectsBadReferenceNamingItsPath() {
        assertEquals("admin.key: unterminated ${ (expected: ${VAR} or ${VAR:-default})", error("admin: {key: '${X'}"));
    }

    // ---- files

    @Test
    void prefixesErrorsWithFileName() throws Exception {
        Path file = Files.writeString(dir.resolve("gateway.yaml"), "server: {port: abc}\n");

        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(file, Map.of(), NO_CATALOG_FILE));

        assertEquals(file + ": server.port: 'abc' (expected: an integer)", e.getMessage());
    }

    @Test
    void wrapsUnexpectedExceptionWithFileName() throws Exception {
        Path file = Files.writeString(dir.resolve("gateway.yaml"), PROVIDERS + "models: [{name: m, provider: sim}]");
        PriceCatalog failing = model -> {
            throw new IllegalStateException("catalog index corrupt");
        };

        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(file, Map.of(), p -> failing));

        assertEquals(file + ": invalid configuration: java.lang.IllegalStateException: catalog index corrupt",
                e.getMessage());
    }

    @Test
    void treatsEmptyHostAsNotSet() {
        assertEquals("127.0.0.1", parse("server: {host: ''}").server().host());
    }

    @Test
    void reportsMissingConfigFile() {
        Path file = dir.resolve("absent.yaml");

        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(file, Map.of(), NO_CATALOG_FILE));

        assertEquals("config file not found: " + file.toAbsolutePath().normalize(), e.getMessage());
    }

    @Test
    void carriesAModelsSimulateBlockToItsSimulatorProviderAsAnOption() {
        GatewayConfig config = parse(PROVIDERS + """
                models:
                  - {name: sim-mid, provider: sim, simulate: {accuracy: 0.93, verbosity: 1.0, seed: 7,
                                                          degrade: {after_calls: 500, accuracy: 0.6, verbosity: 1.8}}}
                  - {name: sim-plain, provider: sim}
                """);
        ProviderConfig sim = config.providers().get("sim");
        assertEquals("accuracy=0.93;verbosity=1.0;seed=7;degrade.accuracy=0.6;degrade.verbosity=1.8;"
                + "degrade.after_calls=500", sim.options().get("simulate.sim-mid"));
        assertFalse(sim.options().containsKey("simulate.sim-plain"));
        var settings = dev.tokenwise.providers.simulator.SimulatorSettings.fromOptions("sim", sim.options());
        assertEquals(0.93, settings.skills().get("sim-mid").normal().accuracy());
        assertEquals(0.6, settings.skills().get("sim-mid").degraded().accuracy());
    }

    @Test
    void refusesABadSimulateBlockNamingItsPath() {
        assertEquals("models[0].simulate.accuracy: 1.2 (expected: 0..1)",
                error(PROVIDERS + "models: [{name: s, provider: sim, simulate: {accuracy: 1.2}}]"));
        assertEquals("models[0].simulate.accuracy: missing",
                error(PROVIDERS + "models: [{name: s, provider: sim, simulate: {verbosity: 2}}]"));
        assertEquals("models[0].simulate.verbosity: 0 (expected: > 0 and <= 20)",
                error(PROVIDERS + "models: [{name: s, provider: sim, simulate: {accuracy: 1, verbosity: 0}}]"));
        assertEquals("models[0].simulate.degrade: needs after_calls or after_seconds (when to degrade)",
                error(PROVIDERS + "models: [{name: s, provider: sim, simulate: {accuracy: 1, degrade: {accuracy: 0.5}}}]"));
        assertEquals("models[0].simulate.skill: unknown key (expected one of: accuracy, verbosity, seed, degrade)",
                error(PROVIDERS + "models: [{name: s, provider: sim, simulate: {accuracy: 1, skill: 2}}]"));
        assertEquals("models[0].simulate: only for models of a simulator provider (openai is of type openai)",
                error(PROVIDERS + "models: [{name: gpt-4o-mini, provider: openai, simulate: {accuracy: 1}}]"));
    }

    @Test
    void readsProbes() {
        GatewayConfig config = parse(PROVIDERS + """
                models: [{name: sim-a, provider: sim}, {name: sim-b, provider: sim}]
                probes: {interval_seconds: 600, models: [sim-a, sim-b], tasks_per_run: 12, team: probes}
                """);
        assertEquals(Duration.ofMinutes(10), config.probes().interval());
        assertEquals(List.of("sim-a", "sim-b"), config.probes().models());
        assertEquals(12, config.probes().tasksPerRun());
        assertEquals("builtin", config.probes().suite());
        assertEquals("probes", config.probes().team());
        assertEquals(10, config.probes().referenceRuns());
        assertNull(parse(PROVIDERS).probes());
    }

    @Test
    void refusesBadProbesNamingThePath() throws Exception {
        String models = "models: [{name: sim-a, provider: sim}]\n";
        assertEquals("probes.models[0]: 'nope' (expected one of: sim-a)",
                error(PROVIDERS + models + "probes: {models: [nope], team: t}"));
        assertEquals("probes.team: missing (expected: the team whose budget pays for the probes)",
                error(PROVIDERS + models + "probes: {models: [sim-a]}"));
        assertEquals("probes.interval_seconds: 0 (expected: 1..2592000)",
                error(PROVIDERS + models + "probes: {models: [sim-a], team: t, interval_seconds: 0}"));
        assertEquals("probes.models: missing (expected: a list of the models to probe)",
                error(PROVIDERS + models + "probes: {team: t}"));
        Files.writeString(dir.resolve("probe-suite.jsonl"), "{\"id\": \"a\", \"prompt\": \"x\"}\n");
        assertEquals("probes.suite: probe-suite.jsonl line 1: grader: missing (expected: an object with a \"type\")",
                error(PROVIDERS + models + "probes: {models: [sim-a], team: t, suite: probe-suite.jsonl}"));
    }

    @Test
    void readsRoutesCallableByKeysLikeModels() {
        GatewayConfig config = parse(PROVIDERS + """
                models: [{name: sim-a, provider: sim}, {name: sim-b, provider: sim}]
                routes:
                  - {name: auto, candidates: [sim-a, sim-b], min_success_rate: 0.85, exploration: 0.1}
                  - {name: graded, candidates: [sim-b], min_success_rate: 0.5, metric: score, threshold: 0.7}
                teams: [{name: t, keys: [{key: k1, models: [auto]}]}]
                """);
        assertEquals(List.of("sim-a", "sim-b"), config.route("auto").candidates());
        assertEquals(0.85, config.route("auto").minSuccessRate());
        assertEquals(0.1, config.route("auto").exploration());
        assertNull(config.route("auto").scoreThreshold());
        assertEquals(0.05, config.route("graded").exploration());
        assertEquals(0.7, config.route("graded").scoreThreshold());
        assertEquals(List.of("auto"), config.teams().get(0).keys().get(0).models());
    }

    @Test
    void refusesBadRoutesNamingThePath() {
        String models = "models: [{name: sim-a, provider: sim}]\n";
        assertEquals("routes[0].candidates[0]: 'nope' (expected one of: sim-a)",
                error(PROVIDERS + models + "routes: [{name: r, candidates: [nope], min_success_rate: 0.8}]"));
        assertEquals("routes[0].name: 'sim-a' (expected: a name no model has; models: lists it)",
                error(PROVIDERS + models + "routes: [{name: sim-a, candidates: [sim-a], min_success_rate: 0.8}]"));
        assertEquals("routes[0].candidates: missing or empty (expected: a list of models)",
                error(PROVIDERS + models + "routes: [{name: r, candidates: [], min_success_rate: 0.8}]"));
        assertEquals("routes[1].name: 'r' (expected: unique route names)",
                error(PROVIDERS + models + "routes: [{name: r, candidates: [sim-a], min_success_rate: 0.8},"
                        + " {name: r, candidates: [sim-a], min_success_rate: 0.8}]"));
        assertEquals("routes[r].candidates: [sim-a, sim-a] (expected: each model once)",
                error(PROVIDERS + models + "routes: [{name: r, candidates: [sim-a, sim-a], min_success_rate: 0.8}]"));
        assertEquals("routes[0].min_success_rate: missing",
                error(PROVIDERS + models + "routes: [{name: r, candidates: [sim-a]}]"));
        assertEquals("routes[r].min_success_rate: 1.0 (expected: > 0 and < 1)",
                error(PROVIDERS + models + "routes: [{name: r, candidates: [sim-a], min_success_rate: 1}]"));
        assertEquals("routes[0].metric: 'accuracy' (expected: success or score)",
                error(PROVIDERS + models + "routes: [{name: r, candidates: [sim-a], min_success_rate: 0.8,"
                        + " metric: accuracy}]"));
        assertEquals("routes[0].threshold: missing",
                error(PROVIDERS + models + "routes: [{name: r, candidates: [sim-a], min_success_rate: 0.8,"
                        + " metric: score}]"));
    }

    // ---- telemetry and logging

    @Test
    void telemetryIsOffUnlessAnEndpointIsSet() {
        GatewayConfig config = parse("");
        assertFalse(config.telemetry().enabled());
        assertEquals(LoggingConfig.DEFAULT, config.logging());
    }

    @Test
    void readsEveryTelemetryKeyAndAppendsTheTracesPathToTheBaseUrl() {
        TelemetryConfig t = parse("""
                telemetry:
                  otlp_endpoint: http://collector:4318
                  service_name: gw-eu
                  sample_ratio: 0.25
                  headers: {x-honeycomb-team: secret-team-key}
                """).telemetry();
        assertEquals("http://collector:4318/v1/traces", t.tracesEndpoint());
        assertEquals("gw-eu", t.serviceName());
        assertEquals(0.25, t.sampleRatio());
        assertEquals(Map.of("x-honeycomb-team", "secret-team-key"), t.headers());
        assertFalse(t.toString().contains("secret-team-key"), t.toString());
    }

    @Test
    void standardOtelVariablesFillWhatTheFileLeavesUnset() {
        TelemetryConfig t = parse("", Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", "http://otel:4318/",
                "OTEL_SERVICE_NAME", "from-env", "OTEL_TRACES_SAMPLER_ARG", "0.5",
                "OTEL_EXPORTER_OTLP_HEADERS", "api-key=a%3Db,x-tenant=t1")).telemetry();
        assertEquals("http://otel:4318/v1/traces", t.tracesEndpoint());
        assertEquals("from-env", t.serviceName());
        assertEquals(0.5, t.sampleRatio());
        assertEquals(Map.of("api-key", "a=b", "x-tenant", "t1"), t.headers());
        assertEquals("http://traces:9999/custom", parse("", Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", "http://otel:4318",
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:9999/custom")).telemetry().tracesEndpoint());
    }

    @Test
    void theFileWinsOverTheStandardVariables() {
        TelemetryConfig t = parse("telemetry: {otlp_endpoint: http://file:4318, service_name: file, sample_ratio: 1}",
                Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", "http://env:4318", "OTEL_SERVICE_NAME", "env",
                        "OTEL_TRACES_SAMPLER_ARG", "0.1")).telemetry();
        assertEquals("http://file:4318/v1/traces", t.tracesEndpoint());
        assertEquals("file", t.serviceName());
        assertEquals(1.0, t.sampleRatio());
        assertFalse(parse("telemetry: {otlp_endpoint: off}", Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", "http://env:4318"))
                .telemetry().enabled());
        assertFalse(parse("", Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", "http://env:4318", "OTEL_SDK_DISABLED", "true"))
                .telemetry().enabled());
    }

    @Test
    void refusesASampleRatioOutsideZeroToOneAndAnEndpointThatIsNotHttp() {
        assertEquals("telemetry.sample_ratio: 1.5 (expected: from 0 to 1)",
                error("telemetry: {otlp_endpoint: http://c:4318, sample_ratio: 1.5}"));
        assertEquals("OTEL_TRACES_SAMPLER_ARG: 'lots' (expected: a number from 0 to 1)",
                error("", Map.of("OTEL_TRACES_SAMPLER_ARG", "lots")));
        assertEquals("telemetry.otlp_endpoint: 'grpc://c:4317' (expected: an http:// or https:// URL, or off)",
                error("telemetry: {otlp_endpoint: 'grpc://c:4317'}"));
        assertEquals("telemetry.otlp_endpoint: 'http://a b' (expected: an http:// or https:// URL, or off)",
                error("telemetry: {otlp_endpoint: 'http://a b'}"));
        assertEquals("OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' (expected: an http:// or https:// URL)",
                error("", Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", "not a url")));
        assertTrue(error("telemetry: {sample_rate: 1}").contains("sample_rate"));
    }

    @Test
    void readsTheAccessLogFormat() {
        assertEquals(new LoggingConfig(LoggingConfig.Format.JSON, true), parse("logging: {format: json}").logging());
        assertEquals(new LoggingConfig(LoggingConfig.Format.TEXT, false), parse("logging: {access: false}").logging());
        assertEquals("logging.format: 'xml' (expected: text or json)", error("logging: {format: xml}"));
    }
}
