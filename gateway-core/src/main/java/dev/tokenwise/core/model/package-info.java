/**
 * Immutable values of the hot path: endpoints, token counts and usage, prices in nano-USD, usage records and their
 * flags.
 *
 * <p>Invariants: every value is immutable and validated where it is made, so it is shared across threads without
 * copying. Money is {@code long} nano-USD, never a floating-point number on the hot path ({@code Money} converts at
 * the edges); token usage follows OpenAI's meaning (input includes cached and cache-write tokens, output includes
 * reasoning). A {@code UsageRecord} is made once per call, when it settles.
 */
package dev.tokenwise.core.model;
