/**
 * The model price catalog, read from {@code config/prices.yaml} (or imported from LiteLLM's file) into exact nano-USD
 * prices.
 *
 * <p>Invariants: prices are read and converted once, at start-up or on a command, into immutable {@code ModelPrice}s;
 * decimal USD becomes integer nano-USD through {@code BigDecimal}, never {@code double}, and a file that cannot be read
 * is refused with a message naming it; a lookup on the hot path is a map read.
 */
package dev.tokenwise.providers.pricing;
