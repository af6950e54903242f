/**
 * Cluster mode: budgets, rate limits and admin changes shared by every gateway instance on one Redis.
 *
 * <p>Invariants: nothing here blocks an event loop (Lettuce is asynchronous; its answers complete on its own event
 * loop and are handed back to the call's); every change to a shared budget or limit is one Lua script, timed by
 * Redis's clock; while Redis is unreachable a call that needs a shared decision is refused (503), never admitted
 * unchecked (with {@code on_redis_down: local_share}, a call that fits in a budget slice this instance already holds
 * is admitted against it: the slice is reserved in Redis, so it is still checked); the budget slices and the settled
 * spend never exceed a limit; admin changes read from Redis are applied on the API pool, never on an event loop, and
 * those made here while Redis is unreachable are held and written once it is back; a dead instance's unbooked spend is
 * read from the shared ledger on the API pool and booked by one script, once ({@link
 * dev.tokenwise.server.cluster.Reconciler}).
 */
package dev.tokenwise.server.cluster;
