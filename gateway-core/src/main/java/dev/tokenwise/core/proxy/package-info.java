/**
 * The Netty reverse proxy: the client frontend, admission, the upstream exchange and the relay of each call, the
 * connection pool and the provider health it keeps. One call has three parts: its
 * {@link dev.tokenwise.core.proxy.CallPolicy policy} decides where each attempt goes (retries, backoff, fallbacks,
 * breakers) and holds no channel; one {@link dev.tokenwise.core.proxy.UpstreamExchange exchange} per attempt owns that
 * attempt's connection and timers (acquire, write, timeouts, one release: back to the pool or closed);
 * {@link dev.tokenwise.core.proxy.ProxyCall} coordinates the attempts and relays the answer; its
 * {@link dev.tokenwise.core.proxy.CallSettlement settlement} prices, charges and books it once.
 *
 * <p>Threading: a call's upstream channel is registered on its client channel's event loop, so a call never crosses
 * threads on the hot path: its state and the pool's per-loop idle deques are touched by one thread and need no lock;
 * only settlement may finish on a worker (when a token count was still running), and it then reads only the immutable
 * account of how the call ended and thread-safe books. Nothing here blocks an event loop: no JDBC, no file I/O, no
 * waiting on a future.
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
 *
 * <p>Once: a call admitted is answered once and settled once (one record, its reservation and admission leases
 * settled, whatever throws); a call that never started gives everything back through {@code Admission.abort}.
 * Retries and fallbacks happen only while no byte of the answer has reached the client.
 */
package dev.tokenwise.core.proxy;
