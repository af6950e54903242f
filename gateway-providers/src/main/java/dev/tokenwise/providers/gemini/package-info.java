/**
 * Google's Gemini API ({@code generateContent}, {@code streamGenerateContent}): credentials, URLs, and usage, text
 * and finish reason from JSON and SSE; OpenAI chat completions for Gemini models by translation.
 */
package dev.tokenwise.providers.gemini;
