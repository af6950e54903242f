/**
 * Local token counting: {@link dev.tokenwise.providers.tokenizer.TokenizerTable} says which encoding a model uses
 * (and whether its count is exact), {@link dev.tokenwise.providers.tokenizer.JtokkitTokenCounter} implements the
 * core's {@code TokenCounter} on jtokkit with OpenAI's prompt accounting on top. Everything else here is
 * package-private.
 *
 * <p>Contract: a count never blocks an event loop for long: small or cached inputs are counted on the calling
 * thread and return a completed future, anything else (and loading an encoding) runs on the worker executor given
 * at construction. The work of one count is bounded ({@code CountBudget}), so a hostile body yields an upper-bound
 * count marked estimated instead of unbounded CPU; ordinary text stays exact. A count reads the body it is given
 * and never keeps or releases it; the per-message caches are bounded Caffeine caches shared by all threads, keyed
 * by a 64-bit hash, and hold counts only, never text.
 */
package dev.tokenwise.providers.tokenizer;
