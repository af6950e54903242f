package dev.tokenwise.metrics.efficiency;

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
 * a ring of two {@code int} arrays; the medians are taken by selection in a copy, which the audit does only every
 * few calls.
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
    /** Working space of {@link #figures}, made at its first use. */
    private int[] scratch;
    private int[] picked;
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
        if (scratch == null) {
            scratch = new int[diffs.length];
        }
        long medianTokens = 0;
        long medianPpm = 0;
        // More than half the calls not differing puts a 0 in the middle of both sorted columns (a call with no
        // difference has no relative one either): their medians are 0 without looking.
        if (2 * differing >= size) {
            medianTokens = median(diffs, size, scratch);
            medianPpm = median(relativePpm, size, scratch);
        }
        long differingTokens = medianTokens;
        long differingPpm = medianPpm;
        // When every call differs, the calls that differ are the window: the same medians.
        if (differing > 0 && differing < size) {
            differingTokens = median(differingOnly(diffs), differing, scratch);
            differingPpm = median(differingOnly(relativePpm), differing, scratch);
        }
        return new Figures(size, differing, (double) differing / size, medianTokens, medianPpm / 1e6,
                differingTokens, differingPpm / 1e6);
    }

    /** The values of {@code column} at the calls that differ, in the first {@link #differing} slots of the result. */
    private int[] differingOnly(int[] column) {
        if (picked == null) {
            picked = new int[diffs.length];
        }
        int k = 0;
        for (int i = 0; i < size; i++) {
            if (diffs[i] != 0) {
                picked[k++] = column[i];
            }
        }
        return picked;
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

    /**
     * The median of the first {@code n} values of {@code values} (the mean of the two middle ones for an even count,
     * rounded towards zero), as sorting them would give, by selection in {@code work} (linear time on average, where a
     * sort of a full window every few calls was the audit's largest cost per call).
     */
    static long median(int[] values, int n, int[] work) {
        System.arraycopy(values, 0, work, 0, n);
        int upper = select(work, n, n / 2);
        if (n % 2 == 1) {
            return upper;
        }
        // After selecting n/2, everything before it is no larger: the lower middle is their largest.
        int lower = work[0];
        for (int i = 1; i < n / 2; i++) {
            lower = Math.max(lower, work[i]);
        }
        return ((long) lower + upper) / 2;
    }

    /** Reorders {@code a[0..n)} so that {@code a[k]} holds the value a sort would put there, and returns it. */
    private static int select(int[] a, int n, int k) {
        int lo = 0;
        int hi = n - 1;
        while (hi > lo) {
            // Median of three as the pivot, then a three-way partition (windows hold many equal values).
            int mid = (lo + hi) >>> 1;
            int pivot = Math.max(Math.min(a[lo], a[mid]), Math.min(Math.max(a[lo], a[mid]), a[hi]));
            int lt = lo;
            int gt = hi;
            int i = lo;
            while (i <= gt) {
                if (a[i] < pivot) {
                    swap(a, lt++, i++);
                } else if (a[i] > pivot) {
                    swap(a, i, gt--);
                } else {
                    i++;
                }
            }
            if (k < lt) {
                hi = lt - 1;
            } else if (k > gt) {
                lo = gt + 1;
            } else {
                return pivot;
            }
        }
        return a[k];
    }

    private static void swap(int[] a, int i, int j) {
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
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
