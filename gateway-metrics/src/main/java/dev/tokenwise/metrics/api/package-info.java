/**
 * The JSON APIs of what the gateway booked: call records, usage, tasks and their outcomes, efficiency, alerts, drift,
 * probes, prices.
 *
 * <p>Invariants: every route answers only a valid key (401 otherwise), and where an answer is per team it narrows a
 * team key's answer to its own team or calls; parameters are checked on the event loop, and anything that reads or writes the ledger runs on the API
 * pool. The routes that read the ledger share {@link dev.tokenwise.metrics.api.LedgerRoute}, which maps a failing
 * read to 503 {@code unavailable} in one place; answers from memory (alerts, prices) stay on the event loop.
 */
package dev.tokenwise.metrics.api;
