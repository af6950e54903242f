/**
 * Intelligence efficiency: tasks and their outcomes, retries and truncated calls, cost per successful task, drift of a
 * model's quality and effective price, the billing audit of provider token counts, and the alerts they raise.
 * Definitions in {@code docs/efficiency.md}.
 *
 * <p>Threading: records arrive on the record dispatcher thread; reads and operator actions come from API and
 * scheduler threads; no event loop ever calls in. Each stateful class says how it is guarded (the tracker and the
 * audit by their own monitors, held for a few map operations; the detectors serialised with their checks); the
 * statistical pieces ({@code SequentialTest}, {@code ModelMonitor}, {@code DifferenceWindow}) are pure and confined
 * to their owner. Checks that read the ledger run on a scheduler or worker.
 */
package dev.tokenwise.metrics.efficiency;
