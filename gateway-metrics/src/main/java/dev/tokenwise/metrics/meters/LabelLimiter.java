package dev.tokenwise.metrics.meters;

import java.util.Collection;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Bounds the values of one label (team or model), so that a gateway with thousands of teams cannot make
 * thousands of time series per metric: the first {@code max} distinct values get a label of their own, every
 * later one shares {@link #OTHER}. A counter's series never changes label once it exists, so rates stay right.
 * Values given at construction (e.g. the configured models) are admitted first.
 *
 * <p>Implementation note: admitted values sit in a concurrent set; admitting a new one takes a ticket with a
 * compare-and-set on {@link #size} that fails once {@code max} is reached, so concurrent first sightings can
 * never admit more than {@code max}. Two threads admitting the same value both take a ticket; the one whose
 * {@code add} loses gives it back. Lookups of admitted values take no lock.
 */
public final class LabelLimiter {
    /** The label shared by every value beyond the limit. */
    public static final String OTHER = "other";
    /** The label of a missing value. */
    public static final String NONE = "none";

    private final int max;
    private final Set<String> admitted = ConcurrentHashMap.newKeySet();
    private final AtomicInteger size = new AtomicInteger();

    /**
     * @param max how many distinct values get a label of their own
     * @param seeds values admitted first (beyond {@code max} they are not admitted)
     */
    public LabelLimiter(int max, Collection<String> seeds) {
        if (max < 1) {
            throw new IllegalArgumentException("max: " + max + " (expected: > 0)");
        }
        this.max = max;
        for (String seed : seeds) {
            label(seed);
        }
    }

    /** The label of {@code value}: itself while there is room or it was admitted before, else {@link #OTHER}. */
    public String label(String value) {
        if (value == null || value.isEmpty()) {
            return NONE;
        }
        if (admitted.contains(value)) {
            return value;
        }
        while (true) {
            int n = size.get();
            if (n >= max) {
                return OTHER;
            }
            if (size.compareAndSet(n, n + 1)) {
                if (!admitted.add(value)) {
                    size.decrementAndGet(); // another thread admitted it meanwhile
                }
                return value;
            }
        }
    }

    /** Whether {@code value} has a label of its own. */
    public boolean admitted(String value) {
        return admitted.contains(value);
    }

    public int max() {
        return max;
    }

    /** How many values have a label of their own. */
    public int size() {
        return size.get();
    }
}
