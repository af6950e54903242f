package dev.tokenwise.server.admin;

import dev.tokenwise.core.config.GatewayConfig;
import dev.tokenwise.providers.pricing.YamlPriceCatalog;
import dev.tokenwise.server.config.ConfigLoader;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;

/** Configs for the admin tests: models {@code sim-small} and {@code sim-large}, admin key set or not. */
final class AdminFixtures {
    static final String ADMIN_KEY = "tw-admin-test";
    /** Wednesday 15 May 2024, 12:00 UTC. */
    static final long NOW_MILLIS = Instant.parse("2024-05-15T12:00:00Z").toEpochMilli();

    /** Team {@code demo} ($5 a day) with key {@code tw-test-key} named {@code demo-key}; team {@code other}. */
    static final String DEFAULT_TEAMS = """
            teams:
              - name: demo
                budget: {limit_usd: 5, period: daily}
                keys: [{key: tw-test-key, name: demo-key}]
              - name: other
                keys: [{key: tw-other-key}]
            """;

    private AdminFixtures() {
    }

    static GatewayConfig config(String teams) {
        return config(teams, ADMIN_KEY);
    }

    static GatewayConfig config(String teams, String adminKey) {
        String yaml = """
                server: {host: 127.0.0.1, port: 0}
                %s
                storage: {path: target/unused.db}
                pricing: {catalog: ../config/prices.yaml}
                providers:
                  sim: {type: simulator}
                models:
                  - {name: sim-small, provider: sim}
                  - {name: sim-large, provider: sim}
                %s
                """.formatted(adminKey == null ? "" : "admin: {key: " + adminKey + "}", teams);
        return ConfigLoader.parse(yaml, Path.of("."), Map.of(), YamlPriceCatalog::load);
    }
}
