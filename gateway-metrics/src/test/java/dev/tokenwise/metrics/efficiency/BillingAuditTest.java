package dev.tokenwise.metrics.efficiency;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenwise.core.model.CallStatus;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.TokenUsage;
import dev.tokenwise.core.model.UsageRecord;
import java.util.Set;
import org.junit.jupiter.api.Test;

class BillingAuditTest {
    private static final String EXACT = "gpt-4o-mini";
    private static final String INEXACT = "claude-like";

    private final AlertBook alerts = new AlertBook(() -> 1_000, null);
    private final BillingAudit audit = new BillingAudit(Set.of(EXACT)::contains, alerts, EfficiencySettings.DEFAULTS);
    private int ids;

    private UsageRecord call(String model, long providerIn, long localIn, long providerOut, long reasoning,
                             long localOut, boolean estimated, String finish) {
        return new UsageRecord("r" + ids++, "a", "a1", model, "openai", Endpoint.CHAT_COMPLETIONS, false, CallStatus.OK,
                200, new TokenUsage(providerIn, 0, 0, providerOut, reasoning), true, localIn, localOut, estimated, 1,
                null, 0, finish, 0, 1, 1, 0);
    }

    private void calls(int n, long providerIn, long localIn) {
        for (int i = 0; i < n; i++) {
            audit.observe(call(EXACT, providerIn, localIn, 50, 0, 50, false, "stop"));
        }
    }

    @Test
    void raisesADiscrepancyWhenTheProviderBillsTwoPercentMoreOverTenCalls() {
        calls(9, 102, 100);
        assertNull(alerts.find(AlertType.BILLING_DISCREPANCY, Alert.Scope.MODEL, EXACT, "input_tokens"), "9 calls are not enough");
        calls(1, 102, 100);
        Alert alert = alerts.find(AlertType.BILLING_DISCREPANCY, Alert.Scope.MODEL, EXACT, "input_tokens");
        assertNotNull(alert);
        assertEquals(1.02, alert.value(), 1e-12);
        assertEquals(1.02, alert.threshold(), 1e-12);
        assertEquals(Alert.Scope.MODEL, alert.scope());
        assertTrue(alert.message().contains(EXACT), alert.message());
        assertTrue(alert.message().contains("1.0200"), alert.message());
        assertTrue(alert.message().contains("10 calls"), alert.message());
        assertNull(alerts.find(AlertType.BILLING_DISCREPANCY, Alert.Scope.MODEL, EXACT, "output_tokens"), "output matched");
        BillingAudit.Audit figures = audit.audit(EXACT).orElseThrow();
        assertEquals(10, figures.inputCalls());
        assertEquals(1.0, figures.outputRatio());
    }

    @Test
    void staysQuietJustBelowTwoPercent() {
        calls(50, 10_190, 10_000);
        assertTrue(alerts.list().isEmpty());
        assertEquals(1.019, audit.audit(EXACT).orElseThrow().inputRatio(), 1e-12);
    }

    @Test
    void closesOnceTheRatioFallsBelowHalfTheThreshold() {
        EfficiencySettings small = new EfficiencySettings(EfficiencySettings.DEFAULTS.taskIdle(),
                EfficiencySettings.DEFAULTS.taskRetention(), 10, 20, 10, 0.02, 0.05);
        BillingAudit windowed = new BillingAudit(Set.of(EXACT)::contains, alerts, small);
        for (int i = 0; i < 20; i++) {
            windowed.observe(call(EXACT, 105, 100, 10, 0, 10, false, "stop"));
        }
        assertNotNull(alerts.find(AlertType.BILLING_DISCREPANCY, Alert.Scope.MODEL, EXACT, "input_tokens"));
        // 14 exact calls: the last 20 are 6 × 105 + 14 × 100 = 2030 / 2000 = 1.015, still above 1.01: open.
        for (int i = 0; i < 14; i++) {
            windowed.observe(call(EXACT, 100, 100, 10, 0, 10, false, "stop"));
        }
        assertNotNull(alerts.find(AlertType.BILLING_DISCREPANCY, Alert.Scope.MODEL, EXACT, "input_tokens"));
        // 18 exact: 2 × 105 + 18 × 100 = 2010 / 2000 = 1.005 < 1.01: closed.
        for (int i = 0; i < 4; i++) {
            windowed.observe(call(EXACT, 100, 100, 10, 0, 10, false, "stop"));
        }
        assertNull(alerts.find(AlertType.BILLING_DISCREPANCY, Alert.Scope.MODEL, EXACT, "input_tokens"));
        assertEquals(20, windowed.audit(EXACT).orElseThrow().inputCalls());
    }

    @Test
    void auditsOutputWithoutReasoningTokensAndWithoutToolCalls() {
        for (int i = 0; i < 10; i++) {
            audit.observe(call(EXACT, 100, 100, 150, 50, 100, false, "stop")); // 100 visible: exact
            audit.observe(call(EXACT, 100, 100, 300, 0, 10, false, "tool_calls")); // arguments not counted locally
        }
        assertTrue(alerts.list().isEmpty(), alerts.list().toString());
        assertEquals(10, audit.audit(EXACT).orElseThrow().outputCalls());
        for (int i = 0; i < 10; i++) {
            audit.observe(call(EXACT, 100, 100, 130, 0, 100, false, "stop"));
        }
        Alert output = alerts.find(AlertType.BILLING_DISCREPANCY, Alert.Scope.MODEL, EXACT, "output_tokens");
        assertNotNull(output);
        assertEquals(2300.0 / 2000, output.value(), 1e-12);
        assertTrue(output.message().contains("output"), output.message());
    }

    @Test
    void ignoresEstimatedCountsAndCallsWithoutProviderUsage() {
        for (int i = 0; i < 20; i++) {
            audit.observe(call(EXACT, 150, 100, 50, 0, 50, true, "stop"));
            UsageRecord local = call(EXACT, 150, 100, 50, 0, 50, false, "stop");
            audit.observe(new UsageRecord(local.id(), local.team(), local.keyId(), local.model(), local.provider(),
                    local.endpoint(), false, CallStatus.OK, 200, local.usage(), false, 100, 50, false, 1, null, 0,
                    "stop", 0, 1, 1, 0));
        }
        assertTrue(alerts.list().isEmpty());
        assertTrue(audit.audit(EXACT).isEmpty());
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
            audit.observe(call(INEXACT, provider, local, 10, 0, 10, true, "stop"));
            p += 0.05 * (provider - p);
            l += 0.05 * (local - l);
        }
        BillingAudit.Calibration c = audit.calibration(INEXACT).orElseThrow();
        assertEquals(p / l, c.inputRatio(), 1e-9);
        assertEquals(1.3, c.inputRatio(), 0.01);
        assertEquals(201, c.samples());
        assertTrue(alerts.list().isEmpty(), "no audit without an exact tokenizer");
        assertFalse(audit.calibration(EXACT).isPresent());
    }
}
