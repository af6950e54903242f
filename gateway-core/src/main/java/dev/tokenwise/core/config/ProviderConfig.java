package dev.tokenwise.core.config;

import static dev.tokenwise.core.config.Checks.checkNotBlank;
import static dev.tokenwise.core.config.Checks.checkPositive;

import java.net.URI;
import java.time.Duration;
import java.util.Map;

/**
 * One upstream provider.
 *
 * @param name the key under {@code providers:}
 * @param type adapter type: {@code openai} or {@code simulator} (more types plug in through {@code ProviderAdapter})
 * @param baseUrl the API root, e.g. {@code https://api.openai.com/v1}; {@code null} for the simulator
 * @param apiKey the provider key, or {@code null} when the provider needs none; never logged or echoed
 * @param disabledReason why the provider is switched off (e.g. its key variable is unset), or {@code null} when enabled
 * @param connectTimeout TCP plus TLS connect timeout
 * @param readTimeout longest silence from the upstream while a call is in flight
 * @param maxIdlePerLoop keep-alive connections kept idle per event loop
 * @param options type-specific settings, e.g. the simulator's {@code chunk_delay_ms}
 * @param resilience retries, retry budget and circuit breaker
 * @param forwardClientOrgHeaders whether the client's {@code OpenAI-Organization} and {@code OpenAI-Project}
 *     headers go upstream; off by default, because they would choose the organisation or project that the
 *     gateway's shared provider key bills
 */
public record ProviderConfig(String name, String type, URI baseUrl, String apiKey, String disabledReason,
                             Duration connectTimeout, Duration readTimeout, int maxIdlePerLoop,
                             Map<String, String> options, Resilience resilience, boolean forwardClientOrgHeaders) {

    /** A provider with the default {@link Resilience}, keeping the client's organisation headers to itself. */
    public ProviderConfig(String name, String type, URI baseUrl, String apiKey, String disabledReason,
                          Duration connectTimeout, Duration readTimeout, int maxIdlePerLoop,
                          Map<String, String> options) {
        this(name, type, baseUrl, apiKey, disabledReason, connectTimeout, readTimeout, maxIdlePerLoop, options,
                Resilience.DEFAULTS, false);
    }

    public ProviderConfig {
        checkNotBlank(name, "providers");
        checkNotBlank(type, "providers." + name + ".type");
        if (baseUrl != null) {
            String scheme = baseUrl.getScheme();
            if (!"http".equals(scheme) && !"https".equals(scheme) || baseUrl.getHost() == null) {
                throw new ConfigException("providers." + name + ".base_url: " + baseUrl
                        + " (expected: an absolute http:// or https:// URL)");
            }
        }
        checkPositive(connectTimeout, "providers." + name + ".connect_timeout");
        checkPositive(readTimeout, "providers." + name + ".read_timeout");
        checkPositive(maxIdlePerLoop, "providers." + name + ".max_idle_connections");
        options = options == null ? Map.of() : Map.copyOf(options);
        resilience = resilience == null ? Resilience.DEFAULTS : resilience;
    }

    public boolean enabled() {
        return disabledReason == null;
    }

    /** The same provider pointed at another base URL (the simulator binds its port at start-up). */
    public ProviderConfig withBaseUrl(URI newBaseUrl) {
        return new ProviderConfig(name, type, newBaseUrl, apiKey, disabledReason, connectTimeout, readTimeout,
                maxIdlePerLoop, options, resilience, forwardClientOrgHeaders);
    }

    /** The same provider with other type-specific options (the simulator's model skills come from model entries). */
    public ProviderConfig withOptions(Map<String, String> newOptions) {
        return new ProviderConfig(name, type, baseUrl, apiKey, disabledReason, connectTimeout, readTimeout,
                maxIdlePerLoop, newOptions, resilience, forwardClientOrgHeaders);
    }

    @Override
    public String toString() {
        // Never print the key.
        return "ProviderConfig[name=" + name + ", type=" + type + ", baseUrl=" + baseUrl
                + ", apiKey=" + (apiKey == null ? "none" : "***") + ", disabledReason=" + disabledReason + "]";
    }
}
