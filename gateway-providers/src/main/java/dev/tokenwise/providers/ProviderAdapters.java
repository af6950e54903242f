package dev.tokenwise.providers;

import dev.tokenwise.core.config.ConfigException;
import dev.tokenwise.core.config.ProviderConfig;
import dev.tokenwise.core.spi.ProviderAdapter;

/**
 * Creates the {@link ProviderAdapter} for a configured provider, by its {@link ProviderConfig#type() type} as
 * registered in {@link ProviderType}.
 *
 * <pre>{@code
 * for (ProviderConfig provider : config.providers().values()) {
 *     adapters.put(provider.name(), ProviderAdapters.create(provider));
 * }
 * }</pre>
 */
public final class ProviderAdapters {

    private ProviderAdapters() {
    }

    /**
     * The adapter for {@code provider}.
     *
     * @throws ConfigException for a type no adapter speaks, or an Azure provider without
     *                         {@value ProviderType#API_VERSION}
     */
    public static ProviderAdapter create(ProviderConfig provider) {
        return ProviderType.parse(provider.type(), "providers." + provider.name() + ".type").adapter(provider);
    }
}
