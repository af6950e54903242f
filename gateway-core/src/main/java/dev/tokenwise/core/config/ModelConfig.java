package dev.tokenwise.core.config;

import static dev.tokenwise.core.config.Checks.checkNotBlank;

import dev.tokenwise.core.model.ModelPrice;

/**
 * A model the gateway serves.
 *
 * @param name the id clients send in {@code "model"}
 * @param provider the provider (key under {@code providers:}) that serves it
 * @param upstreamName the id sent upstream; usually equal to {@code name}
 * @param price its price, from the config or else the shipped catalog; {@code null} means unpriced (cost 0, logged once)
 */
public record ModelConfig(String name, String provider, String upstreamName, ModelPrice price) {

    public ModelConfig {
        checkNotBlank(name, "models[].name");
        checkNotBlank(provider, "models[" + name + "].provider");
        if (upstreamName == null || upstreamName.isBlank()) {
            upstreamName = name;
        }
    }
}
