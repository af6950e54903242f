/**
 * The lock-free accounting core: live usage totals, the calls in flight, the recent records, and the hand-off of
 * every usage record to the sinks.
 *
 * <p>Invariants: each call is begun once and settled exactly once (the proxy guarantees the once); settling never
 * blocks nor takes a lock (concurrent maps, {@code LongAdder} totals, a ring of recent records, a lock-free
 * multi-producer queue to the dispatcher), so it may run on any event loop or worker. A record is published in the
 * ring before it leaves the in-flight map, so a reader never misses a call. Sinks see every record once, in settle
 * order, on the one dispatcher thread; a full queue spills to an overflow queue and is counted, never dropped. While
 * records cannot be booked ({@code recordingStopped}) the proxy refuses new calls.
 */
package dev.tokenwise.core.accounting;
