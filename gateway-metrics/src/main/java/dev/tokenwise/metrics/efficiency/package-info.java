/**
 * Intelligence efficiency: tasks and their outcomes, retries and truncated calls, cost per successful task,
 * drift of a model's quality and effective price, the billing audit of provider token counts, and the
 * alerts they raise. Definitions in {@code docs/efficiency.md}.
 */
package dev.tokenwise.metrics.efficiency;
