/** A built-in, clearly labelled simulated OpenAI-compatible upstream, so the default configuration works without provider keys. */
package dev.tokenwise.providers.simulator;
