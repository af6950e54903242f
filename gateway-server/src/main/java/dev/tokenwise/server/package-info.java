/**
 * Assembly: loads the config, wires core, providers and metrics together, and runs the gateway.
 *
 * <p>Invariants: this is the only module that knows every other one, and {@code GatewayApp} the only place that
 * wires them: every thread pool, store and server it starts it also stops when the gateway closes. After start-up
 * nothing here runs on the request path except the local routes it registers, which follow {@code ApiRoute}'s rules
 * (the caller checked on the event loop, anything slower on the API pool).
 */
package dev.tokenwise.server;
