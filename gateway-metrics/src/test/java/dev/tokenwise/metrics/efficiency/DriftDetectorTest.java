package dev.tokenwise.metrics.efficiency;

import static dev.tokenwise.metrics.ledger.TaskFixture.call;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenwise.core.model.ModelPrice;
import dev.tokenwise.core.spi.PriceCatalog;
import dev.tokenwise.metrics.ledger.SqliteLedger;
import dev.tokenwise.metrics.ledger.TaskLedger;
import dev.tokenwise.metrics.ledger.TaskOutcome;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Generated histories: 14 baseline days and 3 recent days of tasks of one model, each day with its own
 * success rate, output length, retries and price. Success counts are exact (floor of n × rate over the
 * window); output lengths are normal with a fixed seed.
 */
class DriftDetectorTest {
    private static final String MODEL = "sim-large";
    private static final long DAY = TaskLedger.DAY_MILLIS;
    private static final long TODAY = Instant.parse("2026-11-28T00:00:00Z").toEpochMilli() / DAY;
    private static final long NOW = TODAY * DAY + 12 * 3_600_000L;
    /** 2 nano-USD per token ($2 per million), input and output alike. */
    private static final long NANOS_PER_TOKEN = 2;

    @TempDir
    Path dir;
    private SqliteLedger ledger;
    private final AlertBook alerts = new AlertBook(() -> NOW, null);
    private final Random random = new Random(2026);
    private int ids;
    private long successes;
    private long tasksSoFar;

    /** One day of generated tasks. */
    private record Day(int tasks, double successRate, double outputMean, double outputSd, double retryRate,
                       long nanosPerToken) {
        static Day normal(int tasks) {
            return new Day(tasks, 0.9, 300, 60, 0.1, NANOS_PER_TOKEN);
        }

        Day success(double rate) {
            return new Day(tasks, rate, outputMean, outputSd, retryRate, nanosPerToken);
        }

        Day output(double mean, double sd) {
            return new Day(tasks, successRate, mean, sd, retryRate, nanosPerToken);
        }

        Day price(long nanos) {
            return new Day(tasks, successRate, outputMean, outputSd, retryRate, nanos);
        }
    }

    @BeforeEach
    void open() {
        ledger = SqliteLedger.open(dir.resolve("ledger.db"), SqliteLedger.Sync.NORMAL);
    }

    @AfterEach
    void close() {
        ledger.close();
    }

    /** Writes the days from {@code fromDaysAgo} to {@code toDaysAgo} days before today (0: today, -1: tomorrow). */
    private void days(int fromDaysAgo, int toDaysAgo, Day day) {
        for (int ago = fromDaysAgo; ago >= toDaysAgo; ago--) {
            long start = (TODAY - ago) * DAY + 3_600_000;
            for (int i = 0; i < day.tasks(); i++) {
                String task = "t" + ids++;
                long at = start + i * 60_000L;
                long output = Math.max(1, Math.round(day.outputMean() + random.nextGaussian() * day.outputSd()));
                double milliUsd = (200 + output) * day.nanosPerToken() / 1e6;
                boolean retry = i < Math.round(day.retryRate() * day.tasks());
                if (retry) {
                    ledger.accept(call(task + "-0", "a", "a1", MODEL, task, 1, 5, 200, output, milliUsd, "stop", at - 1_000));
                }
                ledger.accept(call(task + "-1", "a", "a1", MODEL, task, 1, 5, 200, output, milliUsd, "stop", at));
                // exact success counts: floor(n × rate) over the run of tasks with this rate
                tasksSoFar++;
                boolean success = Math.floor(tasksSoFar * day.successRate() + 1e-9) > successes;
                if (success) {
                    successes++;
                }
                ledger.tasks().saveOutcome(new TaskOutcome("a", task, "a1", success, null, null, at));
            }
        }
        assertTrue(ledger.flush(Duration.ofSeconds(30)));
    }

    /** Resets the success run so that the next window's count is exactly floor(n × rate). */
    private void newWindow() {
        successes = 0;
        tasksSoFar = 0;
    }

    private DriftDetector detector(DriftSettings settings, PriceCatalog prices) {
        return new DriftDetector(ledger.tasks(), alerts, prices, settings);
    }

    private static PriceCatalog price(long nanosPerToken) {
        return model -> MODEL.equals(model)
                ? Optional.of(ModelPrice.of(nanosPerToken * 1_000_000, nanosPerToken * 1_000_000)) : Optional.empty();
    }

