/** OpenAI's API (and OpenAI-compatible providers): request rewriting and usage extraction from JSON and SSE. */
package dev.tokenwise.providers.openai;
