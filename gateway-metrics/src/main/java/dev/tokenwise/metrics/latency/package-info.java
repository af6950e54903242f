/**
 * Latency you can trust: HdrHistogram {@code Recorder}s per provider and model for the time the gateway adds,
 * the upstream time and the time to first token, read in windows by {@code GET /api/v1/latency} and exported
 * as Prometheus histograms.
 */
package dev.tokenwise.metrics.latency;
