/**
 * Gateway errors: one exception type with a classifier, mapped in one place to HTTP status and JSON body.
 *
 * <p>Invariants: {@code ErrorType} alone decides a status, {@code type} and {@code code}; {@code ErrorResponses} alone
 * writes them, in the shape of the API the client called ({@code ErrorShape}). {@code GatewayException} fills no stack
 * trace, so refusing a call with one is cheap. The gateway's own errors never carry a key or an upstream address.
 */
package dev.tokenwise.core.error;
