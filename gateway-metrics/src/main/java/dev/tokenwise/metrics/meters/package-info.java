/**
 * Micrometer meters of the gateway with bounded label cardinality, exported in the Prometheus text format at
 * {@code GET /metrics}; every metric and label is listed in {@code docs/metrics.md}.
 *
 * <p>Invariants: per record, {@code GatewayMeters} only increments cached counters on the record dispatcher thread;
 * gauges read live state through interfaces (the proxy's through {@code core.spi.ProviderStats} and
 * {@code UpstreamPoolStats}: nothing here imports {@code core.proxy}, which a test checks); a scrape refreshes and
 * formats on the API pool, never an event loop. Label values are admitted by a {@code LabelLimiter}, so a flood of
 * team or model names cannot grow the registry without bound.
 */
package dev.tokenwise.metrics.meters;
