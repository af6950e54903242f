/**
 * The exact response cache: an admission stage that answers a call asking exactly what an earlier one asked with
 * that one's answer, from memory, without calling the provider or charging a budget.
 *
 * <p>Invariants: lookups, hits and waits for an identical call in flight run on the event loop and never block (a
 * waiting call holds a future, not a thread); the key is the whole normalised request, compared byte for byte (never
 * only a hash) and scoped to the team unless configured global, so two different requests never share an answer.
 * Only whole, successful answers are stored, as byte arrays made once when stored (no {@code ByteBuf} is held); the
 * cache is bounded by bytes and by time.
 */
package dev.tokenwise.core.cache;
