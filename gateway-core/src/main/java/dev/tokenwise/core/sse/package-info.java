/**
 * Server-sent events as whole events: {@link dev.tokenwise.core.sse.SseEventSplitter} cuts an upstream byte stream
 * into complete events so a relay never parses half an event.
 *
 * <p>Invariants: a splitter belongs to one call and is used on that call's event loop only (no locking). Bytes fed
 * in stay the caller's (borrowed, never released here); each event handed out is a retained slice owned by the
 * sink, which must release it; whatever the splitter still holds is released by {@code release()} or handed over
 * by {@code drain()}, so the owner of a splitter calls one of them on every exit path.
 */
package dev.tokenwise.core.sse;
