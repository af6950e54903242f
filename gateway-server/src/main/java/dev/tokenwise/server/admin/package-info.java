/**
 * The live directory of teams and virtual keys, and the admin API that changes it.
 *
 * <p>Invariants: only the admin key may call it; the routes check the caller on the event loop and do everything else
 * (the body, the store, a database) on the API pool. Changes are serialised by one lock so that the store, the key
 * registry and the budget book move together; reads take no lock. A new key's secret is shown once,
 * in the answer that made it, and stored only as its hash.
 */
package dev.tokenwise.server.admin;
