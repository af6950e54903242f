/**
 * Anthropic's Messages API ({@code POST /v1/messages}): credentials, and usage, text and stop reason from JSON and
 * SSE.
 *
 * <p>Invariants: the adapter is stateless; an observer belongs to one call on its event loop and borrows the buffers
 * it is shown. Anthropic reports input, cache reads and cache writes apart; they are added up to OpenAI's meaning
 * ({@code TokenUsage}) here, and a stream that ends before its final usage is marked so that settlement bills it as
 * partial.
 */
package dev.tokenwise.providers.anthropic;
