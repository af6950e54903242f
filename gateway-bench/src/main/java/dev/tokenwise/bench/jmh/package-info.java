/**
 * JMH micro-benchmarks of the gateway's per-call work without network: the accounting core, the admission
 * path, the SSE splitter and response observer, the tokenizer, rate limits; run them with
 * {@code java -jar tokenwise-bench.jar jmh} (see {@code docs/benchmarks.md}).
 *
 * <p>Invariants: a benchmark reaches the gateway only through its public API (none lives in a gateway package to
 * reach package-private code); a {@code @Setup} whose work can go wrong checks its result once before measuring,
 * so a broken path fails instead of being timed; every buffer a benchmark allocates is released in its
 * {@code @TearDown}.
 */
package dev.tokenwise.bench.jmh;
