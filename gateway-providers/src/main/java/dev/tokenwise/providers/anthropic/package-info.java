/** Anthropic's Messages API ({@code POST /v1/messages}): credentials, and usage, text and stop reason from JSON and SSE. */
package dev.tokenwise.providers.anthropic;
