package dev.tokenwise.server.probe;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tokenwise.core.config.ProbeConfig;
import dev.tokenwise.eval.BuiltinSuite;
import dev.tokenwise.eval.EvalTask;
import dev.tokenwise.eval.TaskSuites;
import dev.tokenwise.eval.Verdict;
import dev.tokenwise.metrics.efficiency.ProbeMonitor;
import dev.tokenwise.metrics.ledger.TaskLedger;
import dev.tokenwise.metrics.ledger.TaskRow;
import dev.tokenwise.server.admin.TeamDirectory;
import dev.tokenwise.server.client.GatewayClient;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the configured probes: every {@code interval}, the same tasks on each probed model, through the gateway's
 * own port over HTTP with a key of {@code probes.team} (so every probe call is priced, budgeted and recorded like
 * any client's), graded, with the outcome posted back; each run's results go to the {@link ProbeMonitor}.
 *
 * <p>Runs on its own scheduled thread, never an event loop; one run at a time (a run that takes longer than the
 * interval delays the next). At start-up it creates the team if it does not exist (without a budget), revokes the
 * probe keys of earlier starts (only the hash of a key is stored, so a key cannot be reused after a restart) and
 * creates a fresh one limited to the probed models; the first run restores the series from the ledger's probe tasks.
 *
 * <pre>{@code
 * ProbeRunner probes = ProbeRunner.start(config.probes(), directory, monitor, ledger.tasks(),
 *         URI.create("http://127.0.0.1:" + port), System::currentTimeMillis);
 * }</pre>
 */
public final class ProbeRunner implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ProbeRunner.class);
    static final String KEY_PREFIX = "probe-";
    private static final Duration CALL_TIMEOUT = Duration.ofMinutes(5);
    private static final long RESTORE_DAYS = 30;
    private static final long FIRST_RUN_MAX_DELAY_MILLIS = 10_000;

    private final ProbeConfig config;
    private final ProbeMonitor monitor;
    private final TaskLedger ledger;
    private final GatewayClient client;
    private final List<EvalTask> tasks;
    private final LongSupplier clockMillis;
    private final ScheduledExecutorService scheduler;
    private boolean restored;

    private ProbeRunner(ProbeConfig config, ProbeMonitor monitor, TaskLedger ledger, GatewayClient client,
                        List<EvalTask> tasks, LongSupplier clockMillis) {
        this.config = config;
        this.monitor = monitor;
        this.ledger = ledger;
        this.client = client;
        this.tasks = tasks;
        this.clockMillis = clockMillis;
        this.scheduler = Executors.newSingleThreadScheduledExecutor(new DefaultThreadFactory("tokenwise-probes", true));
    }

    /** Prepares the team and key and schedules the runs (the first after at most ten seconds). */
    public static ProbeRunner start(ProbeConfig config, TeamDirectory directory, ProbeMonitor monitor, TaskLedger ledger,
                                    URI gateway, LongSupplier clockMillis) {
        Objects.requireNonNull(config, "config");
        if (directory.team(config.team()).isEmpty()) {
            directory.createTeam(config.team(), null);
            log.warn("Probes: team {} did not exist and was created without a budget (give it one with "
                    + "PUT /api/v1/teams/{}/budget, or list it under teams:)", config.team(), config.team());
        }
        for (TeamDirectory.KeyView key : directory.keys()) {
            if (key.team().equals(config.team()) && key.id().startsWith(KEY_PREFIX) && !key.revoked()) {
                directory.revoke(key.id());
            }
        }
        TeamDirectory.CreatedKey key = directory.createKey(config.team(), KEY_PREFIX + clockMillis.getAsLong(),
                config.models(), null);
        List<EvalTask> tasks = config.suite().equals("builtin")
                ? BuiltinSuite.generate(BuiltinSuite.DEFAULT_SEED, config.tasksPerRun())
                : TaskSuites.load(Path.of(config.suite()));
        tasks = tasks.subList(0, Math.min(tasks.size(), config.tasksPerRun()));
        ProbeRunner runner = new ProbeRunner(config, monitor, ledger,
                new GatewayClient(gateway, key.secret(), CALL_TIMEOUT), List.copyOf(tasks), clockMillis);
        long every = config.interval().toMillis();
        runner.scheduler.scheduleAtFixedRate(runner::runSafely, Math.min(every, FIRST_RUN_MAX_DELAY_MILLIS), every,
                TimeUnit.MILLISECONDS);
        log.info("Probes: {} tasks of {} on {} every {} s, as team {} (key {})", tasks.size(), config.suite(),
                String.join(", ", config.models()), config.interval().toSeconds(), config.team(), key.id());
        return runner;
    }

    private void runSafely() {
        try {
            if (!restored) {
                restored = true;
                restore();
            }
            run();
        } catch (Throwable e) {
            // An Error too: a periodic task that throws is never run again.
            log.warn("Probe run failed: {}", e.toString(), e);
        }
    }

    private void restore() {
        long now = clockMillis.getAsLong();
        List<TaskRow> rows = ledger.taskRows(now - RESTORE_DAYS * TaskLedger.DAY_MILLIS, now, config.team()).stream()
                .filter(r -> ProbeMonitor.runOf(r.taskId()) >= 0).toList();
        if (!rows.isEmpty()) {
            monitor.restore(rows);
            log.info("Probes: restored {} probe tasks of the last {} days from the ledger", rows.size(), RESTORE_DAYS);
        }
    }

    /** One run: every task on every model, in turn. */
    void run() {
        long start = clockMillis.getAsLong();
        for (String model : config.models()) {
            List<TaskRow> rows = new ArrayList<>();
            int errors = 0;
            for (EvalTask task : tasks) {
                if (Thread.currentThread().isInterrupted()) {
                    return;
                }
                String id = ProbeMonitor.taskId(start, model, task.id());
                GatewayClient.Answer answer;
                try {
                    answer = client.chat(model, task, id, 1);
                } catch (GatewayClient.Unreachable e) {
                    errors++;
                    continue;
                }
                if (answer.status() == 402 || answer.status() == 429) {
                    log.warn("Probes: the gateway refused a probe of {} ({}); the rest of this run is skipped", model,
                            answer.describe());
                    monitor.record(model, start, rows, errors);
                    return;
                }
                if (answer.status() != 200 || answer.json() == null) {
                    errors++;
                    continue;
                }
                String reply = answer.json().at("/choices/0/message/content").asText("");
                Verdict verdict = task.grader().grade(reply);
                JsonNode booked = outcome(id, verdict);
                if (booked == null) {
                    errors++;
                    continue;
                }
                rows.add(new TaskRow(config.team(), id, model, start, booked.path("calls").asLong(1),
                        booked.path("retries").asLong(0), booked.path("truncated").asLong(0),
                        booked.path("input_tokens").asLong(0), booked.path("output_tokens").asLong(0),
                        booked.path("cost_nanos").asLong(0), verdict.passed()));
            }
            monitor.record(model, start, rows, errors);
        }
    }

    /** Posts the outcome (retried while the gateway has not booked the call yet); the task as booked, or null. */
    private JsonNode outcome(String id, Verdict verdict) {
        String note = verdict.passed() ? "probe passed" : "probe failed: " + verdict.reason();
        for (int attempt = 0; attempt < 8; attempt++) {
            try {
                GatewayClient.Answer a = client.outcome(id, verdict.passed(), note);
                if (a.status() == 200) {
                    return a.json();
                }
                if (a.status() != 404) {
                    log.warn("Probes: posting the outcome of {} failed: {}", id, a.describe());
                    return null;
                }
            } catch (GatewayClient.Unreachable e) {
                return null;
            }
            try {
                Thread.sleep(25L << attempt);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
        }
        return null;
    }

    @Override
    public void close() {
        scheduler.shutdownNow();
        try {
            scheduler.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
