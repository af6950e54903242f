package dev.tokenwise.metrics.efficiency;

import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.spi.UsageSink;
import dev.tokenwise.metrics.ledger.EfficiencyTotals;
import dev.tokenwise.metrics.ledger.GroupBy;
import dev.tokenwise.metrics.ledger.TaskOutcome;
import dev.tokenwise.metrics.ledger.TaskSummary;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;
import java.util.function.Predicate;

/**
 * Follows tasks as their calls finish: flags retries and truncated calls, keeps live efficiency totals per
 * model and per team for the dashboard and the meters, and feeds the {@link BillingAudit}. Register it as a
 * {@link UsageSink} after the ledger.
 *
 * <p>The figures of the API are computed from the ledger ({@code TaskLedger}), exactly, over any range, and
 * the ledger decides the durable retry flag with the same rule as this class. The live figures here cover the
 * calls since start: a task that began before a restart, or that stayed away longer than
 * {@link EfficiencySettings#taskRetention()}, starts over as a new task in them.
 *
 * <p>Rules (see {@code docs/efficiency.md}): a call is a <em>retry</em> when its {@code X-Task-Attempt} is above 1,
 * when the gateway made more than one upstream attempt for it, or when its task already had a call asking for the
 * same model (the model the client named, whichever model answered) with the same prompt hash; it is <em>truncated</em> when
 * its finish reason is {@code length} (or Anthropic's {@code max_tokens}). A task belongs to the model of its last
 * call, with all its calls.
 *
 * <p>Implementation note: {@link #accept} runs on the record dispatcher thread; outcomes and reads come from API
 * threads. All task state is guarded by this object's monitor: the dispatcher holds it for a few map operations
 * per record, readers for a copy, and no event loop ever takes it. Tasks live in an access-ordered
 * {@link LinkedHashMap} bounded by {@link EfficiencySettings#maxTasks()}; tasks idle longer than the retention
 * are dropped from its head as records arrive. A task's contribution to its groups is subtracted and added
 * again whenever it changes, so a task that moves to another model (its last call changed model) or gets an
 * outcome moves in the totals too. The counters ({@link #calls()}, {@link #retries()}, ...) are
 * {@link LongAdder}s, readable without the monitor.
 *
 * <pre>{@code
 * AlertBook alerts = new AlertBook();
 * EfficiencyTracker tracker = new EfficiencyTracker(alerts, counter::isExact);
 * AccountingCore accounting = new AccountingCore(List.of(ledger, tracker), 65_536, 100_000);
 * }</pre>
 */
public final class EfficiencyTracker implements UsageSink {
    /** The most (model, prompt hash) pairs remembered per task; beyond it, repeats are flagged by the ledger only. */
    private static final int MAX_PROMPTS_PER_TASK = 256;

    private final EfficiencySettings settings;
    private final LongSupplier clockMillis;
    private final BillingAudit audit;
    private final long idleMillis;
    private final java.util.List<java.util.function.BiConsumer<TaskOutcome, TaskSummary>> outcomeListeners =
            new java.util.concurrent.CopyOnWriteArrayList<>();
    private final long retentionMillis;

    // Guarded by this.
    private final LinkedHashMap<TaskKey, TaskState> tasks;
    private final Map<String, Totals> byModel = new HashMap<>();
    private final Map<String, Totals> byTeam = new HashMap<>();

    private final LongAdder calls = new LongAdder();
    private final LongAdder taskCalls = new LongAdder();
    private final LongAdder retries = new LongAdder();
    private final LongAdder truncated = new LongAdder();

    /** A tracker with the default settings on the system clock. */
    public EfficiencyTracker(AlertBook alerts, Predicate<String> exactModels) {
        this(alerts, exactModels, EfficiencySettings.DEFAULTS, System::currentTimeMillis);
    }

    /** A tracker whose tasks count as unknown after {@code taskIdle} without an outcome. */
    public EfficiencyTracker(AlertBook alerts, Predicate<String> exactModels, Duration taskIdle) {
        this(alerts, exactModels, EfficiencySettings.DEFAULTS.withTaskIdle(taskIdle), System::currentTimeMillis);
    }

    /**
     * @param alerts where billing discrepancies are raised
     * @param exactModels which models the token counter counts exactly ({@code TokenCounter::isExact})
     */
    public EfficiencyTracker(AlertBook alerts, Predicate<String> exactModels, EfficiencySettings settings,
                             LongSupplier clockMillis) {
        this(alerts, exactModels, settings, clockMillis, null);
    }