    private static Map<String, DriftFinding> byMetric(List<DriftFinding> findings) {
        return findings.stream().collect(Collectors.toMap(DriftFinding::metric, f -> f));
    }

    @Test
    void flagsARealDropInSuccessRate() {
        days(16, 3, Day.normal(40));
        newWindow();
        days(2, 0, Day.normal(40).success(0.7));
        Map<String, DriftFinding> f = byMetric(detector(DriftSettings.DEFAULTS, price(NANOS_PER_TOKEN)).check(NOW));

        DriftFinding success = f.get("success_rate");
        assertEquals(504.0 / 560, success.baseline(), 1e-12);
        assertEquals(84.0 / 120, success.recent(), 1e-12);
        assertEquals(560, success.baselineSamples());
        assertEquals(120, success.recentSamples());
        assertTrue(success.tested());
        assertTrue(success.pValue() < 1e-6, "p = " + success.pValue());
        assertTrue(success.flagged());
        assertFalse(f.get("mean_output_tokens").flagged(), f.get("mean_output_tokens").message());
        assertFalse(f.get("retry_rate").flagged());
        assertFalse(f.get("truncation_rate").flagged());
        // Fewer successes for the same tokens: tokens and cost per success rise by 0.9 / 0.7 - 1 = 29 %.
        assertTrue(f.get("tokens_per_success").flagged());
        assertTrue(f.get("cost_per_success").flagged(), f.get("cost_per_success").message());

        Alert alert = alerts.find(AlertType.QUALITY_DRIFT, Alert.Scope.MODEL, MODEL, "success_rate");
        assertNotNull(alert);
        assertEquals(0.7, alert.value(), 1e-12);
        assertEquals(0.9 - 0.05, alert.threshold(), 1e-12);
        assertTrue(alert.message().contains("success rate 90.0% → 70.0%"), alert.message());
        assertTrue(alert.message().contains("14-day baseline, 560 tasks; last 3 days, 120 tasks"), alert.message());
        assertNotNull(alerts.find(AlertType.EFFECTIVE_PRICE_DRIFT, Alert.Scope.MODEL, MODEL, "cost_per_success"));
    }

    @Test
    void doesNotFlagTheSameDropOnFewTasks() {
        DriftSettings fewSamples = new DriftSettings(14, 3, 0.05, 0.15, 0.01, 5, 5, 0.01);
        days(16, 3, Day.normal(4));
        newWindow();
        days(2, 0, Day.normal(4).success(0.7));
        Map<String, DriftFinding> f = byMetric(detector(fewSamples, price(NANOS_PER_TOKEN)).check(NOW));

        DriftFinding success = f.get("success_rate");
        assertEquals(50.0 / 56, success.baseline(), 1e-12);
        assertEquals(8.0 / 12, success.recent(), 1e-12);
        assertTrue(success.tested());
        assertTrue(success.baseline() - success.recent() > 0.2, "a drop as large as the real one");
        assertTrue(success.pValue() > 0.01, "p = " + success.pValue());
        assertFalse(success.flagged());
        assertTrue(alerts.list().stream().noneMatch(a -> a.metric().equals("success_rate")), alerts.list().toString());
    }

    @Test
    void doesNotTestWindowsWithTooFewSamples() {
        days(16, 3, Day.normal(4));
        newWindow();
        days(2, 0, Day.normal(4).success(0.2));
        Map<String, DriftFinding> f = byMetric(detector(DriftSettings.DEFAULTS, null).check(NOW));
        assertFalse(f.get("success_rate").tested());
        assertFalse(f.get("success_rate").flagged());
        assertTrue(f.get("success_rate").message().contains("too few samples"), f.get("success_rate").message());
        assertTrue(alerts.list().isEmpty());
    }

