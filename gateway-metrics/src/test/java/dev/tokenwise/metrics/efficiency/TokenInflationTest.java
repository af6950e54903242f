package dev.tokenwise.metrics.efficiency;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenwise.core.model.CallStatus;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.ModelPrice;
import dev.tokenwise.core.model.RecordFlag;
import dev.tokenwise.core.model.RequestFeature;
import dev.tokenwise.core.model.TokenUsage;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.metrics.ledger.AuditStore;
import dev.tokenwise.metrics.ledger.SqliteLedger;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenInflationTest {
    private static final long HOUR = 3_600_000L;
    private static final long DAY = 24 * HOUR;
    /** 2026-03-01T00:00:00Z: the end of every generated series. */
    private static final long NOW = 1_772_323_200_000L;
    /** $2.50 per million input tokens, $10 output. */
    private static final ModelPrice PRICE = ModelPrice.of(2_500_000_000L, 10_000_000_000L);

    private final AlertBook alerts = new AlertBook(() -> NOW, null);
    private int ids;

    private UsageRecord call(String model, String team, long atMillis, long inputTokens, long textBytes, int features,
                             int flags) {
        return UsageRecord.builder().id("r" + ids++).team(team).keyId(team + "1").model(model).provider("p")
                .endpoint(Endpoint.CHAT_COMPLETIONS).status(CallStatus.OK).httpStatus(200)
                .usage(new TokenUsage(inputTokens, 0, 0, 20, 0)).usageFromProvider(true).localInputTokens(inputTokens)
                .localOutputTokens(20).localEstimated(true).costNanos(1).finishReason("stop")
                .createdAtMillis(atMillis).latencyMicros(1).upstreamLatencyMicros(1).requestedModel(model)
                .flags(flags).requestFeatures(features).inputTextBytes(textBytes).build();
    }

    /**
     * A generated series: {@code callsPerHour} calls an hour for {@code days} days up to {@link #NOW}; prompts of
     * log-normal size (median about 2 KB), each with its own tokens per byte (about 0.25 ± 10 %: prose, code and
     * numbers mixed), times {@code inflation} in the last {@code inflatedHours}.
     */
    private void series(TokenInflation inflation, String model, Random random, int days, int callsPerHour,
                        double inflation0, int inflatedHours) {
        for (long hour = NOW - days * DAY; hour < NOW; hour += HOUR) {
            double factor = hour >= NOW - inflatedHours * HOUR ? inflation0 : 1.0;
            for (int i = 0; i < callsPerHour; i++) {
                long bytes = Math.max(20, Math.round(Math.exp(7.6 + random.nextGaussian() * 0.8)));
                double perByte = 0.25 * (1 + random.nextGaussian() * 0.1);
                long tokens = Math.max(1, Math.round(bytes * perByte * factor));
                inflation.observe(call(model, i % 3 == 0 ? "b" : "a", hour + i * (HOUR / callsPerHour), tokens, bytes,
                        0, 0));
            }
        }
    }

    private TokenInflation inflation(InflationSettings settings, TokenInflation.TeamTraffic traffic) {
        return new TokenInflation(alerts, settings, model -> Optional.of(PRICE), traffic, () -> NOW);
    }

    @Test
    void detectsInflationInAGeneratedSeriesWithBeforeAfterAndDollarsAMonthPerTeam() {
        // Team a sent 12M input tokens over the last 30 days ($30 at $2.50/M); team b 4M ($10) over the last 10 days.
        TokenInflation.TeamTraffic traffic = (model, from, to) -> List.of(
                new AuditStore.TeamInput("a", 9_000, 12_000_000, 0, 0, to - 30 * DAY),
                new AuditStore.TeamInput("b", 3_000, 4_000_000, 0, 0, to - 10 * DAY));
        TokenInflation inflation = inflation(InflationSettings.DEFAULTS, traffic);
        series(inflation, "claude-next", new Random(1), 8, 40, 1.35, 24);

        inflation.check(NOW);

        TokenInflation.Shift s = inflation.shift("claude-next", NOW).orElseThrow();
        assertEquals(250, s.baselinePerKb(), 3);
        assertEquals(250 * 1.35, s.recentPerKb(), 5);
        assertEquals(7 * 24 * 40, s.baselineCalls());
        assertEquals(24 * 40, s.recentCalls());
        Alert model = alerts.find(AlertType.TOKEN_INFLATION, Alert.Scope.MODEL, "claude-next", "input_tokens_per_kb");
        assertNotNull(model, alerts.list().toString());
        assertEquals(s.recentPerKb(), model.value(), 1e-9);
        assertTrue(model.message().startsWith(String.format(java.util.Locale.ROOT,
                "claude-next bills %.1f%% more input tokens for the same prompt text: %.1f → %.1f tokens per 1,000 bytes "
                        + "(baseline: 7 days before, 6720 calls; the last 24 h, 960 calls; p < 1e-16)", s.change() * 100,
                s.baselinePerKb(), s.recentPerKb())), model.message());

        // Team a: $30 a month of input, times the change. Team b: $10 in 10 days is $30 a month.
        long aExtra = Math.round(30_000_000_000L * s.change());
        Alert a = alerts.find(AlertType.TOKEN_INFLATION, Alert.Scope.TEAM, "a", "input_tokens_per_kb:claude-next");
        assertNotNull(a);
        assertTrue(a.message().endsWith("For team a, its input (12,000,000 tokens in the last 30 days, $30.00 a month) "
                + "costs about " + TokenInflation.dollars(aExtra) + " a month more."), a.message());
        assertEquals(aExtra / 1e9, a.value(), 1e-9);
        Alert b = alerts.find(AlertType.TOKEN_INFLATION, Alert.Scope.TEAM, "b", "input_tokens_per_kb:claude-next");
        assertTrue(b.message().contains("(4,000,000 tokens in the last 10 days, $30.00 a month)"), b.message());
        assertTrue(model.message().endsWith("p < 1e-16): what it costs each team a month is in that team's "
                + "token_inflation alert."), model.message());
        assertTrue(!model.message().contains("$"), "every team sees the model's alert: no team's spend in it");
        assertEquals("b", alerts.list().stream().filter(x -> x.scope() == Alert.Scope.TEAM && x.team().equals("b"))
                .findFirst().orElseThrow().team(), "a team's alert belongs to that team");
    }

    @Test
    void detectsATenPercentInflationAfterADay() {
        TokenInflation inflation = inflation(InflationSettings.DEFAULTS, null);
        series(inflation, "m", new Random(2), 8, 40, 1.10, 24);
        inflation.check(NOW);
        assertNotNull(alerts.find(AlertType.TOKEN_INFLATION, Alert.Scope.MODEL, "m", "input_tokens_per_kb"),
                inflation.shift("m", NOW).toString());
    }

    @Test
    void staysQuietOnAStableSeries() {
        TokenInflation inflation = inflation(InflationSettings.DEFAULTS, null);
        series(inflation, "m", new Random(3), 15, 40, 1.0, 0);
        // Checked every 15 minutes over the last week, as the gateway does.
        for (long at = NOW - 7 * DAY; at <= NOW; at += 15 * 60_000L) {
            inflation.check(at);
            assertTrue(alerts.list().isEmpty(), () -> "false alarm: " + alerts.list());
        }
        assertEquals(0, alerts.openedCount(AlertType.TOKEN_INFLATION));
    }

    @Test
    void closesOnceTheNewLevelIsTheBaseline() {
        TokenInflation inflation = inflation(InflationSettings.DEFAULTS, null);
        series(inflation, "m", new Random(4), 8, 20, 1.2, 24);
        inflation.check(NOW);
        assertNotNull(alerts.find(AlertType.TOKEN_INFLATION, Alert.Scope.MODEL, "m", "input_tokens_per_kb"));
        inflation.check(NOW + 30 * DAY); // nothing left in either window
        assertTrue(alerts.list().isEmpty(), alerts.list().toString());
    }

    /**
     * The test statistic is calibrated: on stable series its p-values are uniform, so a check with {@code maxPValue}
     * raises a false alarm with probability {@code maxPValue} (without the floor on the change).
     */
    @Test
    void aCheckOnStableTrafficRaisesAFalseAlarmWithTheProbabilityOfItsPValueThreshold() {
        InflationSettings loose = new InflationSettings(Duration.ofDays(2), Duration.ofHours(12), 100, 0, 0.1,
                Duration.ofDays(30));
        TokenInflation inflation = inflation(loose, null);
        Random random = new Random(5);
        int series = 400;
        for (int m = 0; m < series; m++) {
            series(inflation, "m" + m, random, 3, 10, 1.0, 0);
        }
        inflation.check(NOW);
        long alarms = alerts.list().size();
        // Binomial(400, 0.1): mean 40, standard deviation 6; this range holds with probability above 0.999.
        assertTrue(alarms >= 20 && alarms <= 60, "alarms at p < 0.1: " + alarms + " of " + series);
        long strict = 0;
        for (int m = 0; m < series; m++) {
            if (inflation.shift("m" + m, NOW).orElseThrow().p() < 0.01) {
                strict++;
            }
        }
        assertTrue(strict <= 12, "at p < 0.01: " + strict + " of " + series + " (expected about 4)");
    }

    @Test
    void leavesOutMediaAndStoredContextAndCallsWithoutTextBytes() {
        TokenInflation inflation = inflation(InflationSettings.DEFAULTS, null);
        inflation.observe(call("m", "a", NOW - HOUR, 1000, 100, RequestFeature.IMAGES.bit(), 0));
        inflation.observe(call("m", "a", NOW - HOUR, 1000, 100, RequestFeature.AUDIO.bit(), 0));
        inflation.observe(call("m", "a", NOW - HOUR, 1000, 100, 0, RecordFlag.STORED_CONTEXT.bit()));
        inflation.observe(call("m", "a", NOW - HOUR, 1000, 0, 0, 0));
        assertTrue(inflation.shift("m", NOW).isEmpty());
        inflation.observe(call("m", "a", NOW - HOUR, 1000, 4000, RequestFeature.TOOLS.bit(), 0));
        assertEquals(250, inflation.shift("m", NOW).orElseThrow().recentPerKb(), 1e-9);
    }

    @Test
    void keepsItsBucketsAcrossARestart(@TempDir Path dir) {
        Path file = dir.resolve("ledger.db");
        Random random = new Random(6);
        AlertBook first = new AlertBook(() -> NOW, null);
        try (SqliteLedger ledger = SqliteLedger.open(file, SqliteLedger.Sync.NORMAL)) {
            TokenInflation inflation = new TokenInflation(first, InflationSettings.DEFAULTS, null, null, () -> NOW);
            BillingAudit audit = new BillingAudit(model -> false, first, EfficiencySettings.DEFAULTS, inflation);
            audit.restore(ledger.audit());
            // A week before the restart...
            for (long hour = NOW - 8 * DAY; hour < NOW - DAY; hour += HOUR) {
                for (int i = 0; i < 20; i++) {
                    long bytes = 1000 + random.nextInt(3000);
                    audit.observe(call("m", "a", hour + i, Math.round(bytes * 0.25), bytes, 0, 0));
                }
            }
            audit.save();
            audit.observe(call("m", "a", NOW - DAY - HOUR, 100, 400, 0, 0)); // saved when the ledger closes
        }
        AlertBook second = new AlertBook(() -> NOW, null);
        try (SqliteLedger ledger = SqliteLedger.open(file, SqliteLedger.Sync.NORMAL)) {
            TokenInflation inflation = new TokenInflation(second, InflationSettings.DEFAULTS, null, null, () -> NOW);
            BillingAudit audit = new BillingAudit(model -> false, second, EfficiencySettings.DEFAULTS, inflation);
            audit.restore(ledger.audit());
            assertEquals(7 * 24 * 20 + 1, inflation.shift("m", NOW).orElseThrow().baselineCalls());
            // ...and a day after it, inflated: found against the baseline from before the restart.
            for (long hour = NOW - DAY; hour < NOW; hour += HOUR) {
                for (int i = 0; i < 20; i++) {
                    long bytes = 1000 + random.nextInt(3000);
                    audit.observe(call("m", "a", hour + i, Math.round(bytes * 0.25 * 1.3), bytes, 0, 0));
                }
            }
            inflation.check(NOW);
            assertNotNull(second.find(AlertType.TOKEN_INFLATION, Alert.Scope.MODEL, "m", "input_tokens_per_kb"));
        }
        assertNull(first.find(AlertType.TOKEN_INFLATION, Alert.Scope.MODEL, "m", "input_tokens_per_kb"));
    }
}
