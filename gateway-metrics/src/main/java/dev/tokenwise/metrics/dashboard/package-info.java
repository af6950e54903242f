/**
 * The cost dashboard: the page at {@code /dashboard} (HTML, script, style and Chart.js from its WebJar, all served
 * from the jar) and the small JSON endpoints it reads; {@code docs/dashboard.md} describes it.
 *
 * <p>Invariants: the page's files are read once, when the route is made, and answered from memory on the event loop;
 * the page holds no data, and its JSON endpoints check the key and read the ledger on the API pool through
 * {@code LedgerReader}'s read-only connections, never on an event loop. The summary covers every team for the admin key, one team for that team's key.
 */
package dev.tokenwise.metrics.dashboard;
