/**
 * Rate limits: requests per minute (GCRA), tokens per minute (reserved like budgets, then settled) and concurrent
 * requests, per team, key and model, enforced as an admission stage. Every limit is one {@code AtomicLong} or
 * {@code AtomicInteger} changed by compare-and-set on the event loop; nothing here blocks or allocates per check.
 */
package dev.tokenwise.core.ratelimit;
