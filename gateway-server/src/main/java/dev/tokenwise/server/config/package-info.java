/**
 * Loading {@code gateway.yaml} into the core's immutable configuration records, with environment expansion.
 *
 * <p>Invariants: every error names its YAML path and what was expected; a provider is validated against its type in
 * the providers' {@code ProviderType} registry, the one list of types; virtual keys are hashed as the file is read, so
 * the loaded configuration never holds a secret; a missing key variable disables its provider with a warning instead
 * of failing. Loading runs at start-up or on a command, never on an event loop.
 */
package dev.tokenwise.server.config;
