/**
 * The built-in simulator: a clearly labelled, OpenAI-compatible upstream inside the gateway's process, so the
 * default configuration works without provider keys. Its public surface is {@link
 * dev.tokenwise.providers.simulator.SimulatorServer} (start, base URL, close), {@link
 * dev.tokenwise.providers.simulator.SimulatorSettings} and {@link dev.tokenwise.providers.simulator.SimulatedSkill};
 * the gateway reaches it over HTTP like any provider ({@code type: simulator}, spoken to by the OpenAI adapter),
 * never by a call into this package.
 *
 * <p>Contract: it listens on 127.0.0.1 only, on its own event loops (never the gateway's); every answer carries
 * {@code X-Tokenwise-Simulated: true}; an answer is a pure function of the request, the model's skill and its seed,
 * so a test or a demo sees the same text and token counts on every run. Each connection reads one request at a
 * time (autoRead off, the next read after the response is written) and owns its buffers: a request is copied out
 * of its buffer before it waits for token counting, which may finish on a worker and hops back to the connection's
 * event loop before anything is written. It depends on the core only through {@code TokenCounter} and on
 * {@code gateway-eval} for the builtin suite's answers.
 */
package dev.tokenwise.providers.simulator;
