package dev.tokenwise.bench.drift;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The drift detector's figures on simulated realistic traffic, at a smaller scale than {@code docs/efficiency.md}
 * reports (there: {@code DriftSimulation.main}): at most one false alarm per model and year, every lasting
 * ten-point drop caught, kept open while the model stays worse, and opened once per incident.
 */
class DriftSimulationTest {

    @Test
    void raisesAtMostOneFalseAlarmPerModelAndYearOnRealisticStableTraffic() {
        DriftSimulation.FalseAlarms fa = DriftSimulation.falseAlarms(12, 1, 200, false, 77);
        assertTrue(fa.perModelYear() <= 1.0, fa.toString());
    }

    @Test
    void catchesALastingTenPointDropAndKeepsItOpenOnce() {
        DriftSimulation.Detection d = DriftSimulation.detection(12, 200, 0.10, 78);
        assertEquals(d.incidents(), d.detected(), d.toString());
        assertTrue(d.quantile(0.5) < 6, "median delay " + d.quantile(0.5) + " days");
        assertTrue(d.openAfterDay14() > 0.95, "open after two weeks: " + d.openAfterDay14());
        assertEquals(1.0, d.meanOpenings(), 0.0, "one opening per incident (hysteresis)");
    }

    @Test
    void catchesAProbeDegradationWithinABoundedNumberOfTasks() {
        double[] tasks = DriftSimulation.probeDetection(20, 20, 79);
        assertTrue(tasks[tasks.length - 1] <= 300, "the slowest of 20 incidents: " + tasks[tasks.length - 1] + " tasks");
    }
}