    /**
     * @param alerts where billing discrepancies are raised
     * @param exactModels which models the token counter counts exactly ({@code TokenCounter::isExact})
     * @param inflation follows each model's input tokens per byte of prompt text, or {@code null}
     */
    public EfficiencyTracker(AlertBook alerts, Predicate<String> exactModels, EfficiencySettings settings,
                             LongSupplier clockMillis, TokenInflation inflation) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.clockMillis = Objects.requireNonNull(clockMillis, "clockMillis");
        this.audit = new BillingAudit(exactModels, alerts, settings, inflation);
        this.idleMillis = settings.taskIdle().toMillis();
        this.retentionMillis = settings.taskRetention().toMillis();
        int maxTasks = settings.maxTasks();
        this.tasks = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<TaskKey, TaskState> eldest) {
                return size() > maxTasks;
            }
        };
    }

    @Override
    public void accept(UsageRecord r) {
        calls.increment();
        boolean cut = isTruncated(r.finishReason());
        if (cut) {
            truncated.increment();
        }
        audit.observe(r);
        if (r.taskId() == null) {
            return;
        }
        taskCalls.increment();
        long now = clockMillis.getAsLong();
        boolean retry;
        synchronized (this) {
            TaskKey key = new TaskKey(r.team(), r.taskId());
            TaskState task = tasks.get(key);
            if (task == null) {
                task = new TaskState(key, r.createdAtMillis());
                tasks.put(key, task);
            } else {
                contribute(task, -1);
            }
            retry = task.add(r, cut);
            contribute(task, +1);
            dropIdle(now);
        }
        if (retry) {
            retries.increment();
        }
    }

    /**
     * Records an outcome (the caller stored it in the ledger) and tells the outcome listeners, with {@code task} the
     * task it judges as the caller found it (in the ledger or in memory).
     */
    public void outcome(TaskOutcome outcome, TaskSummary task) {
        outcome(outcome);
        for (java.util.function.BiConsumer<TaskOutcome, TaskSummary> listener : outcomeListeners) {
            try {
                listener.accept(outcome, task);
            } catch (RuntimeException e) {
                org.slf4j.LoggerFactory.getLogger(EfficiencyTracker.class)
                        .error("An outcome listener failed on task {}", outcome.taskId(), e);
            }
        }
    }

    /** Adds a listener told of every outcome reported (after start-up, before the first outcome). */
    public void onOutcome(java.util.function.BiConsumer<TaskOutcome, TaskSummary> listener) {
        outcomeListeners.add(listener);
    }

    /** Records an outcome in the live totals (the caller stores it in the ledger); a task no longer in memory is left out. */
    public synchronized void outcome(TaskOutcome outcome) {
        TaskState task = tasks.get(new TaskKey(outcome.team(), outcome.taskId()));
        if (task != null) {
            contribute(task, -1);
            task.outcome = outcome;
            contribute(task, +1);
        }
    }

    /** The task as this tracker saw it since start, if it is still in memory. */
    public synchronized Optional<TaskSummary> task(String team, String taskId) {
        TaskState task = tasks.get(new TaskKey(team, taskId));
        return task == null ? Optional.empty() : Optional.of(task.summary());
    }

    /** The teams with a task of this id in memory, in alphabetical order. */
    public synchronized List<String> teamsOf(String taskId) {
        Set<String> teams = new TreeSet<>();
        for (TaskKey key : tasks.keySet()) {
            if (key.taskId().equals(taskId)) {
                teams.add(key.team());
            }
        }
        return List.copyOf(teams);
    }

    /**
     * The live totals since start per model (of each task's last call) or per team, ordered by name. Tasks
     * without an outcome are {@code pending} while in memory and not idle, {@code unknown} otherwise.
     *
     * @throws IllegalArgumentException for a grouping other than model or team
     */
    public synchronized List<EfficiencyTotals> live(GroupBy groupBy) {
        Map<String, Totals> groups = switch (groupBy) {
            case MODEL -> byModel;
            case TEAM -> byTeam;
            default -> throw new IllegalArgumentException("group_by: " + groupBy.label() + " (expected: model or team)");
        };
        long idleBefore = clockMillis.getAsLong() - idleMillis;
        Map<String, Long> pending = new HashMap<>();
        for (TaskState task : tasks.values()) {
            if (task.outcome == null && task.lastAtMillis >= idleBefore) {
                pending.merge(groupBy == GroupBy.MODEL ? task.lastModel : task.key.team(), 1L, Long::sum);
            }
        }
        List<EfficiencyTotals> rows = new ArrayList<>();
        for (Map.Entry<String, Totals> e : new TreeMap<>(groups).entrySet()) {
            Totals t = e.getValue();
            if (t.tasks == 0) {
                continue;
            }
            long open = Math.min(pending.getOrDefault(e.getKey(), 0L), t.withoutOutcome);
            rows.add(new EfficiencyTotals(e.getKey(), t.tasks, t.succeeded, t.failed, t.withoutOutcome - open, open,
                    t.calls, t.retries, t.truncated, t.inputTokens, t.outputTokens, t.judgedTokens, t.judgedCostNanos,
                    t.wastedCostNanos, t.costNanos));
        }
        return rows;
    }

    /** The billing audit and calibration fed by this tracker. */
    public BillingAudit audit() {
        return audit;
    }

    /** The learnt provider/local token ratios of a model without an exact tokenizer (lock-free). */
    public Optional<BillingAudit.Calibration> calibration(String model) {
        return audit.calibration(model);
    }

    public EfficiencySettings settings() {
        return settings;
    }

    /** How long a task without an outcome stays {@code pending} before it counts as {@code unknown}. */
    public Duration taskIdle() {
        return settings.taskIdle();
    }

    /** The clock of this tracker, epoch ms (the routes decide idleness on it too). */
    public long nowMillis() {
        return clockMillis.getAsLong();
    }

    /** All calls seen. */
    public long calls() {
        return calls.sum();
    }

    /** Calls that carried a task id. */
    public long taskCalls() {
        return taskCalls.sum();
    }

    /** Calls flagged as retries (by this tracker's memory). */
    public long retries() {
        return retries.sum();
    }

    /** Calls that ended at the output limit. */
    public long truncated() {
        return truncated.sum();
    }

    /** Tasks in memory. */
    public synchronized int tasksInMemory() {
        return tasks.size();
    }

    /** {@code true} for the finish reasons that mean the output limit cut the answer. */
    public static boolean isTruncated(String finishReason) {
        return "length".equals(finishReason) || "max_tokens".equals(finishReason);
    }

    private void dropIdle(long now) {
        // Access order: the head is the task least recently touched.
        Iterator<TaskState> it = tasks.values().iterator();
        while (it.hasNext()) {
            TaskState task = it.next();
            if (now - task.touchedAtMillis <= retentionMillis) {
                break;
            }
            it.remove();
        }
    }

    private void contribute(TaskState task, int sign) {
        byModel.computeIfAbsent(task.lastModel, m -> new Totals()).add(task, sign);
        byTeam.computeIfAbsent(task.key.team(), m -> new Totals()).add(task, sign);
    }

    private record TaskKey(String team, String taskId) {
    }

    private record Prompt(String model, long hash) {
    }

    /** One task in memory; guarded by the tracker's monitor. */
    private final class TaskState {
        final TaskKey key;
        long firstAtMillis;
        final Set<String> models = new LinkedHashSet<>();
        final Set<String> keyIds = new LinkedHashSet<>();
        final Set<Prompt> prompts = new HashSet<>();
        String lastModel;
        long lastAtMillis;
        long touchedAtMillis;
        long calls;
        long retries;
        long truncated;
        long inputTokens;
        long outputTokens;
        long costNanos;
        TaskOutcome outcome;

        TaskState(TaskKey key, long firstAtMillis) {
            this.key = key;
            this.firstAtMillis = firstAtMillis;
        }

        /** Adds a call; returns whether it is a retry. */
        boolean add(UsageRecord r, boolean cut) {
            boolean retry = r.taskAttempt() > 1 || r.gatewayRetried();
            if (r.promptHash() != 0) {
                Prompt prompt = new Prompt(r.requestedModel(), r.promptHash());
                if (prompts.contains(prompt)) {
                    retry = true;
                } else if (prompts.size() < MAX_PROMPTS_PER_TASK) {
                    prompts.add(prompt);
                }
            }
            models.add(r.model());
            keyIds.add(r.keyId());
            firstAtMillis = Math.min(firstAtMillis, r.createdAtMillis());
            if (lastModel == null || r.createdAtMillis() >= lastAtMillis) {
                lastModel = r.model();
                lastAtMillis = r.createdAtMillis();
            }
            touchedAtMillis = clockMillis.getAsLong();
            calls++;
            retries += retry ? 1 : 0;
            truncated += cut ? 1 : 0;
            inputTokens += r.usage().inputTokens();
            outputTokens += r.usage().outputTokens();
            costNanos += r.costNanos();
            return retry;
        }

        TaskSummary summary() {
            return new TaskSummary(key.team(), key.taskId(), calls, retries, truncated, inputTokens, outputTokens,
                    costNanos, List.copyOf(models), List.copyOf(keyIds), lastModel, firstAtMillis, lastAtMillis, outcome);
        }
    }

    /** The running sums of one group; guarded by the tracker's monitor. */
    private static final class Totals {
        long tasks;
        long succeeded;
        long failed;
        long withoutOutcome;
        long calls;
        long retries;
        long truncated;
        long inputTokens;
        long outputTokens;
        long judgedTokens;
        long judgedCostNanos;
        long wastedCostNanos;
        long costNanos;

        void add(TaskState t, int sign) {
            tasks += sign;
            if (t.outcome == null) {
                withoutOutcome += sign;
            } else {
                judgedTokens += sign * (t.inputTokens + t.outputTokens);
                judgedCostNanos += sign * t.costNanos;
                if (t.outcome.success()) {
                    succeeded += sign;
                } else {
                    failed += sign;
                    wastedCostNanos += sign * t.costNanos;
                }
            }
            calls += sign * t.calls;
            retries += sign * t.retries;
            truncated += sign * t.truncated;
            inputTokens += sign * t.inputTokens;
            outputTokens += sign * t.outputTokens;
            costNanos += sign * t.costNanos;
        }
    }
}