    @Test
    void flagsLongerOutputsWithWelchsTestButNotTheSameShiftOnAFewNoisyCalls() {
        days(16, 3, Day.normal(40));
        newWindow();
        days(2, 0, Day.normal(40).output(400, 60));
        Map<String, DriftFinding> f = byMetric(detector(DriftSettings.DEFAULTS, price(NANOS_PER_TOKEN)).check(NOW));
        DriftFinding output = f.get("mean_output_tokens");
        assertEquals(400, output.recent(), 15);
        assertTrue(output.flagged(), output.message());
        assertFalse(f.get("success_rate").flagged());
        // 500 → 600 tokens per task (+20 %) at the same price: an effective price rise, and more tokens per success.
        assertTrue(f.get("tokens_per_success").flagged(), f.get("tokens_per_success").message());
        DriftFinding cost = f.get("cost_per_success");
        assertTrue(cost.flagged(), cost.message());
        assertTrue(cost.message().contains("per-token prices unchanged"), cost.message());
        assertNotNull(alerts.find(AlertType.QUALITY_DRIFT, Alert.Scope.MODEL, MODEL, "mean_output_tokens"));
        assertNotNull(alerts.find(AlertType.EFFECTIVE_PRICE_DRIFT, Alert.Scope.MODEL, MODEL, "cost_per_success"));
    }

    @Test
    void doesNotFlagAnOutputShiftOnAFewNoisyCalls() {
        DriftSettings fewSamples = new DriftSettings(14, 3, 0.05, 0.15, 0.01, 5, 5, 0.01);
        days(16, 3, Day.normal(2).output(300, 150));
        newWindow();
        days(2, 0, Day.normal(2).output(400, 150));
        DriftFinding output = byMetric(detector(fewSamples, null).check(NOW)).get("mean_output_tokens");
        assertTrue(output.tested());
        assertTrue(output.pValue() > 0.01, output.message());
        assertFalse(output.flagged());
    }

    @Test
    void doesNotCallAPriceListChangeAnEffectivePriceDrift() {
        days(16, 3, Day.normal(40));
        newWindow();
        days(2, 0, Day.normal(40).price(2 * NANOS_PER_TOKEN)); // the list price doubled
        Map<String, DriftFinding> f = byMetric(detector(DriftSettings.DEFAULTS, price(2 * NANOS_PER_TOKEN)).check(NOW));
        DriftFinding cost = f.get("cost_per_success");
        assertEquals(2.0, cost.recent() / cost.baseline(), 0.1);
        assertFalse(cost.flagged(), cost.message());
        assertTrue(cost.message().contains("per-token prices changed (price index 0.5000 → 1.0000)"), cost.message());
        assertTrue(f.values().stream().noneMatch(DriftFinding::flagged), f.toString());
        assertTrue(alerts.list().isEmpty());
    }

    @Test
    void leavesEffectivePriceDriftOutWithoutAListPrice() {
        days(16, 3, Day.normal(40));
        newWindow();
        days(2, 0, Day.normal(40).output(600, 60));
        DriftFinding cost = byMetric(detector(DriftSettings.DEFAULTS, null).check(NOW)).get("cost_per_success");
        assertFalse(cost.flagged());
        assertTrue(cost.message().contains("no list price"), cost.message());
        assertNull(alerts.find(AlertType.EFFECTIVE_PRICE_DRIFT, Alert.Scope.MODEL, MODEL, "cost_per_success"));
    }

    @Test
    void closesItsAlertsWhenTheRecentWindowRecovers() {
        days(16, 3, Day.normal(40));
        newWindow();
        days(2, 0, Day.normal(40).success(0.6));
        DriftDetector detector = detector(DriftSettings.DEFAULTS, price(NANOS_PER_TOKEN));
        detector.check(NOW);
        assertNotNull(alerts.find(AlertType.QUALITY_DRIFT, Alert.Scope.MODEL, MODEL, "success_rate"));
        newWindow();
        days(-1, -3, Day.normal(40)); // three good days after today
        detector.check(NOW + 3 * DAY);
        assertNull(alerts.find(AlertType.QUALITY_DRIFT, Alert.Scope.MODEL, MODEL, "success_rate"));
        assertNull(alerts.find(AlertType.EFFECTIVE_PRICE_DRIFT, Alert.Scope.MODEL, MODEL, "cost_per_success"));
        assertEquals(6, detector.lastFindings().size());
    }

    @Test
    void flagsARiseInRetries() {
        days(16, 3, Day.normal(40));
        newWindow();
        days(2, 0, new Day(40, 0.9, 300, 60, 0.5, NANOS_PER_TOKEN));
        DriftFinding retries = byMetric(detector(DriftSettings.DEFAULTS, null).check(NOW)).get("retry_rate");
        // baseline: 10 % of tasks have a second identical call: 56 retries in 616 calls
        assertEquals(56.0 / 616, retries.baseline(), 1e-12);
        assertTrue(retries.flagged(), retries.message());
    }
}
