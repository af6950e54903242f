/**
 * A plain HTTP client of the gateway's own API, for the command line and the probes.
 *
 * <p>Invariants: blocking (the JDK's {@code HttpClient}): use it from a worker or a command, never from an event loop.
 * It sends the key it is given and never logs it.
 */
package dev.tokenwise.server.client;
