/**
 * Google's Gemini API ({@code generateContent}, {@code streamGenerateContent}): credentials, URLs, and usage, text and
 * finish reason from JSON and SSE; OpenAI chat completions for Gemini models by translation.
 *
 * <p>Invariants: the adapter is stateless; an observer belongs to one call on its event loop and borrows the buffers
 * it is shown. Gemini's running {@code usageMetadata} is not final until the stream ends, so an answer cut short is
 * billed as partial by settlement.
 */
package dev.tokenwise.providers.gemini;
