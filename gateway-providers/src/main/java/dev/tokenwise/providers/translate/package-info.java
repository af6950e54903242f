/**
 * Translation of OpenAI chat completions ({@code POST /v1/chat/completions}) into other providers' native APIs
 * (Anthropic Messages, Gemini {@code generateContent}) and of their answers, JSON and SSE, back into OpenAI's shape.
 */
package dev.tokenwise.providers.translate;
