/** The durable usage ledger: every usage record, teams and virtual keys in one embedded SQLite file. */
package dev.tokenwise.metrics.ledger;
