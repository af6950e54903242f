/**
 * The Netty reverse proxy: the client frontend, admission, the upstream exchange and the relay of each call, the
 * connection pool and the provider health it keeps. The frontend ({@link dev.tokenwise.core.proxy.ClientFrontendHandler})
 * frames, authenticates, parses and dispatches; a proxied call is resolved ({@link dev.tokenwise.core.proxy.CallTarget}),
 * admitted ({@link dev.tokenwise.core.proxy.Admission}: the stages, then the budget,
 * {@link dev.tokenwise.core.proxy.BudgetAdmission}) and started. One call then has four parts: its
 * {@link dev.tokenwise.core.proxy.CallPolicy policy} decides where each attempt goes (retries, backoff, fallbacks,
 * breakers) and holds no channel; one {@link dev.tokenwise.core.proxy.UpstreamExchange exchange} per attempt owns that
 * attempt's connection and timers (acquire, write, timeouts, one release: back to the pool or closed); its
 * {@link dev.tokenwise.core.proxy.AnswerRelay relay} carries the answer to the client (head, body capture, events,
 * backpressure, the held tail); its {@link dev.tokenwise.core.proxy.CallSettlement settlement} prices, charges and books
 * it once. {@link dev.tokenwise.core.proxy.ProxyCall} coordinates them through its
 * {@link dev.tokenwise.core.proxy.Phase phases}.
 *
 * <p>Threading: a call's upstream channel is registered on its client channel's event loop, so a call never crosses
 * threads on the hot path: its state, its relay's, its exchange's and the pool's per-loop idle deques are touched by
 * one thread and need no lock. What completes elsewhere (a shared budget's decision, a stage's answer, a local route's)
 * is carried back to the loop before it touches the call or the connection; only settlement may finish on a worker
 * (when a token count was still running), and it then reads only the immutable account of how the call ended and
 * thread-safe books. Nothing here blocks an event loop: no JDBC, no file I/O, no waiting on a future.
 *
 * <p>Backpressure: {@code autoRead} is off on both sides; a client connection reads its next request only after the
 * current one is answered, and the upstream channel stops reading while the client is not writable and resumes on
 * {@code channelWritabilityChanged} (both decided by the relay).
 *
 * <p>Buffer ownership: every {@code ByteBuf} has one owner and is released on every exit path: the aggregated request
 * by the frontend (the upstream body is a retained duplicate; a call that waits for a stage or for the shared budgets
 * holds one more reference until it resumes), the upstream request by the call, each piece of upstream content by the
 * call until it is handed to the relay, which forwards it (the client pipeline releases it) or releases it in a
 * {@code finally}; the relay's captured body and gathered events by the relay, its held tail until it is written as
 * the end of the response; anything arriving on an idle pooled channel is released at once. The table is in
 * {@code docs/architecture.md}; tests run with PARANOID leak detection.
 *
 * <p>Once: a call admitted is answered once and settled once (one record, its reservation and admission leases
 * settled, whatever throws); a call that never started gives everything back through {@code Admission.abort}.
 * Retries and fallbacks happen only while no byte of the answer has reached the client.
 */
package dev.tokenwise.core.proxy;
