package dev.tokenwise.core.proxy;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;
import java.time.DateTimeException;
import java.time.OffsetDateTime;
import java.util.concurrent.TimeUnit;

/**
 * Reads what a provider says of its own rate limits, so the gateway holds further calls to it until the reset it
 * announced instead of hammering it: a 429 (its {@code Retry-After}, else its {@code x-ratelimit-reset-*}), or any
 * answer whose {@code x-ratelimit-remaining-requests} or {@code -tokens} reached 0 (OpenAI's headers; Anthropic's
 * {@code anthropic-ratelimit-*-remaining} and {@code -reset} too). Pure functions of the headers and the clock.
 */
final class UpstreamLimits {
    /** The longest hold a provider can impose: a provider announcing an hour is not believed past this. */
    static final long MAX_HOLD_NANOS = TimeUnit.MINUTES.toNanos(5);

    // Names as AsciiString constants: a header lookup by one hashes it once, not at every call.
    private static final AsciiString OPENAI_RESET_REQUESTS = AsciiString.cached("x-ratelimit-reset-requests");
    private static final AsciiString OPENAI_RESET_TOKENS = AsciiString.cached("x-ratelimit-reset-tokens");
    private static final AsciiString OPENAI_REMAINING_REQUESTS = AsciiString.cached("x-ratelimit-remaining-requests");
    private static final AsciiString OPENAI_REMAINING_TOKENS = AsciiString.cached("x-ratelimit-remaining-tokens");
    private static final AsciiString ANTHROPIC_REMAINING_REQUESTS = AsciiString.cached("anthropic-ratelimit-requests-remaining");
    private static final AsciiString ANTHROPIC_RESET_REQUESTS = AsciiString.cached("anthropic-ratelimit-requests-reset");
    private static final AsciiString ANTHROPIC_REMAINING_TOKENS = AsciiString.cached("anthropic-ratelimit-tokens-remaining");
    private static final AsciiString ANTHROPIC_RESET_TOKENS = AsciiString.cached("anthropic-ratelimit-tokens-reset");

    private UpstreamLimits() {
    }

    /**
     * Nanoseconds the provider asks the gateway to wait from now, {@code 0} when it asks nothing.
     *
     * @param nowMillis the wall clock, for Anthropic's reset timestamps and HTTP dates
     */
    static long holdNanos(int status, HttpHeaders headers, long nowMillis) {
        long hold = 0;
        if (status == 429) {
            hold = TimeUnit.MILLISECONDS.toNanos(retryAfterMillis(headers));
            if (hold == 0) {
                hold = Math.max(reset(headers, OPENAI_RESET_REQUESTS, nowMillis),
                        reset(headers, OPENAI_RESET_TOKENS, nowMillis));
            }
            if (hold == 0) {
                hold = TimeUnit.SECONDS.toNanos(1); // a 429 that names no reset: a short pause all the same
            }
        } else {
            if (exhausted(headers, OPENAI_REMAINING_REQUESTS)) {
                hold = Math.max(hold, reset(headers, OPENAI_RESET_REQUESTS, nowMillis));
            }
            if (exhausted(headers, OPENAI_REMAINING_TOKENS)) {
                hold = Math.max(hold, reset(headers, OPENAI_RESET_TOKENS, nowMillis));
            }
            if (exhausted(headers, ANTHROPIC_REMAINING_REQUESTS)) {
                hold = Math.max(hold, reset(headers, ANTHROPIC_RESET_REQUESTS, nowMillis));
            }
            if (exhausted(headers, ANTHROPIC_REMAINING_TOKENS)) {
                hold = Math.max(hold, reset(headers, ANTHROPIC_RESET_TOKENS, nowMillis));
            }
        }
        return Math.min(hold, MAX_HOLD_NANOS);
    }

    private static boolean exhausted(HttpHeaders headers, CharSequence name) {
        String value = headers.get(name);
        return value != null && value.trim().equals("0");
    }

    /** A reset header as nanoseconds from now: a duration ({@code 20ms}, {@code 1.5s}, {@code 6m0s}) or a timestamp. */
    static long reset(HttpHeaders headers, CharSequence name, long nowMillis) {
        String value = headers.get(name);
        if (value == null || value.isBlank()) {
            return 0;
        }
        value = value.trim();
        if (value.indexOf('T') > 0) {
            try {
                long at = OffsetDateTime.parse(value).toInstant().toEpochMilli();
                return TimeUnit.MILLISECONDS.toNanos(Math.max(0, at - nowMillis));
            } catch (DateTimeException notATimestamp) {
                return 0;
            }
        }
        return duration(value);
    }

    /** Go-style durations as OpenAI writes them: {@code 6m0s}, {@code 1.5s}, {@code 20ms}, {@code 1h2m}; 0 if unreadable. */
    static long duration(String text) {
        long total = 0;
        int i = 0;
        int n = text.length();
        if (n == 0) {
            return 0;
        }
        while (i < n) {
            int start = i;
            while (i < n && (Character.isDigit(text.charAt(i)) || text.charAt(i) == '.')) {
                i++;
            }
            if (start == i) {
                return 0;
            }
            double amount;
            try {
                amount = Double.parseDouble(text.substring(start, i)); // a header, not money
            } catch (NumberFormatException e) {
                return 0;
            }
            int unitStart = i;
            while (i < n && Character.isLetter(text.charAt(i))) {
                i++;
            }
            long unitNanos = switch (text.substring(unitStart, i)) {
                case "h" -> TimeUnit.HOURS.toNanos(1);
                case "m" -> TimeUnit.MINUTES.toNanos(1);
                case "s", "" -> TimeUnit.SECONDS.toNanos(1);
                case "ms" -> TimeUnit.MILLISECONDS.toNanos(1);
                case "us", "µs" -> TimeUnit.MICROSECONDS.toNanos(1);
                case "ns" -> 1;
                default -> -1;
            };
            if (unitNanos < 0) {
                return 0;
            }
            total += (long) (amount * unitNanos);
        }
        return total;
    }

    /** Retry-After in milliseconds (seconds or an HTTP date), 0 when absent or unreadable. */
    static long retryAfterMillis(HttpHeaders headers) {
        String value = headers.get(HttpHeaderNames.RETRY_AFTER);
        if (value == null || value.isBlank()) {
            return 0;
        }
        try {
            return Math.max(0, Long.parseLong(value.trim()) * 1000);
        } catch (NumberFormatException notSeconds) {
            try {
                long at = java.time.ZonedDateTime.parse(value.trim(),
                        java.time.format.DateTimeFormatter.RFC_1123_DATE_TIME).toInstant().toEpochMilli();
                return Math.max(0, at - System.currentTimeMillis());
            } catch (java.time.DateTimeException notADate) {
                return 0;
            }
        }
    }
}
