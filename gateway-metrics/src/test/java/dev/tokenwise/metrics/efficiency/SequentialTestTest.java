package dev.tokenwise.metrics.efficiency;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class SequentialTestTest {

    @Test
    void thresholdInvertsSiegmundsApproximation() {
        for (double arl : new double[] {1e3, 1e5, 1e8}) {
            for (double kl : new double[] {0.001, 0.03, 0.5}) {
                double h = SequentialTest.threshold(arl, kl);
                assertEquals(arl * kl, Math.exp(h) - h - 1, arl * kl * 1e-9 + 1e-9, "arl " + arl + ", kl " + kl);
            }
        }
        assertTrue(SequentialTest.threshold(1e6, 0.03) > SequentialTest.threshold(1e5, 0.03), "more tasks a year, higher h");
        assertTrue(SequentialTest.threshold(1, 0.001) >= 1, "never below 1");
    }

    @Test
    void opensOnPersistenceAndClosesOnlyOnEvidenceOfRecovery() {
        SequentialTest t = new SequentialTest(10, 2, 3);
        t.add(11, 1, 0);
        assertEquals(SequentialTest.Change.NONE, t.check(() -> true), "one check above is not enough");
        assertEquals(SequentialTest.Change.NONE, t.check(() -> true), "a check without new observations does not count");
        t.add(0.5, 1, 0);
        assertEquals(SequentialTest.Change.OPENED, t.check(() -> true));
        assertTrue(t.alarmed());
        t.add(-9, 0, 0); // the evidence of a change fades to 2.5, but nothing says the model is back
        assertEquals(SequentialTest.Change.NONE, t.check(() -> true));
        t.add(-2.5, 0, 0);
        assertEquals(0, t.statistic());
        assertEquals(SequentialTest.Change.NONE, t.check(() -> true), "recovery evidence 11.5 once");
        t.add(0, 0, 0);
        assertEquals(SequentialTest.Change.CLOSED, t.check(() -> true), "recovery above h at two of the last three");
        assertFalse(t.alarmed());
        assertEquals(0, t.recovery());
        t.add(5, 1, 0);
        assertEquals(SequentialTest.Change.NONE, t.check(() -> true), "both statistics started over");
    }

    @Test
    void staysAlarmedWhileTheEvidenceKeepsComing() {
        SequentialTest t = new SequentialTest(10, 1, 1);
        t.add(12, 1, 0);
        assertEquals(SequentialTest.Change.OPENED, t.check(() -> true));
        for (int i = 0; i < 1000; i++) {
            t.add(i % 2 == 0 ? 3 : -2.5, 0, 0); // a worse model with noise: up on average
            assertEquals(SequentialTest.Change.NONE, t.check(() -> true));
        }
        assertTrue(t.alarmed());
    }

    @Test
    void waitsForPermissionToOpenButAlwaysCloses() {
        SequentialTest t = new SequentialTest(5, 1, 1);
        t.add(6, 1, 0);
        assertEquals(SequentialTest.Change.NONE, t.check(() -> false));
        t.add(0.1, 1, 0);
        assertEquals(SequentialTest.Change.OPENED, t.check(() -> true));
        t.add(-12, 0, 0);
        assertEquals(SequentialTest.Change.CLOSED, t.check(() -> false));
    }

    @Test
    void capsTheStatisticAndKeepsTheSegmentSinceItWasLastZero() {
        SequentialTest t = new SequentialTest(4, 1, 1);
        t.add(-1, 5, 100);
        assertEquals(0, t.statistic());
        assertEquals(0, t.segmentCount());
        for (int i = 0; i < 20; i++) {
            t.add(1, 1, 10);
        }
        assertEquals(8, t.statistic(), "twice the threshold at most");
        assertEquals(20, t.segmentCount());
        assertEquals(1, t.segmentMean());
        assertEquals(200, t.segmentExtra());
        assertEquals(21, t.observations());
    }

    @Test
    void dispersionIsAnUpperBoundAtLeastOne() {
        assertEquals(1, RateReference.dispersion(5, 25), "less spread than binomial: 1");
        double phi = RateReference.dispersion(50, 25);
        assertTrue(phi > 50.0 / 25 && phi < 50.0 / 25 * 1.4, "above the point estimate: " + phi);
        assertEquals(2, RateReference.dispersion(3, 0), "no degree of freedom");
        assertEquals(19.9393, Significance.chiSquareQuantile(0.25, 25), 1e-3);
        assertEquals(1.9226, Significance.chiSquareQuantile(0.25, 4), 1e-3);
    }
}
