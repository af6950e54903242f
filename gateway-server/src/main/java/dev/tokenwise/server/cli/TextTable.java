package dev.tokenwise.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.List;

/** A table for people: a header row and columns padded to their widest cell, two spaces apart. */
final class TextTable {
    private final List<String[]> rows = new ArrayList<>();

    TextTable(String... headers) {
        rows.add(headers);
    }

    TextTable row(String... cells) {
        if (cells.length != rows.get(0).length) {
            throw new IllegalArgumentException("cells: " + cells.length + " (expected: " + rows.get(0).length + ")");
        }
        rows.add(cells);
        return this;
    }

    int size() {
        return rows.size() - 1;
    }

    void print(PrintStream out) {
        int[] widths = new int[rows.get(0).length];
        for (String[] row : rows) {
            for (int i = 0; i < row.length; i++) {
                widths[i] = Math.max(widths[i], row[i].length());
            }
        }
        for (String[] row : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < row.length; i++) {
                line.append(row[i]);
                if (i < row.length - 1) {
                    line.append(" ".repeat(widths[i] - row[i].length() + 2));
                }
            }
            out.println(line.toString().stripTrailing());
        }
    }

    /**
     * A USD amount from the API (an exact decimal) for people: {@code $5.00}, {@code $0.000079}: at least two
     * decimals, at most six (rounded half up), {@code -} when absent.
     */
    static String usd(JsonNode amount) {
        if (amount == null || amount.isNull() || amount.isMissingNode()) {
            return "-";
        }
        BigDecimal value = amount.decimalValue().setScale(6, RoundingMode.HALF_UP).stripTrailingZeros();
        if (value.scale() < 2) {
            value = value.setScale(2, RoundingMode.UNNECESSARY);
        }
        return (value.signum() < 0 ? "-$" : "$") + value.abs().toPlainString();
    }

    /** {@code $5.00 daily}, or {@code none} for a missing budget. */
    static String budget(JsonNode budget) {
        if (budget == null || budget.isNull() || budget.isMissingNode()) {
            return "none";
        }
        return usd(budget.get("limit_usd")) + " " + budget.path("period").asText();
    }

    /** A text field, or {@code -} when absent or null. */
    static String text(JsonNode node, String field) {
        JsonNode value = node.get(field);
        return value == null || value.isNull() ? "-" : value.asText();
    }
}
