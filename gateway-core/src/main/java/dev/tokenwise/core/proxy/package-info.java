/**
 * The Netty reverse proxy: client frontend, upstream backend, connection pool and SSE relay, and the parts of one
 * call (its {@link dev.tokenwise.core.proxy.CallPolicy policy}, its attempts and relay in
 * {@link dev.tokenwise.core.proxy.ProxyCall}, its {@link dev.tokenwise.core.proxy.CallSettlement settlement}).
 *
 * <p>Invariants of the package:
 * <ul>
 *   <li><b>Threading.</b> A call lives on its client channel's event loop, and its upstream channel is on the same
 *       loop: {@code ClientFrontendHandler}, {@code ProxyCall}, {@code CallPolicy} and {@code UpstreamBackendHandler}
 *       are touched by that one thread, without locks. Nothing here blocks the loop (no JDBC, no file I/O, no wait on
 *       a future); only the booking of a settlement may finish on the counter's thread, reading immutable values.
 *       Shared state ({@code ProviderHealth}, the {@code UpstreamPool}'s per-loop deques, budgets) is lock-free.</li>
 *   <li><b>Buffer ownership.</b> Every {@code ByteBuf} has one owner and is released on every exit path: the call owns
 *       the upstream request (each attempt writes a retained duplicate) and the response content it is handed, which
 *       it forwards to the client pipeline or releases; captured bodies and held tails are released when the call
 *       ends, however it ends. Tests run with paranoid leak detection.</li>
 *   <li><b>Once.</b> A call admitted is answered once and settled once ({@code CallSettlement}): one record, its
 *       reservation and admission leases settled, whatever throws; a call that never started gives everything back
 *       through {@code Admission.abort}.</li>
 *   <li><b>Nothing reaches the client twice.</b> Retries and fallbacks happen only while no byte of the answer was
 *       written to the client.</li>
 * </ul>
 */
package dev.tokenwise.core.proxy;
