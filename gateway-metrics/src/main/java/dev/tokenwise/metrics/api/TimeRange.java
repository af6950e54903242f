package dev.tokenwise.metrics.api;

import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.spi.ApiRoute;
import java.time.Instant;

/**
 * The {@code from}/{@code to} window of a query ({@code [from, to)} in epoch milliseconds), read from
 * ISO-8601 instants or dates; a date in {@code to} means the end of that day.
 */
record TimeRange(long fromMillis, long toMillis) {

    /** The window a request asks for: all time up to {@code nowMillis} unless it says otherwise. */
    static TimeRange of(ApiRoute.Request request, long nowMillis) {
        long from = UsageRoute.bound("from", request.queryParam("from"), 0, false);
        long to = UsageRoute.bound("to", request.queryParam("to"), nowMillis, true);
        if (from > to) {
            throw new GatewayException(ErrorType.BAD_REQUEST, "from (" + Instant.ofEpochMilli(from)
                    + ") is after to (" + Instant.ofEpochMilli(to) + ")");
        }
        return new TimeRange(from, to);
    }
}
