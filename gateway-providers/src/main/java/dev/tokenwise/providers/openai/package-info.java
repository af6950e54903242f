/**
 * OpenAI's API (and OpenAI-compatible providers): request rewriting and usage extraction from JSON and SSE.
 *
 * <p>Invariants: the adapter is stateless; an observer belongs to one call on its event loop and reads the buffers it
 * is shown without retaining or releasing them. A completion is read from its bytes when it is strict JSON, by
 * Jackson's streaming parser otherwise, and as a tree last, each pass taken only when the one before gives up, so an
 * odd payload is never misread, only read more slowly.
 */
package dev.tokenwise.providers.openai;
