package dev.tokenwise.core.config;

import static dev.tokenwise.core.config.Checks.checkNotBlank;

import dev.tokenwise.core.model.ModelPrice;
import java.util.List;

/**
 * A model the gateway serves.
 *
 * @param name the id clients send in {@code "model"}
 * @param provider the provider (key under {@code providers:}) that serves it
 * @param upstreamName the id sent upstream; usually equal to {@code name}
 * @param price its price, from the config or else the shipped catalog; {@code null} means unpriced (cost 0, logged once)
 * @param fallbacks models tried in order when this model's provider fails (after its retries)
 */
public record ModelConfig(String name, String provider, String upstreamName, ModelPrice price, List<String> fallbacks) {

    public ModelConfig(String name, String provider, String upstreamName, ModelPrice price) {
        this(name, provider, upstreamName, price, List.of());
    }

    public ModelConfig {
        checkNotBlank(name, "models[].name");
        checkNotBlank(provider, "models[" + name + "].provider");
        if (upstreamName == null || upstreamName.isBlank()) {
            upstreamName = name;
        }
        fallbacks = fallbacks == null ? List.of() : List.copyOf(fallbacks);
        if (fallbacks.contains(name)) {
            throw new ConfigException("models[" + name + "].fallbacks: lists the model itself");
        }
    }
}
