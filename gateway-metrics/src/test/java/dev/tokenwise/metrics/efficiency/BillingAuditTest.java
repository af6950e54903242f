package dev.tokenwise.metrics.efficiency;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenwise.core.model.CallStatus;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.RequestFeature;
import dev.tokenwise.core.model.TokenUsage;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.metrics.ledger.SqliteLedger;
import java.nio.file.Path;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BillingAuditTest {
    private static final String EXACT = "gpt-4o-mini";
    private static final String INEXACT = "claude-like";
    private static final int TOOLS = RequestFeature.TOOLS.bit();
    private static final int SYSTEM = RequestFeature.SYSTEM_PROMPT.bit();
    private static final int IMAGES = RequestFeature.IMAGES.bit();

    private final AlertBook alerts = new AlertBook(() -> 1_000, null);
    private final BillingAudit audit = new BillingAudit(Set.of(EXACT, "gpt-3.5-turbo", "gpt-4o")::contains, alerts,
            EfficiencySettings.DEFAULTS);
    private int ids;

    private UsageRecord call(String model, long providerIn, long localIn, long providerOut, long reasoning,
                             long localOut, boolean estimated, String finish, int features, long rejected) {
        return UsageRecord.builder().id("r" + ids++).team("a").keyId("a1").model(model).provider("openai")
                .endpoint(Endpoint.CHAT_COMPLETIONS).status(CallStatus.OK).httpStatus(200)
                .usage(new TokenUsage(providerIn, 0, 0, providerOut, reasoning)).usageFromProvider(true)
                .localInputTokens(localIn).localOutputTokens(localOut).localEstimated(estimated).costNanos(1)
                .finishReason(finish).latencyMicros(1).upstreamLatencyMicros(1).requestedModel(model)
                .requestFeatures(features).inputTextBytes(localIn * 4).rejectedPredictionTokens(rejected).build();
    }

    private UsageRecord call(String model, long providerIn, long localIn, long providerOut, long reasoning,
                             long localOut, boolean estimated, String finish) {
        return call(model, providerIn, localIn, providerOut, reasoning, localOut, estimated, finish, 0, 0);
    }

    private Alert discrepancy(String model, String metric) {
        return alerts.find(AlertType.BILLING_DISCREPANCY, Alert.Scope.MODEL, model, metric);
    }

    /**
     * Tool-calling calls whose local count the published examples prove ({@code FunctionDefinitionsTest} in
     * gateway-providers counts them): the {@code usage.prompt_tokens} gpt-3.5-turbo returned for the examples of the
     * openai-chat-tokens project (hmarr/openai-chat-tokens, tests/token-counts.test.ts: 31, 36, 49, 57, 68, 106 with
     * functions only; 35, 35, 40 with a system message) and for the OpenAI Cookbook's tool example ("How to count
     * tokens with tiktoken", section 7: 105, with a system message). The gateway counts exactly these numbers.
     */
    private static final long[][] TOOL_FIXTURES = {
            {31, TOOLS}, {36, TOOLS}, {49, TOOLS}, {57, TOOLS}, {68, TOOLS}, {106, TOOLS},
            {35, TOOLS | SYSTEM}, {35, TOOLS | SYSTEM}, {40, TOOLS | SYSTEM}, {105, TOOLS | SYSTEM}};

    @Test
    void showsNoFalseAlarmOnTheToolCallingFixturesAndCatchesATwoPercentInflation() {
        for (int i = 0; i < 300; i++) {
            long[] f = TOOL_FIXTURES[i % TOOL_FIXTURES.length];
            // The answer is a tool call: its arguments are not in the counted text, so no output sample.
            audit.observe(call("gpt-3.5-turbo", f[0], f[0], 22, 0, 0, false, "tool_calls", (int) f[1], 0));
        }
        assertTrue(alerts.list().isEmpty(), "the provider billed what the gateway counted: " + alerts.list());
        BillingAudit.Group tools = audit.group("gpt-3.5-turbo", "input", TOOLS, true).orElseThrow();
        assertEquals(180, tools.calls());
        assertEquals(0, tools.differing());

        // The provider now bills 2 % more for the same requests: found within a few dozen calls.
        for (int i = 0; i < 60; i++) {
            long[] f = TOOL_FIXTURES[i % TOOL_FIXTURES.length];
            audit.observe(call("gpt-3.5-turbo", Math.round(f[0] * 1.02), f[0], 22, 0, 0, false, "tool_calls",
                    (int) f[1], 0));
        }
        Alert alert = discrepancy("gpt-3.5-turbo", "input_tokens:tools");
        assertNotNull(alert, alerts.list().toString());
        assertTrue(alert.message().contains("on calls with tools the provider billed more input tokens"), alert.message());
        assertTrue(alert.message().contains("by a median of +1 tokens"), alert.message());
        assertTrue(alert.message().contains("none should"), alert.message());
        assertNotNull(discrepancy("gpt-3.5-turbo", "input_tokens:tools+system_prompt"));
    }

    @Test
    void reportsAConstantOffsetOfAnUnmodelledFeatureOnceAndNamesTheFeature() {
        for (int i = 0; i < 400; i++) {
            long local = 500 + i % 50;
            audit.observe(call(EXACT, local, local, 11, 0, 10, false, "stop", SYSTEM, 0));
            audit.observe(call(EXACT, local + 7, local, 11, 0, 10, false, "stop", TOOLS | SYSTEM, 0));
        }
        Alert alert = discrepancy(EXACT, "input_tokens:tools+system_prompt");
        assertNotNull(alert);
        assertEquals(1, alerts.openedCount(AlertType.BILLING_DISCREPANCY), "one finding, not one per call");
        assertEquals(1, alerts.list().size(), alerts.list().toString());
        assertTrue(alert.message().contains("median +7 tokens"), alert.message());
        assertTrue(alert.message().contains("; 100.0% of the last"), alert.message());
        assertTrue(alert.message().contains("Likely cause: tools (calls with system prompt match)"), alert.message());
        assertEquals(1.0, alert.value(), 1e-12, "the share of calls that differ");

        String first = alert.message();
        for (int i = 0; i < 500; i++) {
            audit.observe(call(EXACT, 607, 600, 11, 0, 10, false, "stop", TOOLS | SYSTEM, 0));
        }
        assertEquals(first, discrepancy(EXACT, "input_tokens:tools+system_prompt").message(),
                "the same offset is the same finding: not reported again");
        assertEquals(1, alerts.openedCount(AlertType.BILLING_DISCREPANCY));
    }

    @Test
    void reportsTheFindingAgainWhenItsMedianMovesAsMuchAgain() {
        for (int i = 0; i < 100; i++) {
            audit.observe(call(EXACT, 1030, 1000, 11, 0, 10, false, "stop"));
        }
        String first = discrepancy(EXACT, "input_tokens").message();
        assertTrue(first.contains("+3.00%"), first);
        for (int i = 0; i < 1000; i++) {
            audit.observe(call(EXACT, 1060, 1000, 11, 0, 10, false, "stop"));
        }
        String second = discrepancy(EXACT, "input_tokens").message();
        assertTrue(second.contains("+6.00%"), second);
        assertTrue(second.contains("Plain text differs"), second);
    }

    @Test
    void staysQuietWhenAFewCallsDiffer() {
        Random random = new Random(7);
        for (int i = 0; i < 1000; i++) {
            long local = 200 + random.nextInt(400);
            long provider = random.nextInt(100) < 2 ? local + 1 : local; // 2 % of calls off by one token
            audit.observe(call(EXACT, provider, local, 11, 0, 10, false, "stop"));
        }
        assertTrue(alerts.list().isEmpty(), alerts.list().toString());
        BillingAudit.Group g = audit.group(EXACT, "input", 0, true).orElseThrow();
        assertEquals(1000, g.calls());
        assertTrue(g.differing() > 5 && g.differing() < 40, "differing: " + g.differing());
    }

    @Test
    void learnsTheBaselineOfAnEstimatedGroupAndFlagsOnlyAShiftFromIt() {
        Random random = new Random(11);
        for (int i = 0; i < 600; i++) {
            long local = 900 + random.nextInt(200);
            // Images are estimated at a fixed 765 tokens: the provider bills about 5 % more, call by call different.
            long provider = Math.round(local * (1.05 + random.nextGaussian() * 0.01));
            audit.observe(call(EXACT, provider, local, 11, 0, 10, true, "stop", IMAGES, 0));
        }
        assertTrue(alerts.list().isEmpty(), "an estimate's usual difference is its baseline: " + alerts.list());
        BillingAudit.Group images = audit.group(EXACT, "input", IMAGES, false).orElseThrow();
        assertEquals(0.05, images.baselineMedian(), 0.005);
        assertTrue(images.baselineShare() > 0.9);

        for (int i = 0; i < 600; i++) {
            long local = 900 + random.nextInt(200);
            long provider = Math.round(local * (1.09 + random.nextGaussian() * 0.01));
            audit.observe(call(EXACT, provider, local, 11, 0, 10, true, "stop", IMAGES, 0));
        }
        Alert alert = discrepancy(EXACT, "input_tokens:images:estimated");
        assertNotNull(alert, alerts.list().toString());
        assertTrue(alert.message().contains("an estimated count; baseline: median +"), alert.message());
        assertTrue(alert.value() >= 0.069, "the median relative difference when it passed 5 % + 2 %: " + alert.value());
        assertTrue(alert.message().contains("Likely cause: images."), alert.message());
    }

    @Test
    void comparesOutputWithoutReasoningRejectedPredictionsToolCallsOrAForcedToolChoice() {
        for (int i = 0; i < 50; i++) {
            // 151 billed, 50 of them reasoning: the 100 tokens of the text and the one ending the message.
            audit.observe(call(EXACT, 100, 100, 151, 50, 100, false, "stop"));
            // 41 billed, 12 of them a rejected prediction: 28 in the text and the end of the message.
            audit.observe(call(EXACT, 100, 100, 41, 0, 28, true, "stop", RequestFeature.PREDICTION.bit(), 12));
            // Cut by the limit: no end of message (an estimated group: its usual difference is its baseline).
            audit.observe(call(EXACT, 100, 100, 64, 0, 64, false, "length"));
            audit.observe(call(EXACT, 100, 100, 300, 0, 10, false, "tool_calls")); // arguments not counted locally
            // A forced tool call ends with "stop", but it is a tool call all the same.
            audit.observe(call(EXACT, 100, 100, 300, 0, 10, true, "stop", RequestFeature.TOOL_CHOICE_FORCED.bit(), 0));
        }
        assertTrue(alerts.list().stream().noneMatch(a -> a.metric().startsWith("output")), alerts.list().toString());
        assertEquals(50, audit.group(EXACT, "output", 0, true).orElseThrow().calls());
        assertEquals(0, audit.group(EXACT, "output", 0, true).orElseThrow().differing());
        assertEquals(50, audit.group(EXACT, "output", RequestFeature.PREDICTION.bit(), true).orElseThrow().calls());
        assertEquals(0, audit.group(EXACT, "output", RequestFeature.PREDICTION.bit(), true).orElseThrow().differing());
        assertEquals(50, audit.group(EXACT, "output", 0, false).orElseThrow().calls(), "the calls cut by the limit");
        assertTrue(audit.group(EXACT, "output", RequestFeature.TOOL_CHOICE_FORCED.bit(), true).isEmpty());

        for (int i = 0; i < 20; i++) {
            audit.observe(call(EXACT, 100, 100, 130, 0, 100, false, "stop"));
        }
        Alert output = discrepancy(EXACT, "output_tokens");
        assertNotNull(output);
        assertTrue(output.message().contains("more output tokens"), output.message());
    }

    @Test
    void closesOnceTheDifferencesAreGone() {
        EfficiencySettings small = new EfficiencySettings(EfficiencySettings.DEFAULTS.taskIdle(),
                EfficiencySettings.DEFAULTS.taskRetention(), 10, 20, 10, 0.02, 0.05);
        BillingAudit windowed = new BillingAudit(Set.of(EXACT)::contains, alerts, small);
        for (int i = 0; i < 20; i++) {
            windowed.observe(call(EXACT, 105, 100, 11, 0, 10, false, "stop"));
        }
        assertNotNull(discrepancy(EXACT, "input_tokens"));
        // 19 exact calls: 1 of the last 20 differs (5 %), its median is 0: above half the share shift, still open.
        for (int i = 0; i < 19; i++) {
            windowed.observe(call(EXACT, 100, 100, 11, 0, 10, false, "stop"));
        }
        assertNotNull(discrepancy(EXACT, "input_tokens"));
        windowed.observe(call(EXACT, 100, 100, 11, 0, 10, false, "stop"));
        assertNull(discrepancy(EXACT, "input_tokens"), "no call of the window differs any more");
    }

    @Test
    void ignoresCallsWithoutProviderUsage() {
        for (int i = 0; i < 20; i++) {
            UsageRecord local = call(EXACT, 150, 100, 51, 0, 50, false, "stop");
            audit.observe(UsageRecord.builder().id(local.id()).team(local.team()).keyId(local.keyId()).model(local.model())
                    .provider(local.provider()).endpoint(local.endpoint()).status(CallStatus.OK).httpStatus(200)
                    .usage(local.usage()).localInputTokens(100).localOutputTokens(50).costNanos(1)
                    .finishReason("stop").latencyMicros(1).upstreamLatencyMicros(1).build());
        }
        assertTrue(alerts.list().isEmpty());
        assertTrue(audit.groups(EXACT).isEmpty());
    }

    @Test
    void keepsItsWindowsAcrossARestart(@TempDir Path dir) {
        Path file = dir.resolve("ledger.db");
        try (SqliteLedger ledger = SqliteLedger.open(file, SqliteLedger.Sync.NORMAL)) {
            BillingAudit before = new BillingAudit(Set.of(EXACT)::contains, alerts, EfficiencySettings.DEFAULTS);
            before.restore(ledger.audit());
            for (int i = 0; i < 300; i++) {
                before.observe(call(EXACT, 100, 100, 11, 0, 10, false, "stop"));
                before.observe(call(EXACT, 1000 + i % 7, 1000, 11, 0, 10, true, "stop", IMAGES, 0));
            }
            before.save();
            for (int i = 0; i < 5; i++) {
                before.observe(call(EXACT, 100, 100, 11, 0, 10, false, "stop"));
            }
            // Not saved by hand: the ledger saves it once more when it closes.
        }
        AlertBook fresh = new AlertBook(() -> 2_000, null);
        try (SqliteLedger ledger = SqliteLedger.open(file, SqliteLedger.Sync.NORMAL)) {
            BillingAudit after = new BillingAudit(Set.of(EXACT)::contains, fresh, EfficiencySettings.DEFAULTS);
            after.restore(ledger.audit());
            BillingAudit.Group plain = after.group(EXACT, "input", 0, true).orElseThrow();
            assertEquals(305, plain.calls());
            BillingAudit.Group images = after.group(EXACT, "input", IMAGES, false).orElseThrow();
            assertEquals(300, images.calls());
            assertEquals(0.002, images.baselineMedian(), 0.0011, "the learnt baseline came back too");
            // The window goes on where it was.
            for (int i = 0; i < 300; i++) {
                after.observe(call(EXACT, 110, 100, 11, 0, 10, false, "stop"));
            }
            assertNotNull(fresh.find(AlertType.BILLING_DISCREPANCY, Alert.Scope.MODEL, EXACT, "input_tokens"));
            assertEquals(605, after.group(EXACT, "input", 0, true).orElseThrow().calls());
        }
    }

    @Test
    void learnsTheRatioOfModelsWithoutAnExactTokenizerWithAnEwma() {
        assertTrue(audit.calibration(INEXACT).isEmpty());
        audit.observe(call(INEXACT, 120, 100, 60, 0, 50, true, "stop"));
        BillingAudit.Calibration first = audit.calibration(INEXACT).orElseThrow();
        assertEquals(1.2, first.inputRatio(), 1e-12, "the first call starts the average");
        assertEquals(1.2, first.outputRatio(), 1e-12);
        assertEquals(1, first.samples());
        // Independently: EWMAs of provider and local tokens, alpha 0.05, then their ratio.
        double p = 120;
        double l = 100;
        for (int i = 0; i < 200; i++) {
            long local = 100 + (i % 7) * 10;
            long provider = Math.round(local * 1.3);
            audit.observe(call(INEXACT, provider, local, 11, 0, 10, true, "stop"));
            p += 0.05 * (provider - p);
            l += 0.05 * (local - l);
        }
        BillingAudit.Calibration c = audit.calibration(INEXACT).orElseThrow();
        assertEquals(p / l, c.inputRatio(), 1e-9);
        assertEquals(1.3, c.inputRatio(), 0.01);
        assertEquals(201, c.samples());
        assertTrue(alerts.list().isEmpty(), "no audit without an exact tokenizer");
        assertFalse(audit.calibration(EXACT).isPresent());
        assertTrue(audit.groups(INEXACT).isEmpty());
    }
}
