package dev.tokenwise.core.model;

import java.math.BigDecimal;

/** Conversions of nano-USD at the edges (JSON, logs); the hot path keeps {@code long} nano-USD. */
public final class Money {
    public static final long NANOS_PER_USD = 1_000_000_000L;

    private Money() {
    }

    /** Exact USD value of {@code nanos}, e.g. {@code 1_500} is {@code 0.0000015}. */
    public static BigDecimal toUsd(long nanos) {
        return BigDecimal.valueOf(nanos, 9).stripTrailingZeros();
    }

    public static long fromUsd(BigDecimal usd) {
        return usd.movePointRight(9).setScale(0, java.math.RoundingMode.UNNECESSARY).longValueExact();
    }

    /** A human form for messages, e.g. {@code $0.0012}. */
    public static String format(long nanos) {
        BigDecimal usd = toUsd(nanos);
        if (usd.scale() < 2) {
            usd = usd.setScale(2);
        }
        return "$" + usd.toPlainString();
    }
}
