/** Local token counting with jtokkit: which model uses which encoding, and OpenAI's prompt accounting on top of it. */
package dev.tokenwise.providers.tokenizer;
