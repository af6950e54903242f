/**
 * Immutable, validated configuration records; loading them from YAML lives in the server module.
 *
 * <p>Invariants: every record checks its values in its compact constructor and throws {@code ConfigException} with a
 * message naming the key ({@code "server.port: -1 (expected: 0..65535)"}), so a record that exists is valid. Records
 * are immutable snapshots shared by all threads; a change builds new records, it never changes one. No record holds a
 * virtual key's secret (keys are hashes); a provider's key is never logged or echoed.
 */
package dev.tokenwise.core.config;
