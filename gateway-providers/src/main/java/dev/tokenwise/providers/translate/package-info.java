/**
 * Translation of OpenAI chat completions ({@code POST /v1/chat/completions}) into other providers' native APIs
 * (Anthropic Messages, Gemini {@code generateContent}) and of their answers, JSON and SSE, back into OpenAI's shape.
 *
 * <p>Invariants: a translator belongs to one call on its event loop; it reads the upstream events it is shown without
 * retaining them and hands back new bytes for the client, written through {@code core.json.ChatCompletionJson}, the one
 * writer of OpenAI's shapes. A request that cannot be translated faithfully is refused with a 400 naming the field,
 * never sent half-translated.
 */
package dev.tokenwise.providers.translate;
