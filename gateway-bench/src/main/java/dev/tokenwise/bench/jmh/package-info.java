/**
 * JMH micro-benchmarks of the gateway's per-call work without network: the accounting core, the admission
 * path, the tokenizer; run them with {@code java -jar tokenwise-bench.jar jmh} (see {@code docs/benchmarks.md}).
 * The SSE splitter's benchmark lives in {@code dev.tokenwise.core.proxy}, beside the package-private class it measures.
 */
package dev.tokenwise.bench.jmh;
