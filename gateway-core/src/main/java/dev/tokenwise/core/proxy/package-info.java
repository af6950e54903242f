/**
 * The Netty reverse proxy: the client frontend, admission, the upstream exchange and the relay of each call, the
 * connection pool and the provider health it keeps.
 *
 * <p>Threading: a call's upstream channel is registered on its client channel's event loop, so a call never crosses
 * threads on the hot path: its state and the pool's per-loop idle deques are touched by one thread and need no lock;
 * only settlement may finish on a worker (when a token count was still running), and what it touches is thread-safe.
 * Nothing here blocks an event loop: no JDBC, no file I/O, no waiting on a future.
 *
 * <p>Backpressure: {@code autoRead} is off on both sides; a client connection reads its next request only after the
 * current one is answered, and the upstream channel stops reading while the client is not writable and resumes on
 * {@code channelWritabilityChanged}.
 *
 * <p>Buffer ownership: every {@code ByteBuf} has one owner and is released on every exit path: the aggregated request
 * by the frontend (the upstream body is a retained duplicate), the upstream request and captured bodies by the call,
 * each piece of upstream content either forwarded (the client pipeline releases it) or released in a
 * {@code finally}; anything arriving on an idle pooled channel is released at once. The table is in
 * {@code docs/architecture.md}; tests run with PARANOID leak detection.
 */
package dev.tokenwise.core.proxy;
