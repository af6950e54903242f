/**
 * Virtual keys: hashed storage, lookup by hash, the principal a request acts as.
 *
 * <p>Invariants: after start-up a virtual key exists only as the SHA-256 of its secret; a presented key is hashed
 * and looked up, never compared byte by byte nor kept. {@code KeyRegistry} is read from every event loop without a
 * lock. A {@code Principal} carries a key's id (a label), never the key.
 */
package dev.tokenwise.core.auth;
