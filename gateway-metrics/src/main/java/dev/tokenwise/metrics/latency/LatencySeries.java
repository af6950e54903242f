package dev.tokenwise.metrics.latency;

import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.PackedHistogram;
import org.HdrHistogram.Recorder;

/**
 * One latency distribution (one {@link LatencyKind} of one provider and model): a wait-free recorder in front,
 * the history behind it.
 *
 * <p>Implementation note: writers call {@link #record}, which is {@link Recorder#recordValue} (an atomic
 * increment inside a {@code WriterReaderPhaser} critical section: wait-free) plus a {@link LongAdder} for the
 * exact sum. Nothing a writer does waits for a reader. Readers hold this object's monitor; {@link #drain}
 * flips the recorder ({@link Recorder#getIntervalHistogram(Histogram)} swaps the active and inactive
 * histograms and waits only for writers already inside their critical section) and adds the interval to the
 * cumulative histogram and to the slot of the current minute. Minute slots form a ring of
 * {@link #SLOTS}; a slot whose minute is older than the ring is reset before reuse, so a window never sees
 * data from more than {@code SLOTS} minutes ago. Slots are {@link PackedHistogram}s, whose memory grows with
 * the number of distinct buckets used, not with the range. A value lands in the minute in which it was
 * drained: {@link LatencyBook#schedule} drains every second, so that is at most a second late.
 *
 * <p>Values are clamped to {@code [0, HIGHEST_MICROS]}: a value beyond the range is counted at the top rather
 * than thrown away or thrown at the writer.
 */
final class LatencySeries {
    /** One hour: anything slower is counted as one hour. */
    static final long HIGHEST_MICROS = 3_600_000_000L;
    /** Two significant digits: values are resolved to better than 1 %. */
    static final int DIGITS = 2;
    /** The longest window, in minutes, plus the current minute. */
    static final int MAX_WINDOW_MINUTES = 60;
    static final int SLOTS = MAX_WINDOW_MINUTES + 1;
    private static final long MINUTE_MILLIS = 60_000;

    private final Recorder recorder = new Recorder(1, HIGHEST_MICROS, DIGITS);
    private final LongAdder sumMicros = new LongAdder();

    // Guarded by this.
    private Histogram recycled;
    private final Histogram cumulative = newHistogram();
    private final PackedHistogram[] minutes = new PackedHistogram[SLOTS];
    private final long[] minuteOfSlot = new long[SLOTS];

    /** Records one value; wait-free. */
    void record(long micros) {
        long value = clamp(micros);
        recorder.recordValue(value);
        sumMicros.add(value);
    }

    /** Moves what was recorded since the last drain into the history, attributed to the minute of {@code nowMillis}. */
    synchronized void drain(long nowMillis) {
        Histogram interval = recorder.getIntervalHistogram(recycled);
        if (interval.getTotalCount() > 0) {
            cumulative.add(interval);
            long minute = Math.floorDiv(nowMillis, MINUTE_MILLIS);
            int slot = (int) Math.floorMod(minute, (long) SLOTS);
            PackedHistogram h = minutes[slot];
            if (h == null) {
                h = new PackedHistogram(1, HIGHEST_MICROS, DIGITS);
                minutes[slot] = h;
                minuteOfSlot[slot] = minute;
            } else if (minuteOfSlot[slot] != minute) {
                h.reset();
                minuteOfSlot[slot] = minute;
            }
            h.add(interval);
        }
        recycled = interval;
    }

    /**
     * Adds the values of the current minute and of the {@code windowMinutes} whole minutes before it into
     * {@code into} (so the window covers at least {@code windowMinutes} and at most one minute more).
     */
    synchronized void addWindow(long nowMillis, int windowMinutes, Histogram into) {
        drain(nowMillis);
        long current = Math.floorDiv(nowMillis, MINUTE_MILLIS);
        for (long m = current - Math.min(windowMinutes, MAX_WINDOW_MINUTES); m <= current; m++) {
            int slot = (int) Math.floorMod(m, (long) SLOTS);
            if (minutes[slot] != null && minuteOfSlot[slot] == m) {
                into.add(minutes[slot]);
            }
        }
    }

    /** Adds everything recorded since start into {@code into}. */
    synchronized void addCumulative(long nowMillis, Histogram into) {
        drain(nowMillis);
        into.add(cumulative);
    }

    /** The exact sum of every value recorded (clamped), in microseconds. */
    long sumMicros() {
        return sumMicros.sum();
    }

    /** A value inside the range: below it counts as 0, above it as {@link #HIGHEST_MICROS}. */
    static long clamp(long micros) {
        return Math.min(Math.max(micros, 0), HIGHEST_MICROS);
    }

    static Histogram newHistogram() {
        return new Histogram(1, HIGHEST_MICROS, DIGITS);
    }

    /** A histogram of the same range whose memory grows with the buckets used: for sums that readers build. */
    static Histogram newPacked() {
        return new PackedHistogram(1, HIGHEST_MICROS, DIGITS);
    }
}
