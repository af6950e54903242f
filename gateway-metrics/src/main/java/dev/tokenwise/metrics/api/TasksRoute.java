package dev.tokenwise.metrics.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenwise.core.auth.Principal;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.model.Money;
import dev.tokenwise.core.spi.ApiRoute;
import dev.tokenwise.metrics.efficiency.EfficiencyTracker;
import dev.tokenwise.metrics.ledger.Ledger;
import dev.tokenwise.metrics.ledger.TaskLedger;
import dev.tokenwise.metrics.ledger.TaskOutcome;
import dev.tokenwise.metrics.ledger.TaskSummary;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Iterator;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tasks and their outcomes.
 *
 * <ul>
 *   <li>{@code GET /api/v1/tasks/{id}}: the task's calls added up ({@code calls, retries, truncated,
 *       input_tokens, output_tokens, cost_usd, models, last_model, first_at, last_at}) with its outcome
 *       ({@code success} true, false or null, {@code score}, {@code note}) and {@code status}: {@code succeeded},
 *       {@code failed}, {@code pending} (no outcome yet) or {@code unknown} (no outcome and idle longer than the
 *       tracker's task idle time).</li>
 *   <li>{@code POST /api/v1/tasks/{id}/outcome} with {@code {"success": true|false, "score": 0..1, "note": "…"}}
 *       ({@code score} and {@code note} optional): stores the outcome, replacing an earlier one, and answers the
 *       task as above.</li>
 * </ul>
 *
 * <p>A task is a team's: the id is the client's {@code X-Task-Id} (percent-encode it in the path if it has
 * reserved characters). Any key of the team may read it; only a key that ran one of its calls, or the admin
 * key, may report its outcome. No key: 401; no call of the caller's team with that id: 404, the same answer
 * whether another team used the id or nobody did (task ids are chosen by clients and easy to guess, so a
 * different answer would tell who uses which); another key of the team reporting an outcome: 403; a bad body:
 * 400 naming the field. The admin key names the team with {@code ?team=} when several teams used the same id
 * (400 otherwise).
 *
 * <p>Everything that reads or writes the ledger runs on the executor given to the constructor, never on the
 * event loop. A task whose calls the ledger has not committed yet (a few milliseconds) is answered from the
 * tracker's memory.
 */
public final class TasksRoute implements ApiRoute {
    private static final Logger log = LoggerFactory.getLogger(TasksRoute.class);
    private static final String PREFIX = "/api/v1/tasks/";
    private static final String OUTCOME = "/outcome";
    private static final int MAX_TASK_ID = 128;
    private static final int MAX_NOTE = 2_000;
    private static final Set<String> FIELDS = Set.of("success", "score", "note");
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private final Ledger ledger;
    private final TaskLedger tasks;
    private final EfficiencyTracker tracker;
    private final Executor executor;

    /**
     * @param tracker the tracker registered as a usage sink (tasks not committed yet, idle time, clock)
     * @param executor where the ledger is read and written (a worker pool, not an event loop)
     */
    public TasksRoute(Ledger ledger, EfficiencyTracker tracker, Executor executor) {
        this.ledger = Objects.requireNonNull(ledger, "ledger");
        this.tasks = ledger.tasks();
        this.tracker = Objects.requireNonNull(tracker, "tracker");
        this.executor = Objects.requireNonNull(executor, "executor");
    }

    @Override
    public boolean matches(HttpMethod method, String path) {
        if (!matchesPath(path)) {
            return false;
        }
        boolean outcome = path.endsWith(OUTCOME) && path.length() > PREFIX.length() + OUTCOME.length();
        return outcome ? HttpMethod.POST.equals(method) : HttpMethod.GET.equals(method);
    }

    @Override
    public boolean matchesPath(String path) {
        return path.startsWith(PREFIX) && path.length() > PREFIX.length();
    }

    @Override
    public CompletableFuture<Response> handle(Request request) {
        Principal principal = request.requirePrincipal();
        boolean post = HttpMethod.POST.equals(request.method());
        String encoded = request.path().substring(PREFIX.length(),
                request.path().length() - (post ? OUTCOME.length() : 0));
        String taskId = taskId(encoded);
        String team = principal.admin() ? emptyToNull(request.queryParam("team")) : null;
        if (!post) {
            return CompletableFuture.supplyAsync(() -> guarded(taskId, () -> {
                TaskSummary task = resolve(principal, taskId, team, false);
                return Response.json(200, toJson(task, tracker.nowMillis(), tracker.taskIdle().toMillis()));
            }), executor);
        }
        Body body = body(request.body());
        return CompletableFuture.supplyAsync(() -> guarded(taskId, () -> {
            TaskSummary task = resolve(principal, taskId, team, true);
            TaskOutcome outcome = new TaskOutcome(task.team(), taskId, principal.admin() ? null : principal.keyId(),
                    body.success(), body.score(), body.note(), tracker.nowMillis());
            tasks.saveOutcome(outcome);
            tracker.outcome(outcome, task);
            return Response.json(200, toJson(task.withOutcome(outcome), tracker.nowMillis(),
                    tracker.taskIdle().toMillis()));
        }), executor);
    }

    private <T> T guarded(String taskId, Supplier<T> work) {
        try {
            return work.get();
        } catch (GatewayException e) {
            throw e;
        } catch (RuntimeException e) {
            log.error("Task {}: the ledger {} failed", taskId, ledger.name(), e);
            throw new GatewayException(ErrorType.UNAVAILABLE, "the usage ledger cannot be read or written right now");
        }
    }

    /** Finds the task the caller may see (or, with {@code write}, report on), or throws the 4xx that says why not. */
    private TaskSummary resolve(Principal principal, String taskId, String teamParam, boolean write) {
        if (principal.admin()) {
            String team = teamParam;
            if (team == null) {
                Set<String> teams = teamsOf(taskId);
                if (teams.isEmpty()) {
                    throw notFound(taskId);
                }
                if (teams.size() > 1) {
                    throw new GatewayException(ErrorType.BAD_REQUEST, "task " + taskId + " is used by several teams ("
                            + String.join(", ", teams) + "): name one with ?team=");
                }
                team = teams.iterator().next();
            }
            return find(team, taskId).orElseThrow(() -> notFound(taskId));
        }
        // Only the caller's team is looked at: another team's task with this id is answered as no task at all.
        TaskSummary task = find(principal.team(), taskId).orElseThrow(() -> notFound(taskId));
        if (write && !task.keyIds().contains(principal.keyId())) {
            throw new GatewayException(ErrorType.FORBIDDEN, "task " + taskId + " was run by another key: only the key "
                    + "that ran it or the admin key may report its outcome");
        }
        return task;
    }

    private Optional<TaskSummary> find(String team, String taskId) {
        Optional<TaskSummary> committed = tasks.task(team, taskId);
        if (committed.isPresent()) {
            return committed;
        }
        return tracker.task(team, taskId)
                .map(live -> live.withOutcome(tasks.outcome(team, taskId).orElse(live.outcome())));
    }

    private Set<String> teamsOf(String taskId) {
        Set<String> teams = new TreeSet<>(tasks.teamsOf(taskId));
        teams.addAll(tracker.teamsOf(taskId));
        return teams;
    }

    private static GatewayException notFound(String taskId) {
        return new GatewayException(ErrorType.NOT_FOUND, "no task " + taskId);
    }

    private static String emptyToNull(String s) {
        return s == null || s.isEmpty() ? null : s;
    }

    /** The task id of a path segment: percent-decoded ('+' is a plus), 1 to 128 printable ASCII characters. */
    static String taskId(String encoded) {
        String id;
        try {
            id = QueryStringDecoder.decodeComponent(encoded.replace("+", "%2B"), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw new GatewayException(ErrorType.BAD_REQUEST, "task id: " + encoded + " is not valid percent-encoding");
        }
        if (id.isEmpty() || id.length() > MAX_TASK_ID) {
            throw new GatewayException(ErrorType.BAD_REQUEST, "task id: " + id.length()
                    + " characters (expected: 1 to " + MAX_TASK_ID + ")");
        }
        for (int i = 0; i < id.length(); i++) {
            char c = id.charAt(i);
            if (c < 0x20 || c > 0x7e) {
                throw new GatewayException(ErrorType.BAD_REQUEST, "task id: character " + i
                        + " is not printable ASCII (expected: printable ASCII, as in X-Task-Id)");
            }
        }
        return id;
    }

    /** The outcome body, validated. */
    record Body(boolean success, Double score, String note) {
    }

    static Body body(byte[] bytes) {
        JsonNode root;
        try {
            root = bytes == null || bytes.length == 0 ? null : MAPPER.readTree(bytes);
        } catch (IOException e) {
            String why = e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
            throw new GatewayException(ErrorType.BAD_REQUEST, "body: not valid JSON (" + why + ")");
        }
        if (root == null || !root.isObject()) {
            throw new GatewayException(ErrorType.BAD_REQUEST,
                    "body: expected a JSON object such as {\"success\": true, \"score\": 0.8, \"note\": \"…\"}");
        }
        for (Iterator<String> names = root.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!FIELDS.contains(name)) {
                throw new GatewayException(ErrorType.BAD_REQUEST, "unknown field: " + name
                        + " (expected: success, score, note)");
            }
        }
        JsonNode success = root.get("success");
        if (success == null || !success.isBoolean()) {
            throw new GatewayException(ErrorType.BAD_REQUEST, "success: " + (success == null ? "missing" : success)
                    + " (expected: true or false)");
        }
        JsonNode score = root.get("score");
        Double scoreValue = null;
        if (score != null && !score.isNull()) {
            if (!score.isNumber() || !(score.asDouble() >= 0 && score.asDouble() <= 1)) {
                throw new GatewayException(ErrorType.BAD_REQUEST, "score: " + score + " (expected: a number from 0 to 1)");
            }
            scoreValue = score.asDouble();
        }
        JsonNode note = root.get("note");
        String noteValue = null;
        if (note != null && !note.isNull()) {
            if (!note.isTextual() || note.asText().length() > MAX_NOTE) {
                throw new GatewayException(ErrorType.BAD_REQUEST, "note: expected a string of at most " + MAX_NOTE
                        + " characters");
            }
            noteValue = note.asText();
        }
        return new Body(success.asBoolean(), scoreValue, noteValue);
    }

    /** {@code succeeded}, {@code failed}, {@code unknown} (no outcome, idle) or {@code pending} (no outcome yet). */
    static String status(TaskSummary task, long nowMillis, long idleMillis) {
        if (task.outcome() != null) {
            return task.outcome().success() ? "succeeded" : "failed";
        }
        return task.lastAtMillis() < nowMillis - idleMillis ? "unknown" : "pending";
    }

    static byte[] toJson(TaskSummary task, long nowMillis, long idleMillis) {
        return JsonBody.write(512, g -> {
            TaskOutcome o = task.outcome();
            g.writeStartObject();
            g.writeStringField("task_id", task.taskId());
            g.writeStringField("team", task.team());
            g.writeStringField("status", status(task, nowMillis, idleMillis));
            if (o == null) {
                g.writeNullField("success");
                g.writeNullField("score");
                g.writeNullField("note");
                g.writeNullField("outcome_at");
            } else {
                g.writeBooleanField("success", o.success());
                if (o.score() == null) {
                    g.writeNullField("score");
                } else {
                    g.writeNumberField("score", o.score());
                }
                g.writeStringField("note", o.note());
                g.writeStringField("outcome_at", Instant.ofEpochMilli(o.atMillis()).toString());
            }
            g.writeNumberField("calls", task.calls());
            g.writeNumberField("retries", task.retries());
            g.writeNumberField("truncated", task.truncated());
            g.writeNumberField("input_tokens", task.inputTokens());
            g.writeNumberField("output_tokens", task.outputTokens());
            g.writeFieldName("cost_usd");
            g.writeNumber(Money.toUsd(task.costNanos()).toPlainString());
            g.writeNumberField("cost_nanos", task.costNanos());
            g.writeArrayFieldStart("models");
            for (String model : task.models()) {
                g.writeString(model);
            }
            g.writeEndArray();
            g.writeStringField("last_model", task.lastModel());
            g.writeStringField("first_at", Instant.ofEpochMilli(task.firstAtMillis()).toString());
            g.writeStringField("last_at", Instant.ofEpochMilli(task.lastAtMillis()).toString());
            g.writeEndObject();
        });
    }
}
