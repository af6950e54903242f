/** Azure OpenAI: deployment URLs with {@code api-version}, the {@code api-key} header, OpenAI's response format. */
package dev.tokenwise.providers.azure;
