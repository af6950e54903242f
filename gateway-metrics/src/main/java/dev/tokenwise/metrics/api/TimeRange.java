package dev.tokenwise.metrics.api;

import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.spi.ApiRoute;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;

/**
 * The {@code from}/{@code to} window of a query ({@code [from, to)} in epoch milliseconds), read from
 * ISO-8601 instants or dates; a date in {@code to} means the end of that day.
 */
public record TimeRange(long fromMillis, long toMillis) {

    /** The window a request asks for: all time up to {@code nowMillis} unless it says otherwise. */
    public static TimeRange of(ApiRoute.Request request, long nowMillis) {
        long from = bound("from", request.queryParam("from"), 0, false);
        long to = bound("to", request.queryParam("to"), nowMillis, true);
        if (from > to) {
            throw new GatewayException(ErrorType.BAD_REQUEST, "from (" + Instant.ofEpochMilli(from)
                    + ") is after to (" + Instant.ofEpochMilli(to) + ")");
        }
        return new TimeRange(from, to);
    }

    /** Epoch millis of a {@code from}/{@code to} value; a date in {@code to} means the end of that day. */
    public static long bound(String name, String value, long defaultMillis, boolean endOfDay) {
        if (value == null || value.isEmpty()) {
            return defaultMillis;
        }
        try {
            if (value.length() == 10) {
                LocalDate day = LocalDate.parse(value);
                return (endOfDay ? day.plusDays(1) : day).atStartOfDay(ZoneOffset.UTC).toInstant().toEpochMilli();
            }
            try {
                return Instant.parse(value).toEpochMilli();
            } catch (DateTimeParseException e) {
                return OffsetDateTime.parse(value).toInstant().toEpochMilli();
            }
        } catch (DateTimeParseException | ArithmeticException e) {
            throw new GatewayException(ErrorType.BAD_REQUEST, name + ": " + value
                    + " (expected an ISO-8601 instant such as 2026-11-28T10:15:30Z or a date such as 2026-11-28)");
        }
    }
}
