/** What each provider speaks; {@link dev.tokenwise.providers.ProviderAdapters} picks the adapter for a provider type. */
package dev.tokenwise.providers;
