package dev.tokenwise.metrics.meters;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenwise.core.budget.Budget;
import dev.tokenwise.core.config.BudgetPeriod;
import dev.tokenwise.core.config.Resilience;
import dev.tokenwise.core.model.CallStatus;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.TokenUsage;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.proxy.Origin;
import dev.tokenwise.core.proxy.ProviderHealth;
import dev.tokenwise.core.proxy.Transport;
import dev.tokenwise.core.proxy.UpstreamPool;
import dev.tokenwise.metrics.efficiency.Alert;
import dev.tokenwise.metrics.efficiency.AlertBook;
import dev.tokenwise.metrics.efficiency.AlertType;
import dev.tokenwise.metrics.efficiency.EfficiencySettings;
import dev.tokenwise.metrics.efficiency.EfficiencyTracker;
import dev.tokenwise.metrics.latency.LatencyBook;
import dev.tokenwise.metrics.ledger.TaskOutcome;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.Future;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class GatewayMetersTest {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);

    @AfterEach
    void close() {
        registry.close();
    }

    static UsageRecord record(String team, String key, String model, CallStatus status, TokenUsage usage, long costNanos,
                              String task) {
        return UsageRecord.builder().id("req").team(team).keyId(key).model(model).provider("sim")
                .endpoint(Endpoint.CHAT_COMPLETIONS).status(status).httpStatus(status == CallStatus.OK ? 200 : 502)
                .usage(usage).usageFromProvider(true).localInputTokens(usage.inputTokens())
                .localOutputTokens(usage.outputTokens()).costNanos(costNanos).taskId(task).finishReason("stop")
                .createdAtMillis(System.currentTimeMillis()).latencyMicros(2_000).upstreamLatencyMicros(1_500).build();
    }

    /** The value of the one sample line whose name and labels are exactly these (labels in alphabetical order). */
    static double value(String scrape, String series) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " (\\S+)$").matcher(scrape);
        assertTrue(m.find(), "no line " + series + " in:\n" + scrape);
        return Double.parseDouble(m.group(1));
    }

    @Test
    void countsRequestsTokensAndCostPerTeamAndModel() {
        GatewayMeters meters = new GatewayMeters(registry, MeterSettings.DEFAULTS, Set.of("m1", "m2"));
        meters.accept(record("a", "key-a1", "m1", CallStatus.OK, new TokenUsage(100, 40, 0, 50, 10), 1_500_000, null));
        meters.accept(record("a", "key-a1", "m1", CallStatus.OK, new TokenUsage(20, 0, 0, 5, 0), 500_000, null));
        meters.accept(record("b", "key-b1", "m2", CallStatus.UPSTREAM_ERROR, TokenUsage.ZERO, 0, null));
        String s = registry.scrape();
        assertEquals(2, value(s, "tokenwise_requests_total{model=\"m1\",provider=\"sim\",status=\"ok\",team=\"a\"}"));
        assertEquals(1, value(s, "tokenwise_requests_total{model=\"m2\",provider=\"sim\",status=\"upstream_error\",team=\"b\"}"));
        assertEquals(120, value(s, "tokenwise_tokens_total{direction=\"input\",model=\"m1\",team=\"a\"}"));
        assertEquals(40, value(s, "tokenwise_tokens_total{direction=\"cached\",model=\"m1\",team=\"a\"}"));
        assertEquals(55, value(s, "tokenwise_tokens_total{direction=\"output\",model=\"m1\",team=\"a\"}"));
        assertEquals(10, value(s, "tokenwise_tokens_total{direction=\"reasoning\",model=\"m1\",team=\"a\"}"));
        assertEquals(0.002, value(s, "tokenwise_cost_usd_total{model=\"m1\",team=\"a\"}"), 1e-12);
        assertTrue(s.contains("# TYPE tokenwise_requests_total counter"), s);
        assertFalse(s.contains("key-a1"), "keys are never labels");
    }

    @Test
    void boundsTeamAndModelLabels() {
        GatewayMeters meters = new GatewayMeters(registry, new MeterSettings(2, 2), List.of("m1", "m2", "m3"));
        for (String team : new String[] {"t1", "t2", "t3", "t4"}) {
            meters.accept(record(team, "k", "m1", CallStatus.OK, TokenUsage.of(1, 1), 1, null));
        }
        meters.accept(record("t1", "k", "m3", CallStatus.OK, TokenUsage.of(1, 1), 1, null));
        meters.accept(record("t1", "k", "made-up-model", CallStatus.OK, TokenUsage.of(1, 1), 1, null));
        String s = registry.scrape();
        assertEquals(1, value(s, "tokenwise_requests_total{model=\"m1\",provider=\"sim\",status=\"ok\",team=\"t2\"}"));
        assertEquals(2, value(s, "tokenwise_requests_total{model=\"m1\",provider=\"sim\",status=\"ok\",team=\"other\"}"));
        assertEquals(1, value(s, "tokenwise_requests_total{model=\"other\",provider=\"sim\",status=\"ok\",team=\"t1\"}"));
        assertEquals(1, value(s, "tokenwise_requests_total{model=\"unknown\",provider=\"sim\",status=\"ok\",team=\"t1\"}"));
        assertFalse(s.contains("t3") || s.contains("t4") || s.contains("m3") || s.contains("made-up-model"), s);
    }

    @Test
    void exportsBudgetsPerTeamAndSumsTheRestIntoOther() {
        List<Budget.Snapshot> budgets = new ArrayList<>(List.of(
                new Budget.Snapshot("research", 10_000_000_000L, BudgetPeriod.DAILY, 0, 1, 2_500_000_000L, 500_000_000L, 7_000_000_000L),
                new Budget.Snapshot("ops", 1_000_000_000L, BudgetPeriod.MONTHLY, 0, 1, 0, 0, 1_000_000_000L),
                new Budget.Snapshot("late", 2_000_000_000L, BudgetPeriod.DAILY, 0, 1, 1_000_000_000L, 0, 1_000_000_000L),
                new Budget.Snapshot("later", 3_000_000_000L, BudgetPeriod.DAILY, 0, 1, 0, 0, 3_000_000_000L)));
        GatewayMeters meters = new GatewayMeters(registry, new MeterSettings(2, 10), List.of()).bindBudgets(() -> budgets);
        meters.refresh();
        String s = registry.scrape();
        assertEquals(7.0, value(s, "tokenwise_budget_remaining_usd{team=\"research\"}"));
        assertEquals(10.0, value(s, "tokenwise_budget_limit_usd{team=\"research\"}"));
        assertEquals(2.5, value(s, "tokenwise_budget_spent_usd{team=\"research\"}"));
        assertEquals(1.0, value(s, "tokenwise_budget_limit_usd{team=\"ops\"}"));
        assertEquals(5.0, value(s, "tokenwise_budget_limit_usd{team=\"other\"}"));
        assertEquals(4.0, value(s, "tokenwise_budget_remaining_usd{team=\"other\"}"));
        // A budget that is removed disappears at the next refresh.
        budgets.remove(1);
        meters.refresh();
        assertFalse(registry.scrape().contains("team=\"ops\""));
    }

    @Test
    void exportsTaskEfficiencyPerModel() {
        EfficiencyTracker tracker = new EfficiencyTracker(new AlertBook(), m -> true, EfficiencySettings.DEFAULTS,
                System::currentTimeMillis);
        tracker.accept(record("a", "k", "m1", CallStatus.OK, TokenUsage.of(100, 50), 1_000_000, "t1"));
        tracker.accept(record("a", "k", "m1", CallStatus.OK, TokenUsage.of(100, 50), 3_000_000, "t2"));
        tracker.accept(record("a", "k", "m2", CallStatus.OK, TokenUsage.of(100, 50), 3_000_000, "t3"));
        tracker.outcome(new TaskOutcome("a", "t1", "k", true, null, null, 0));
        tracker.outcome(new TaskOutcome("a", "t2", "k", false, null, null, 0));
        GatewayMeters meters = new GatewayMeters(registry, MeterSettings.DEFAULTS, List.of()).bindEfficiency(tracker);
        meters.refresh();
        String s = registry.scrape();
        assertEquals(0.5, value(s, "tokenwise_task_success_ratio{model=\"m1\"}"));
        assertEquals(0.004, value(s, "tokenwise_cost_per_success_usd{model=\"m1\"}"), 1e-12);
        assertEquals(300, value(s, "tokenwise_task_tokens_per_success{model=\"m1\"}"));
        assertEquals(0, value(s, "tokenwise_task_retry_ratio{model=\"m1\"}"));
        assertFalse(s.contains("tokenwise_task_success_ratio{model=\"m2\"}"), "no outcome, no ratio (never NaN)");
    }

    @Test
    void exportsTheBillingAuditsDifferingShareAndTokensPerKilobyte() {
        long now = System.currentTimeMillis();
        AlertBook alerts = new AlertBook();
        dev.tokenwise.metrics.efficiency.TokenInflation inflation = new dev.tokenwise.metrics.efficiency.TokenInflation(
                alerts, dev.tokenwise.metrics.efficiency.InflationSettings.DEFAULTS, null, null, () -> now);
        EfficiencyTracker tracker = new EfficiencyTracker(alerts, "m1"::equals, EfficiencySettings.DEFAULTS,
                () -> now, inflation);
        for (int i = 0; i < 4; i++) {
            // 1 of 4 exact counts differs; each call's prompt text is 400 bytes.
            long provider = i == 0 ? 101 : 100;
            tracker.accept(UsageRecord.builder().id("r" + i).team("a").keyId("k").model("m1").provider("sim")
                    .endpoint(Endpoint.CHAT_COMPLETIONS).status(CallStatus.OK).httpStatus(200)
                    .usage(TokenUsage.of(provider, 11)).usageFromProvider(true).localInputTokens(100)
                    .localOutputTokens(10).costNanos(1).finishReason("stop").createdAtMillis(now - 60_000)
                    .latencyMicros(1).upstreamLatencyMicros(1).requestedModel("m1").inputTextBytes(400).build());
        }
        GatewayMeters meters = new GatewayMeters(registry, MeterSettings.DEFAULTS, List.of()).bindEfficiency(tracker);
        meters.refresh();
        String s = registry.scrape();
        assertEquals(0.25, value(s, "tokenwise_billing_audit_differing_ratio{model=\"m1\",side=\"input\"}"));
        assertEquals(0, value(s, "tokenwise_billing_audit_differing_ratio{model=\"m1\",side=\"output\"}"));
        assertEquals(1000.0 * 401 / 1600, value(s, "tokenwise_input_tokens_per_kb{model=\"m1\",window=\"recent\"}"),
                1e-9);
        assertFalse(s.contains("tokenwise_input_tokens_per_kb{model=\"m1\",window=\"baseline\"}"), "no call: no sample");
    }

    @Test
    void exportsAlertsOpenPerTypeAndOpenings() {
        AlertBook alerts = new AlertBook(System::currentTimeMillis, registry);
        new GatewayMeters(registry, MeterSettings.DEFAULTS, List.of()).bindAlerts(alerts);
        alerts.open(AlertType.QUALITY_DRIFT, Alert.Scope.MODEL, "m1", "success_rate", "worse", 0.7, 0.85);
        alerts.open(AlertType.QUALITY_DRIFT, Alert.Scope.MODEL, "m1", "retry_rate", "worse", 0.3, 0.1);
        String s = registry.scrape();
        assertEquals(2, value(s, "tokenwise_alerts_open{type=\"quality_drift\"}"));
        assertEquals(0, value(s, "tokenwise_alerts_open{type=\"billing_discrepancy\"}"));
        assertEquals(2, value(s, "tokenwise_alerts_opened_total{type=\"quality_drift\"}"));
    }

    @Test
    void exportsCircuitBreakerStatePerProvider() {
        ProviderHealth health = new ProviderHealth("openai", Resilience.DEFAULTS, System::nanoTime);
        new GatewayMeters(registry, MeterSettings.DEFAULTS, List.of()).bindProviders(Map.of("openai", health));
        String s = registry.scrape();
        assertEquals(0, value(s, "tokenwise_provider_circuit_state{provider=\"openai\"}"));
        assertEquals(0, value(s, "tokenwise_provider_retries_total{provider=\"openai\"}"));
        assertEquals(0, value(s, "tokenwise_provider_breaker_opened_total{provider=\"openai\"}"));
    }

    @Test
    void exportsTheUpstreamPoolsIdleConnectionsAndTheConnectsItMadeAgain() throws Exception {
        Transport transport = Transport.best();
        EventLoopGroup group = transport.newGroup(1, new DefaultThreadFactory("meters-pool-test"));
        try (ServerSocket upstream = new ServerSocket(0, 8, InetAddress.getLoopbackAddress())) {
            UpstreamPool pool = new UpstreamPool(transport, 60);
            new GatewayMeters(registry, MeterSettings.DEFAULTS, List.of()).bindUpstreamPool(pool);
            String before = registry.scrape();
            assertEquals(0, value(before, "tokenwise_upstream_connections_idle"));
            assertEquals(0, value(before, "tokenwise_upstream_connects_remade_total"));

            EventLoop loop = group.next();
            Origin origin = new Origin(false, "127.0.0.1", upstream.getLocalPort(), "");
            CompletableFuture<Future<Channel>> started = new CompletableFuture<>();
            loop.execute(() -> started.complete(pool.acquire(origin, loop, 2_000, true)));
            Future<Channel> acquired = started.get(5, TimeUnit.SECONDS);
            try (Socket accepted = upstream.accept()) {
                assertTrue(acquired.await(5, TimeUnit.SECONDS) && acquired.isSuccess(), String.valueOf(acquired.cause()));
                loop.submit(() -> pool.release(acquired.getNow(), 4)).get(5, TimeUnit.SECONDS);
                String after = registry.scrape();
                assertEquals(1, value(after, "tokenwise_upstream_connections_idle"));
                assertEquals(0, value(after, "tokenwise_upstream_connects_remade_total"));
            }
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    @Test
    void exportsLatencyAsPrometheusHistogramsFromTheHdrHistograms() {
        LatencyBook latency = new LatencyBook(UnaryOperator.identity(), System::currentTimeMillis);
        new GatewayMeters(registry, MeterSettings.DEFAULTS, List.of()).bindLatency(latency);
        // overhead 500 µs, 3 ms and 200 µs; upstream 1.5 ms, 2 s and 80 ms
        latency.accept(record("a", "k", "m1", CallStatus.OK, TokenUsage.of(1, 1), 0, null));
        latency.accept(UsageRecord.builder().id("r").team("a").keyId("k").model("m1").provider("sim")
                .endpoint(Endpoint.CHAT_COMPLETIONS).stream(true).status(CallStatus.OK).httpStatus(200)
                .usage(TokenUsage.of(1, 1)).usageFromProvider(true).localInputTokens(1).localOutputTokens(1)
                .finishReason("stop").latencyMicros(2_003_000).upstreamLatencyMicros(2_000_000).ttftMicros(30_000)
                .build());
        latency.accept(UsageRecord.builder().id("r").team("a").keyId("k").model("m1").provider("sim")
                .endpoint(Endpoint.CHAT_COMPLETIONS).status(CallStatus.OK).httpStatus(200).usage(TokenUsage.of(1, 1))
                .usageFromProvider(true).localInputTokens(1).localOutputTokens(1).finishReason("stop")
                .latencyMicros(80_200).upstreamLatencyMicros(80_000).build());
        String s = registry.scrape();
        assertTrue(s.contains("# TYPE tokenwise_gateway_overhead_seconds histogram"), s);
        assertEquals(3, value(s, "tokenwise_gateway_overhead_seconds_count"));
        assertEquals(1, value(s, "tokenwise_gateway_overhead_seconds_bucket{le=\"2.5E-4\"}"));
        assertEquals(2, value(s, "tokenwise_gateway_overhead_seconds_bucket{le=\"5.0E-4\"}"));
        assertEquals(2, value(s, "tokenwise_gateway_overhead_seconds_bucket{le=\"0.0025\"}"));
        assertEquals(3, value(s, "tokenwise_gateway_overhead_seconds_bucket{le=\"0.005\"}"));
        assertEquals(0.0037, value(s, "tokenwise_gateway_overhead_seconds_sum"), 1e-9);
        assertEquals(1, value(s, "tokenwise_upstream_latency_seconds_bucket{model=\"m1\",provider=\"sim\",le=\"0.01\"}"));
        assertEquals(2, value(s, "tokenwise_upstream_latency_seconds_bucket{model=\"m1\",provider=\"sim\",le=\"0.1\"}"));
        assertEquals(3, value(s, "tokenwise_upstream_latency_seconds_bucket{model=\"m1\",provider=\"sim\",le=\"+Inf\"}"));
        assertEquals(1, value(s, "tokenwise_time_to_first_token_seconds_count{model=\"m1\",provider=\"sim\"}"));
    }

    @Test
    void bindsJvmAndNettyBasics() {
        GatewayMeters meters = new GatewayMeters(registry, MeterSettings.DEFAULTS, List.of()).bindJvm();
        String s = registry.scrape();
        for (String name : new String[] {"jvm_memory_used_bytes", "jvm_threads_live_threads", "process_uptime_seconds",
                "netty_allocator_memory_used"}) {
            assertTrue(s.contains(name), name + " missing");
        }
        meters.close();
    }
}
