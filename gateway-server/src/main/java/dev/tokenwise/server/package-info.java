/** Assembly: loads the config, wires core, providers and metrics together, and runs the gateway. */
package dev.tokenwise.server;
