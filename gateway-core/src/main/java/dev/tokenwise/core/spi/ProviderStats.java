package dev.tokenwise.core.spi;

/**
 * What the proxy observes about one provider: its circuit breaker, its retries and the failures of its response
 * observer. The proxy implements it; meters and health reports read it without depending on the proxy's classes.
 *
 * <p>Every method may be called from any thread at any time (a scrape, a health request) and returns a racy
 * snapshot: each value is current, the values together are not one atomic picture. Reading never blocks nor
 * allocates on the proxy's side.
 */
public interface ProviderStats {

    /** A circuit breaker's state: closed (calls pass), half-open (the next call is a probe), open (calls refused). */
    enum BreakerState { CLOSED, OPEN, HALF_OPEN }

    /** The provider's configured name. */
    String provider();

    BreakerState state();

    /** Failures in a row; the breaker opens at the provider's threshold. */
    int consecutiveFailures();

    /** Upstream attempts the proxy retried. */
    long retries();

    /** Calls held for, or turned away by, the provider's own announced rate limit. */
    long heldCalls();

    /** Calls refused without trying because the breaker was open. */
    long refusedByBreaker();

    /** Times the breaker opened. */
    long timesOpened();

    /** Times reading the provider's answer for usage failed (those calls are billed on the local count). */
    long observerErrors();
}
