/**
 * What each provider speaks: the {@link dev.tokenwise.providers.ProviderType} registry of provider types (one entry per
 * type: config rules, default URL, key variable, adapter factory) and {@link dev.tokenwise.providers.ProviderAdapters},
 * which builds a configured provider's adapter from it.
 *
 * <p>Invariants: adding a provider type is one constant of {@code ProviderType}, which a test checks builds an adapter
 * and is documented; adapters are stateless and shared by all event loops; every adapter passes the shared
 * {@code ProviderContract} tests of the {@code ProviderAdapter} SPI.
 */
package dev.tokenwise.providers;
