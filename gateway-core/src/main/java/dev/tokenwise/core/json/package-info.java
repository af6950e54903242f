/**
 * JSON read with Jackson's streaming parser and written in OpenAI's shapes: plain trees, chat bodies whose messages
 * stay as bytes until read ({@code ChatBodyReader}, {@code RawArrayNode}), the strict scanner behind them
 * ({@code JsonScanner}), and the one writer of OpenAI chat completion shapes ({@code ChatCompletionJson}).
 *
 * <p>Invariants: readers take a {@code byte[]}, never a {@code ByteBuf}, and never write to it (a copy of a
 * {@code RawArrayNode} shares its bytes); a fast path accepts only what Jackson accepts and leaves every error to
 * Jackson, so errors and their locations are always Jackson's. Everything here is stateless or confined to the call
 * that made it (a {@code RawArrayNode} parses itself once, safely under races), and may run on an event loop.
 */
package dev.tokenwise.core.json;
