package dev.tokenwise.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class LearntCalibrationTest {
    @Test
    void scalesAnEstimateByALearntRatio() {
        assertEquals(110, LearntCalibration.scale(100, 1.1));
        assertEquals(93, LearntCalibration.scale(100, 0.925));
    }

    @Test
    void ignoresRatiosNotLearntOrImplausible() {
        assertEquals(100, LearntCalibration.scale(100, Double.NaN));
        assertEquals(100, LearntCalibration.scale(100, 3.0));
        assertEquals(100, LearntCalibration.scale(100, 0.2));
    }
}
