/** The service interfaces the core calls and other modules implement: providers, token counting, prices, sinks, local routes. */
package dev.tokenwise.core.spi;
