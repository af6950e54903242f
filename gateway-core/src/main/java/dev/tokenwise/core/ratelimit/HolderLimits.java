package dev.tokenwise.core.ratelimit;

import dev.tokenwise.core.config.RateLimits;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The live limits of one holder: a {@link Gcra} for requests, one for tokens, and a counter of calls in flight,
 * each present only when its limit is set. Replaced whole when an operator changes the limits (the new limits start
 * from a full minute; calls in flight keep settling against the state they were admitted by).
 */
final class HolderLimits {
    final String kind;
    final String name;
    final RateLimits limits;
    final Gcra requests;
    final Gcra tokens;
    final AtomicInteger inFlight;

    HolderLimits(String kind, String name, RateLimits limits) {
        this.kind = kind;
        this.name = name;
        this.limits = limits;
        this.requests = limits.requestsPerMinute() > 0 ? new Gcra(limits.requestsPerMinute()) : null;
        this.tokens = limits.tokensPerMinute() > 0 ? new Gcra(limits.tokensPerMinute()) : null;
        this.inFlight = limits.concurrentRequests() > 0 ? new AtomicInteger() : null;
    }

    /** Takes a slot for one call in flight; {@code false} when all are taken. */
    boolean takeSlot() {
        for (;;) {
            int n = inFlight.get();
            if (n >= limits.concurrentRequests()) {
                return false;
            }
            if (inFlight.compareAndSet(n, n + 1)) {
                return true;
            }
        }
    }

    /** "team gamma" */
    String holder() {
        return kind + " " + name;
    }
}
