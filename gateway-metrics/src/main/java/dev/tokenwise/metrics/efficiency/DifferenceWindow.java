package dev.tokenwise.metrics.efficiency;

import java.util.Arrays;

/**
 * The last calls' differences between provider and local token counts of one model, side (input or output) and
 * group of request features: per call {@code provider − local} in tokens and the same relative to the local count
 * (in parts per million), with the number of calls whose difference is not zero.
 *
 * <p>The <em>baseline</em> is what the window should look like: for an exact count, no call differs and the median
 * difference is 0; for an estimated count (images, tools the published examples do not prove), the median and the
 * share of differing calls of its first {@code baselineCalls} calls. A finding is a shift from it.
 *
 * <p>Implementation note: not thread-safe; its owner ({@link BillingAudit}) guards it with its monitor. The window is
 * a ring of two {@code int} arrays; the medians are taken by sorting a copy, which the audit does only every few
 * calls (a thousand ints sort in microseconds).
 */
final class DifferenceWindow {

    /**
     * What the window shows: calls, share of differing calls, median difference in tokens and relative, and the same
     * medians over the calls that differ only (0 when none does).
     */
    record Figures(int calls, int differing, double share, long medianTokens, double medianRelative,
                   long differingMedianTokens, double differingMedianRelative) {
    }

    private final int[] diffs;
    private final int[] relativePpm;
    private int next;
    private int size;
    private int differing;
    /** Samples since the last evaluation. */
    int sinceCheck;
    /** Set by every sample, cleared when the window is saved. */
    boolean dirty;

    /** The baseline: share of differing calls and median relative difference; NaN until known. */
    double baselineShare = Double.NaN;
    double baselineMedian = Double.NaN;
    /** The figures of the finding reported and still open, or {@code null}. */
    Figures reported;

    DifferenceWindow(int capacity) {
        diffs = new int[capacity];
        relativePpm = new int[capacity];
    }

    /** An exact count's window: its baseline is no difference at all. */
    static DifferenceWindow exact(int capacity) {
        DifferenceWindow w = new DifferenceWindow(capacity);
        w.baselineShare = 0;
        w.baselineMedian = 0;
        return w;
    }

    void add(long provider, long local) {
        long diff = provider - local;
        int d = (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, diff));
        double rel = local > 0 ? (double) diff / local : 0;
        int ppm = (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, Math.round(rel * 1e6)));
        put(d, ppm);
    }

    /** Adds one sample as stored (restoring a saved window). */
    void put(int diff, int ppm) {
        if (size == diffs.length) {
            if (diffs[next] != 0) {
                differing--;
            }
        } else {
            size++;
        }
        diffs[next] = diff;
        relativePpm[next] = ppm;
        if (diff != 0) {
            differing++;
        }
        next = (next + 1) % diffs.length;
        sinceCheck++;
        dirty = true;
    }

    int size() {
        return size;
    }

    int differing() {
        return differing;
    }

    boolean hasBaseline() {
        return !Double.isNaN(baselineShare);
    }

    /** Takes the current figures as the baseline (an estimated group's first {@code baselineCalls} calls). */
    void learnBaseline(Figures f) {
        baselineShare = f.share();
        baselineMedian = f.medianRelative();
        dirty = true;
    }

    Figures figures() {
        if (size == 0) {
            return new Figures(0, 0, 0, 0, 0, 0, 0);
        }
        int[] d = new int[size];
        int[] r = new int[size];
        int[] nd = new int[differing];
        int[] nr = new int[differing];
        int k = 0;
        for (int i = 0; i < size; i++) {
            d[i] = diffs[i];
            r[i] = relativePpm[i];
            if (diffs[i] != 0) {
                nd[k] = diffs[i];
                nr[k++] = relativePpm[i];
            }
        }
        Arrays.sort(d);
        Arrays.sort(r);
        Arrays.sort(nd);
        Arrays.sort(nr);
        return new Figures(size, differing, (double) differing / size, median(d), median(r) / 1e6,
                differing == 0 ? 0 : median(nd), differing == 0 ? 0 : median(nr) / 1e6);
    }

    /** The samples oldest first: differences in tokens. */
    int[] diffs() {
        return ordered(diffs);
    }

    /** The samples oldest first: relative differences in parts per million. */
    int[] relativePpm() {
        return ordered(relativePpm);
    }

    private int[] ordered(int[] ring) {
        int[] out = new int[size];
        int start = size < ring.length ? 0 : next;
        for (int i = 0; i < size; i++) {
            out[i] = ring[(start + i) % ring.length];
        }
        return out;
    }

    /** The median of sorted values: the mean of the two middle ones for an even count, rounded towards zero. */
    private static long median(int[] sorted) {
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : ((long) sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    /**
     * The lower bound of the share of differing calls (Wilson score interval, z = 3, about 99.9 % one-sided), so that a
     * few differing calls in a small window do not count as a shift.
     */
    static double shareLowerBound(int differing, int calls) {
        if (calls == 0) {
            return 0;
        }
        double z = 3;
        double p = (double) differing / calls;
        double z2n = z * z / calls;
        double centre = p + z2n / 2;
        double spread = z * Math.sqrt(p * (1 - p) / calls + z2n / (4.0 * calls));
        return Math.max(0, (centre - spread) / (1 + z2n));
    }
}
