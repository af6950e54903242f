/** A plain HTTP client of the gateway's own API, for the command line and the probes. */
package dev.tokenwise.server.client;
