package dev.tokenwise.metrics.efficiency;

import static dev.tokenwise.metrics.ledger.TaskFixture.call;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenwise.core.model.ModelPrice;
import dev.tokenwise.core.spi.PriceCatalog;
import dev.tokenwise.metrics.ledger.DriftReference;
import dev.tokenwise.metrics.ledger.SqliteLedger;
import dev.tokenwise.metrics.ledger.TaskLedger;
import dev.tokenwise.metrics.ledger.TaskOutcome;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The drift detector over a real ledger: gathering and pinning, alerts, restarts, acknowledgement, prices. */
class DriftDetectorTest {
    private static final String MODEL = "sim-large";
    private static final long DAY = TaskLedger.DAY_MILLIS;
    private static final long DAY0 = Instant.parse("2026-10-01T00:00:00Z").toEpochMilli() / DAY;
    private static final int TASKS_PER_DAY = 60;

    @TempDir
    Path dir;
    private SqliteLedger ledger;
    private final AtomicLong now = new AtomicLong();
    private final AlertBook alerts = new AlertBook(now::get, null);
    private final SplittableRandom random = new SplittableRandom(2026);
    private long nanosPerTokenListed = 2;
    private int ids;

    @BeforeEach
    void open() {
        ledger = SqliteLedger.open(dir.resolve("ledger.db"), SqliteLedger.Sync.NORMAL);
    }

    @AfterEach
    void close() {
        ledger.close();
    }

    private final PriceCatalog prices = model -> MODEL.equals(model)
            ? Optional.of(ModelPrice.of(nanosPerTokenListed * 1_000_000, nanosPerTokenListed * 1_000_000))
            : Optional.empty();

    /** Days {@code [from, to)} after DAY0 of tasks with this success rate, output length and price per token. */
    private void days(int from, int to, double success, int output, long nanosPerToken) {
        for (int d = from; d < to; d++) {
            for (int i = 0; i < TASKS_PER_DAY; i++) {
                String task = "t" + ids++;
                long at = (DAY0 + d) * DAY + (long) (random.nextDouble() * (DAY - 60_000));
                long out = Math.max(1, Math.round(output * Math.exp(0.3 * random.nextGaussian())));
                ledger.accept(call(task, "a", "a1", MODEL, task, 1, 5, 200, out, (200 + out) * nanosPerToken / 1e6,
                        "stop", at));
                ledger.tasks().saveOutcome(new TaskOutcome("a", task, "a1", random.nextDouble() < success, null, null, at));
            }
        }
        assertTrue(ledger.flush(Duration.ofSeconds(30)));
    }

    /** Checks every six hours from the start of day {@code from} to the start of day {@code to}. */
    private void checks(DriftDetector detector, int from, int to) {
        for (long t = (DAY0 + from) * DAY; t <= (DAY0 + to) * DAY; t += DAY / 4) {
            now.set(t);
            detector.check(t);
        }
    }

    private DriftDetector detector() {
        return new DriftDetector(ledger.tasks(), alerts, prices, DriftSettings.DEFAULTS);
    }

    private Alert alert(AlertType type, String metric) {
        return alerts.find(type, Alert.Scope.MODEL, MODEL, metric);
    }

    private DriftReference reference(DriftDetector detector) {
        return detector.state().stream().filter(s -> s.model().equals(MODEL)).findFirst().orElseThrow().reference();
    }

    @Test
    void gathersFourWeeksThenPinsTheReferenceAndKeepsItAcrossARestart() {
        days(0, 27, 0.85, 300, 2);
        DriftDetector detector = detector();
        checks(detector, 26, 27);
        assertFalse(reference(detector).pinned(), "27 days are not a full reference yet");
        days(27, 29, 0.85, 300, 2);
        checks(detector, 28, 29);
        DriftReference pinned = reference(detector);
        assertTrue(pinned.pinned());
        assertEquals(DAY0 * DAY, pinned.fromMillis(), "pinned at the first check with 28 whole days");
        assertEquals((DAY0 + 28) * DAY, pinned.toMillis());

        DriftDetector restarted = detector();
        now.set((DAY0 + 29) * DAY + DAY / 2);
        restarted.check(now.get());
        assertEquals(pinned, reference(restarted), "read back from the ledger");
        assertEquals(TASKS_PER_DAY * 28, restarted.state().get(0).referenceTasks());
    }

    @Test
    void raisesALastingDropAndKeepsItOpenUntilAcknowledged() {
        days(0, 29, 0.85, 300, 2);
        DriftDetector detector = detector();
        checks(detector, 28, 29);
        days(29, 40, 0.55, 300, 2);
        checks(detector, 29, 33);
        Alert open = alert(AlertType.QUALITY_DRIFT, "success_rate");
        assertNotNull(open, alerts.list().toString());
        assertEquals("traffic", open.source());
        assertTrue(open.message().startsWith("sim-large: success rate 8"), open.message());
        assertTrue(open.value() < 0.7, open.toString());
        checks(detector, 33, 40);
        assertNotNull(alert(AlertType.QUALITY_DRIFT, "success_rate"), "a pinned reference does not absorb the change");
        assertEquals(open.sinceMillis(), alert(AlertType.QUALITY_DRIFT, "success_rate").sinceMillis(), "opened once");

        DriftReference ack = detector.acknowledge(MODEL, (DAY0 + 29) * DAY, now.get(), "acknowledged by a test");
        assertNull(alert(AlertType.QUALITY_DRIFT, "success_rate"), "acknowledging closes the model's alerts");
        assertFalse(ack.pinned());
        assertEquals((DAY0 + 29) * DAY, ack.fromMillis());
        days(40, 58, 0.55, 300, 2);
        checks(detector, 57, 58);
        assertTrue(reference(detector).pinned(), "the new reference: the 28 days since the change");
        checks(detector, 58, 58);
        assertNull(alert(AlertType.QUALITY_DRIFT, "success_rate"), "the new behaviour is the new normal");
    }

    @Test
    void tellsAListPriceChangeFromAnEffectivePriceRise() {
        days(0, 29, 0.85, 300, 2);
        DriftDetector detector = detector();
        checks(detector, 28, 29);
        nanosPerTokenListed = 4; // the list price doubled, and the calls cost twice as much
        days(29, 34, 0.85, 300, 4);
        checks(detector, 29, 34);
        assertNull(alert(AlertType.EFFECTIVE_PRICE_DRIFT, "cost_per_task"), alerts.list().toString());
        assertTrue(detector.lastFindings().stream().anyMatch(f -> f.metric().equals("cost_per_task")
                && f.statistic() > f.limit()), "the cost did rise");
        assertNull(alert(AlertType.QUALITY_DRIFT, "tokens_per_task"));
    }

    @Test
    void raisesAnEffectivePriceRiseWhenTheSameTokensPriceStaysPut() {
        days(0, 29, 0.85, 300, 2);
        DriftDetector detector = detector();
        checks(detector, 28, 29);
        days(29, 34, 0.85, 900, 2); // three times the output at the same price per token
        checks(detector, 29, 34);
        assertNotNull(alert(AlertType.EFFECTIVE_PRICE_DRIFT, "cost_per_task"), alerts.list().toString());
        assertNotNull(alert(AlertType.QUALITY_DRIFT, "output_tokens_up"));
        assertNull(alert(AlertType.QUALITY_DRIFT, "success_rate"));
    }
}
