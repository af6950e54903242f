package dev.tokenwise.metrics.efficiency;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class DifferenceWindowTest {

    @Test
    void theMedianBySelectionIsTheMedianOfTheSortedValues() {
        SplittableRandom random = new SplittableRandom(7);
        int[] work = new int[300];
        for (int round = 0; round < 5_000; round++) {
            int n = 1 + random.nextInt(300);
            int spread = 1 + random.nextInt(round % 3 == 0 ? 3 : 1_000_000); // many equal values, or few
            int[] values = new int[n];
            for (int i = 0; i < n; i++) {
                values[i] = random.nextInt(spread) - spread / 2;
            }
            int[] sorted = values.clone();
            Arrays.sort(sorted);
            long expected = n % 2 == 1 ? sorted[n / 2] : ((long) sorted[n / 2 - 1] + sorted[n / 2]) / 2;
            int[] before = values.clone();
            assertEquals(expected, DifferenceWindow.median(values, n, work), () -> Arrays.toString(before));
            assertEquals(Arrays.toString(before), Arrays.toString(values), "the window's own values are not moved");
        }
    }

    @Test
    void figuresAreTheMediansOfTheWholeWindowAndOfItsDifferingCalls() {
        SplittableRandom random = new SplittableRandom(11);
        for (int round = 0; round < 500; round++) {
            int capacity = 1 + random.nextInt(200);
            DifferenceWindow window = new DifferenceWindow(capacity);
            int calls = random.nextInt(3 * capacity) + 1;
            int differingPercent = random.nextInt(101);
            for (int i = 0; i < calls; i++) {
                long local = 1 + random.nextInt(5_000);
                long provider = round % 5 == 0 // every call differs (the window is its differing calls)
                        ? local + (random.nextBoolean() ? 1 : -1) * (1 + random.nextInt(40))
                        : random.nextInt(100) < differingPercent ? local + random.nextInt(-40, 41) : local;
                window.add(provider, local);
            }
            int[] d = window.diffs();
            int[] r = window.relativePpm();
            int[] nd = Arrays.stream(d).filter(v -> v != 0).toArray();
            int[] nr = java.util.stream.IntStream.range(0, d.length).filter(i -> d[i] != 0).map(i -> r[i]).toArray();
            DifferenceWindow.Figures f = window.figures();
            assertEquals(d.length, f.calls());
            assertEquals(nd.length, f.differing());
            assertEquals(sortedMedian(d), f.medianTokens());
            assertEquals(sortedMedian(r) / 1e6, f.medianRelative());
            assertEquals(nd.length == 0 ? 0 : sortedMedian(nd), f.differingMedianTokens());
            assertEquals(nr.length == 0 ? 0 : sortedMedian(nr) / 1e6, f.differingMedianRelative());
        }
    }

    private static long sortedMedian(int[] values) {
        int[] s = values.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : ((long) s[n / 2 - 1] + s[n / 2]) / 2;
    }
}
