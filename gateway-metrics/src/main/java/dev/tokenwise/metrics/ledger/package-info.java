/**
 * The durable usage ledger: every usage record, teams and virtual keys, behind one {@link
 * dev.tokenwise.metrics.ledger.Ledger} interface, in an embedded SQLite file or a PostgreSQL database shared by a
 * cluster.
 */
package dev.tokenwise.metrics.ledger;
