/**
 * Micrometer meters of the gateway with bounded label cardinality, exported in the Prometheus text format at
 * {@code GET /metrics}; every metric and label is listed in {@code docs/metrics.md}.
 */
package dev.tokenwise.metrics.meters;
