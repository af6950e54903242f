package dev.tokenwise.metrics.ledger;

import java.util.Objects;

/**
 * A drift detector's pinned reference for one model, as the ledger keeps it ({@code drift_references}).
 *
 * @param source {@code traffic} (the clients' tasks) or {@code probe} (the gateway's scheduled probes)
 * @param fromMillis where the reference starts
 * @param toMillis where it ends, or 0 while it is still being gathered
 * @param changedAtMillis when it was last set
 * @param note who or what set it, e.g. {@code acknowledged by the admin}
 */
public record DriftReference(String source, String model, long fromMillis, long toMillis, long changedAtMillis,
                             String note) {
    public DriftReference {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(model, "model");
        if (toMillis != 0 && toMillis < fromMillis) {
            throw new IllegalArgumentException("toMillis: " + toMillis + " (expected: 0 or >= fromMillis " + fromMillis + ")");
        }
    }

    public boolean pinned() {
        return toMillis != 0;
    }
}
