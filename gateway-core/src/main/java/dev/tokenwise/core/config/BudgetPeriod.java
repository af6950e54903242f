package dev.tokenwise.core.config;

import java.util.Locale;

/** Calendar periods a budget can cover (UTC unless configured otherwise). */
public enum BudgetPeriod {
    DAILY, WEEKLY, MONTHLY, TOTAL;

    public static BudgetPeriod parse(String value, String key) {
        try {
            return valueOf(value.trim().toUpperCase(Locale.ROOT));
        } catch (RuntimeException e) {
            throw new ConfigException(key + ": " + value + " (expected: daily, weekly, monthly or total)");
        }
    }

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
