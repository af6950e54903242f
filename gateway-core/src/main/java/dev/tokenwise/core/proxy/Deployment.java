package dev.tokenwise.core.proxy;

import dev.tokenwise.core.config.ModelConfig;
import dev.tokenwise.core.config.ProviderConfig;
import dev.tokenwise.core.spi.ProviderAdapter;

/**
 * A model as the proxy serves it: its config, its provider, the adapter that speaks the provider's
 * API and the origin to connect to.
 */
public record Deployment(ModelConfig model, ProviderConfig provider, ProviderAdapter adapter, Origin origin) {
}
