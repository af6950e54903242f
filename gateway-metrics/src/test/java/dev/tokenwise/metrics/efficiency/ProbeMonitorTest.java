package dev.tokenwise.metrics.efficiency;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenwise.metrics.ledger.TaskRow;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Probe runs: a degradation is caught within a bounded number of probe tasks, a stable model rarely alarms. */
class ProbeMonitorTest {
    private static final long HOUR = 3_600_000L;
    private static final int TASKS = 20;

    private final AtomicLong now = new AtomicLong();
    private final AlertBook alerts = new AlertBook(now::get, null);
    private final SplittableRandom random = new SplittableRandom(11);

    private List<TaskRow> run(String model, long start, double accuracy, double outputTokens) {
        List<TaskRow> rows = new ArrayList<>();
        for (int i = 0; i < TASKS; i++) {
            long out = Math.max(1, Math.round(outputTokens * Math.exp(0.25 * random.nextGaussian())));
            rows.add(new TaskRow("probes", ProbeMonitor.taskId(start, model, "task-" + i), model, start, 1, 0, 0, 120,
                    out, 0, random.nextDouble() < accuracy));
        }
        return rows;
    }

    private ProbeMonitor monitor() {
        return new ProbeMonitor(alerts, null, DriftSettings.DEFAULTS, 10, Duration.ofHours(1));
    }

    @Test
    void catchesADegradationWithinABoundedNumberOfProbeTasksAndSaysSo() {
        ProbeMonitor probes = monitor();
        long t = 0;
        for (int r = 0; r < 40; r++, t += HOUR) {
            now.set(t);
            probes.record("sim-mid", t, run("sim-mid", t, 0.93, 60), 0);
        }
        assertTrue(alerts.list().isEmpty(), alerts.list().toString());
        int runsToAlarm = -1;
        for (int r = 0; r < 20; r++, t += HOUR) {
            now.set(t);
            probes.record("sim-mid", t, run("sim-mid", t, 0.6, 108), 0);
            if (runsToAlarm < 0 && alerts.find(AlertType.QUALITY_DRIFT, Alert.Scope.MODEL, "sim-mid", "probe_pass_rate") != null) {
                runsToAlarm = r + 1;
            }
        }
        assertTrue(runsToAlarm > 0 && runsToAlarm * TASKS <= 120, "caught after " + runsToAlarm + " runs");
        Alert pass = alerts.find(AlertType.QUALITY_DRIFT, Alert.Scope.MODEL, "sim-mid", "probe_pass_rate");
        assertEquals("probe", pass.source());
        assertTrue(pass.message().startsWith("sim-mid: probe pass rate 9"), pass.message());
        assertTrue(pass.message().contains("probe tasks (tokens per solved task "), pass.message());
        assertNotNull(alerts.find(AlertType.QUALITY_DRIFT, Alert.Scope.MODEL, "sim-mid", "probe_output_tokens"),
                "the same tasks now take more output tokens");
        ProbeMonitor.Series series = probes.series().get(0);
        assertEquals(60, series.runs().size());
        assertEquals(10, series.runs().stream().filter(ProbeMonitor.Run::reference).count());
        assertTrue(series.alarmed());

        probes.acknowledge("sim-mid", t, "accepted");
        assertNull(alerts.find(AlertType.QUALITY_DRIFT, Alert.Scope.MODEL, "sim-mid", "probe_pass_rate"));
        assertFalse(probes.series().get(0).reference().pinned(), "a new reference is gathered from the next runs");
    }

    @Test
    void raisesAtMostOneFalseAlarmAYearOnAStableModel() {
        int years = 20;
        long openings = 0;
        for (int y = 0; y < years; y++) {
            ProbeMonitor probes = new ProbeMonitor(new AlertBook(now::get, null), null, DriftSettings.DEFAULTS, 10,
                    Duration.ofHours(1));
            String model = "m" + y;
            for (int r = 0; r < 10 + 365 * 24; r++) {
                long start = r * HOUR;
                probes.record(model, start, run(model, start, 0.9, 60), 0);
            }
            openings += probes.openings();
        }
        assertTrue(openings <= years, openings + " false alarms in " + years + " model-years of hourly probes");
    }

    @Test
    void restoresTheSeriesFromTheLedgersTasksWithoutAlertingForThePast() {
        ProbeMonitor probes = monitor();
        List<TaskRow> rows = new ArrayList<>();
        for (int r = 0; r < 30; r++) {
            rows.addAll(run("sim-x", r * HOUR, r < 15 ? 0.95 : 0.4, 60));
        }
        probes.restore(rows);
        ProbeMonitor.Series s = probes.series().get(0);
        assertEquals(30, s.runs().size());
        assertTrue(s.reference().pinned());
        assertTrue(s.alarmed(), "the replayed tests carry on");
        assertTrue(alerts.list().isEmpty(), "the past raises no alert");
        now.set(31 * HOUR);
        probes.record("sim-x", 31 * HOUR, run("sim-x", 31 * HOUR, 0.4, 60), 0);
        assertNotNull(alerts.find(AlertType.QUALITY_DRIFT, Alert.Scope.MODEL, "sim-x", "probe_pass_rate"),
                "the next live run opens the alert of the state it inherited");
        assertEquals(-1, ProbeMonitor.runOf("eval-x"));
        assertEquals(31 * HOUR, ProbeMonitor.runOf(ProbeMonitor.taskId(31 * HOUR, "a/b", "t 1")));
    }
}
