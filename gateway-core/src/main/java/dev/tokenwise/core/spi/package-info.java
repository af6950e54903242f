/**
 * The service interfaces the core calls and other modules implement: providers, token counting, prices, sinks,
 * admission stages, local routes, and the stats the proxy publishes to metrics.
 *
 * <p>Invariants every implementation keeps: a {@code ProviderAdapter} is stateless and shared by all event loops,
 * and its {@code ResponseObserver} belongs to one call on one event loop and borrows the buffers it is shown (never
 * retains nor releases them); a {@code TokenCounter} never blocks its caller for long and completes large counts on a
 * worker; an {@code ApiRoute} runs on the event loop and completes its future from a worker for anything slower than a
 * map lookup; a {@code UsageSink} runs on the dispatcher thread, never on the request path; an
 * {@code AdmissionStage} either refuses having taken nothing or hands back a lease released exactly once;
 * {@code ProviderStats} and {@code UpstreamPoolStats} may be read from any thread and never block the proxy.
 */
package dev.tokenwise.core.spi;
