package dev.tokenwise.core.budget;

import dev.tokenwise.core.config.BudgetPeriod;
import java.time.DayOfWeek;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.temporal.TemporalAdjusters;

/** Calendar-aligned budget periods: where the period containing an instant starts and ends. */
public final class Periods {
    private Periods() {
    }

    /** Start of the period containing {@code at} (epoch millis); {@code 0} for {@link BudgetPeriod#TOTAL}. */
    public static long startMillis(BudgetPeriod period, long at, ZoneId zone) {
        if (period == BudgetPeriod.TOTAL) {
            return 0;
        }
        LocalDate day = Instant.ofEpochMilli(at).atZone(zone).toLocalDate();
        LocalDate start = switch (period) {
            case DAILY -> day;
            case WEEKLY -> day.with(TemporalAdjusters.previousOrSame(DayOfWeek.MONDAY));
            case MONTHLY -> day.withDayOfMonth(1);
            case TOTAL -> throw new AssertionError();
        };
        return start.atStartOfDay(zone).toInstant().toEpochMilli();
    }

    /** End (exclusive) of the period containing {@code at}; {@link Long#MAX_VALUE} for {@link BudgetPeriod#TOTAL}. */
    public static long endMillis(BudgetPeriod period, long at, ZoneId zone) {
        if (period == BudgetPeriod.TOTAL) {
            return Long.MAX_VALUE;
        }
        ZonedDateTime start = Instant.ofEpochMilli(startMillis(period, at, zone)).atZone(zone);
        ZonedDateTime end = switch (period) {
            case DAILY -> start.plusDays(1);
            case WEEKLY -> start.plusWeeks(1);
            case MONTHLY -> start.plusMonths(1);
            case TOTAL -> throw new AssertionError();
        };
        return end.toInstant().toEpochMilli();
    }

    /** The word used in messages: "day", "week", "month", "in total". */
    public static String noun(BudgetPeriod period) {
        return switch (period) {
            case DAILY -> "this day";
            case WEEKLY -> "this week";
            case MONTHLY -> "this month";
            case TOTAL -> "in total";
        };
    }
}
