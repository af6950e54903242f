/**
 * Budgets as reservations: compare-and-set admission, settlement, period roll-over and reclaiming of lost
 * reservations.
 *
 * <p>Invariants: money is {@code long} nano-USD. A budget's remaining amount is one {@code AtomicLong} changed only
 * by compare-and-set, so concurrent admissions never take more than the limit; a reservation is settled exactly once
 * (a CAS on its state), and one the reaper thread reclaimed is charged without a reservation if its call settles
 * later, so the books stay right either way. Nothing here locks or blocks: reserve and settle run on event loops and
 * workers.
 */
package dev.tokenwise.core.budget;
