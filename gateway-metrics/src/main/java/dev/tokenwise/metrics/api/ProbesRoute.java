package dev.tokenwise.metrics.api;

import dev.tokenwise.core.spi.GetRoute;
import dev.tokenwise.metrics.efficiency.DriftFinding;
import dev.tokenwise.metrics.efficiency.ProbeMonitor;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * {@code GET /api/v1/probes} (any key): the probes' settings and, per probed model, its series of runs
 * ({@code at, tasks, solved, errors, pass_rate, tokens_per_solved, mean_output_tokens, reference}), its reference
 * and its tests. With no probes configured: {@code {"enabled": false, "models": []}}. Answered on the executor
 * given to the constructor.
 */
public final class ProbesRoute extends GetRoute {
    private static final String PATH = "/api/v1/probes";

    /** What the probes are configured to do, for the response. */
    public record Settings(long intervalSeconds, int tasksPerRun, String suite, String team, int referenceRuns) {
    }

    private final ProbeMonitor probes;
    private final Settings settings;
    private final Executor executor;

    /** @param probes {@code null} (with {@code settings} {@code null}) when no probes are configured */
    public ProbesRoute(ProbeMonitor probes, Settings settings, Executor executor) {
        super(PATH);
        this.probes = probes;
        this.settings = settings;
        this.executor = Objects.requireNonNull(executor, "executor");
    }

    @Override
    public CompletableFuture<Response> handle(Request request) {
        request.requirePrincipal();
        return CompletableFuture.supplyAsync(() -> Response.json(200, toJson(
                probes == null ? List.of() : probes.series())), executor);
    }

    private byte[] toJson(List<ProbeMonitor.Series> series) {
        return JsonBody.write(4096, g -> {
            g.writeStartObject();
            g.writeBooleanField("enabled", probes != null);
            if (settings != null) {
                g.writeNumberField("interval_seconds", settings.intervalSeconds());
                g.writeNumberField("tasks_per_run", settings.tasksPerRun());
                g.writeStringField("suite", settings.suite());
                g.writeStringField("team", settings.team());
                g.writeNumberField("reference_runs", settings.referenceRuns());
            }
            g.writeArrayFieldStart("models");
            for (ProbeMonitor.Series s : series) {
                g.writeStartObject();
                g.writeStringField("model", s.model());
                g.writeBooleanField("alarmed", s.alarmed());
                DriftRoute.writeReference(g, s.reference(), s.runs().stream().filter(ProbeMonitor.Run::reference)
                        .mapToLong(ProbeMonitor.Run::tasks).sum());
                g.writeArrayFieldStart("tests");
                for (DriftFinding f : s.tests()) {
                    DriftRoute.writeFinding(g, f);
                }
                g.writeEndArray();
                g.writeArrayFieldStart("runs");
                for (ProbeMonitor.Run r : s.runs()) {
                    g.writeStartObject();
                    g.writeStringField("at", Instant.ofEpochMilli(r.startedAtMillis()).toString());
                    g.writeNumberField("tasks", r.tasks());
                    g.writeNumberField("solved", r.solved());
                    g.writeNumberField("errors", r.errors());
                    JsonBody.numberOrNull(g, "pass_rate", r.passRate());
                    JsonBody.numberOrNull(g, "tokens_per_solved", r.tokensPerSolved());
                    JsonBody.numberOrNull(g, "mean_output_tokens", r.meanOutputTokens());
                    g.writeBooleanField("reference", r.reference());
                    g.writeEndObject();
                }
                g.writeEndArray();
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeEndObject();
        });
    }
}
