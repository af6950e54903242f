package dev.tokenwise.core.ratelimit;

import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import java.util.concurrent.TimeUnit;

/** The 429s of {@link RateLimiter}, each with the whole seconds to wait ({@code Retry-After}, at least 1). */
final class RateLimitRefusal {
    private RateLimitRefusal() {
    }

    /** "team gamma: 5 requests per minute; next allowed in 12 s" */
    static GatewayException rate(String holder, String limit, long waitNanos) {
        long seconds = Math.max(1, (waitNanos + TimeUnit.SECONDS.toNanos(1) - 1) / TimeUnit.SECONDS.toNanos(1));
        return GatewayException.rateLimited(holder + ": " + limit + "; next allowed in " + seconds + " s", seconds);
    }

    static GatewayException concurrent(String holder, int limit) {
        return GatewayException.rateLimited(holder + ": " + limit + " concurrent requests; next allowed when one of them"
                + " ends", 1);
    }

    static GatewayException tooLarge(String holder, long limit, long tokens) {
        return GatewayException.rateLimited(holder + ": " + limit + " tokens per minute, and this call may use up to "
                + tokens + " (its input plus its output cap): it never fits; lower max_tokens", 60);
    }
}
