/**
 * Latency you can trust: HdrHistogram {@code Recorder}s per provider and model for the time the gateway adds, the
 * upstream time and the time to first token, read in windows by {@code GET /api/v1/latency} and exported as
 * Prometheus histograms.
 *
 * <p>Invariants: records arrive as a usage sink, on the record dispatcher thread, and are only recorded into a
 * {@code Recorder}, which is wait-free; a scheduled drain flips the active and inactive recorders and merges the
 * intervals, and readers (the API pool, a scrape) read the merged windows, so recording never waits for reading and
 * nothing here runs on an event loop. A team's own latencies are read from the ledger, also off the event loop.
 */
package dev.tokenwise.metrics.latency;
