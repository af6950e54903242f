/**
 * The durable usage ledger: every usage record, teams, virtual keys, task outcomes and drift references, behind one
 * {@link dev.tokenwise.metrics.ledger.Ledger} interface, in an embedded SQLite file or in a PostgreSQL database shared
 * by a cluster.
 *
 * <p>Invariants: one writer thread ({@code LedgerWriter}) writes the records, in batched transactions, from a bounded
 * queue filled on the record dispatcher thread, so no event loop ever waits for the disk; a write that fails is
 * retried with its batch kept in memory, never dropped. Readers borrow a connection of their own (SQLite's WAL
 * mode: they read the committed state beside the writer and never take its lock) and are called from workers or
 * schedulers, never an event loop. Schema changes are the ordered, self-contained steps of {@code LedgerSchema.STEPS} on SQLite and Flyway's
 * versioned files in {@code db/migration/postgresql} on PostgreSQL.
 */
package dev.tokenwise.metrics.ledger;
