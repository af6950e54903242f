/** The model price catalog, read from {@code config/prices.yaml} into exact nano-USD prices. */
package dev.tokenwise.providers.pricing;
