/**
 * Scheduled probes: the gateway grades a few tasks on its models as a client of its own port.
 *
 * <p>Invariants: probes run on their own scheduled thread, one run at a time, never on an event loop; they are
 * ordinary, recorded and billed calls of the configured team, so budgets and rate limits apply to them as to any
 * client.
 */
package dev.tokenwise.server.probe;
