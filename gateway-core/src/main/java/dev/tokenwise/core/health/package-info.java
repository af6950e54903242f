/**
 * Background work that health checks can see.
 *
 * <p>Invariants: a periodic task that keeps money right (reclaiming reservations, renewing shared budget slices)
 * never stops silently. {@link dev.tokenwise.core.health.PeriodicTask} catches whatever one run throws, keeps the
 * schedule, and holds the failure until a run succeeds; {@code /healthz} turns 503 while any such task fails. The
 * failure is a volatile field written by the task's own thread and read by any thread.
 */
package dev.tokenwise.core.health;
