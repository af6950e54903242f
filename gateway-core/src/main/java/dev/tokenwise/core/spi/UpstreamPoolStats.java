package dev.tokenwise.core.spi;

/**
 * What the proxy observes about its pool of upstream connections. The proxy implements it; meters read it without
 * depending on the proxy's classes. Both values are racy sums, safe to read from any thread.
 */
public interface UpstreamPoolStats {

    /** Keep-alive connections to providers waiting in the pool, across all event loops. */
    int idleCount();

    /** Connects the transport closed before they completed (a stale hang-up) and that were made again. */
    long connectsLostBeforeCompleting();
}
