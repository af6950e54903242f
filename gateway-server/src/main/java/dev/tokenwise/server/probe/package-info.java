/** Scheduled probes: the gateway grades a few tasks on its models as a client of its own port. */
package dev.tokenwise.server.probe;
