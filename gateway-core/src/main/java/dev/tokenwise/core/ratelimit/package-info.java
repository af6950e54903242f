/**
 * Rate limits: requests per minute (GCRA), tokens per minute (reserved like budgets, then settled) and concurrent
 * requests, per team, key and model, enforced as an admission stage.
 *
 * <p>Invariants: every limit is one {@code AtomicLong} or {@code AtomicInteger} changed by compare-and-set on the
 * event loop, so a limit is never crossed under races and nothing here blocks or allocates per check; a refused call
 * gives back what earlier limits took before the 429 is answered; an admitted call's lease is settled or aborted
 * exactly once by the call's admission. Limits changed by an operator replace a holder's state whole.
 */
package dev.tokenwise.core.ratelimit;
