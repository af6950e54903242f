package dev.tokenwise.metrics.routing;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.tokenwise.core.config.RouteConfig;
import dev.tokenwise.core.model.CallStatus;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.spi.AdmissionStage;
import dev.tokenwise.core.spi.ModelRouter;
import dev.tokenwise.core.spi.UsageSink;
import dev.tokenwise.metrics.ledger.RouteEvidence;
import dev.tokenwise.metrics.ledger.TaskOutcome;
import dev.tokenwise.metrics.ledger.TaskSummary;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.LongSupplier;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;

/**
 * Applies and teaches the {@link RoutePolicy} of each efficiency route.
 *
 * <ul>
 *   <li><b>Choosing</b> ({@link #route}, on the event loop): a call with {@code X-Task-Id} gets the candidate its task
 *       got first (sticky: a bounded map of tasks, kept a day after their last call), so a task's outcome judges one
 *       model; a new task, or a call without a task, gets the policy's choice among the candidates that can take new
 *       tasks. The lease marks the record: {@code route}, {@code route_reason}, {@code requested_model} the route.</li>
 *   <li><b>Learning from outcomes</b> ({@link #outcome}, from the outcome API: clients, {@code tokenwise eval},
 *       probes): a task with an outcome teaches every route that has its last call's model as a candidate, whether the
 *       task called the route or the model itself.</li>
 *   <li><b>Learning from calls without a task</b> ({@link #accept}, a {@link UsageSink}): a call made to a route
 *       without {@code X-Task-Id} teaches that route: a success when it ended {@code ok} and not cut by the output
 *       limit or a content filter; a failure when it ended otherwise; not judged when the provider refused it with a
 *       4xx other than 429, or the client cancelled it.</li>
 *   <li><b>Restart</b> ({@link #rebuild}): the same evidence, read back from the ledger, replayed in order.</li>
 * </ul>
 */
public final class Router implements ModelRouter, UsageSink {
    /** Judged tasks kept per route for the API's figures. */
    public static final int WINDOW = 500;
    private static final int MAX_STICKY_TASKS = 100_000;
    private static final Duration STICKY_FOR = Duration.ofDays(1);

    /** A route's choice for one task. */
    private record Assignment(String model, RoutePolicy.Reason reason) {
    }

    private record TaskKey(String route, String team, String taskId) {
    }

    /** One judged task (or call without a task) of a route, for the API's window. */
    public record Judged(String model, long atMillis, long costNanos, boolean success) {
    }

    private final Map<String, RouteConfig> routes;
    private final Map<String, RoutePolicy> policies = new LinkedHashMap<>();
    private final Map<String, Deque<Judged>> recent = new LinkedHashMap<>();
    private final Supplier<RandomGenerator> random;
    private final Cache<TaskKey, Assignment> sticky;

    /**
     * @param priceWeights a relative price per model (e.g. input plus output price per million tokens); a missing or
     *     zero weight counts as the cheapest until the model's cost is measured
     * @param window the observations of a candidate its posterior mostly reflects ({@link RoutePolicy.Settings})
     * @param fadeWindow the route's observations after which a candidate's evidence has faded to {@code 1/e}
     * @param halfLifeMillis the wall time after which old evidence counts half
     * @param random the random source of each choice (a thread's own in production, a seeded one in tests)
     */
    public Router(Map<String, RouteConfig> routes, Map<String, Double> priceWeights, int window, int fadeWindow,
                  long halfLifeMillis, LongSupplier clockMillis, Supplier<RandomGenerator> random) {
        this.routes = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(routes));
        this.random = Objects.requireNonNull(random, "random");
        for (RouteConfig r : routes.values()) {
            double[] weights = new double[r.candidates().size()];
            for (int i = 0; i < weights.length; i++) {
                weights[i] = priceWeights.getOrDefault(r.candidates().get(i), 0.0);
            }
            policies.put(r.name(), new RoutePolicy(r.candidates(), weights, new RoutePolicy.Settings(
                    r.minSuccessRate(), r.exploration(), window, fadeWindow, halfLifeMillis), clockMillis));
            recent.put(r.name(), new ArrayDeque<>(WINDOW));
        }
        this.sticky = Caffeine.newBuilder().maximumSize(MAX_STICKY_TASKS).expireAfterAccess(STICKY_FOR)
                .ticker(() -> clockMillis.getAsLong() * 1_000_000L).build();
    }

    @Override
    public Routed route(String name, String team, String taskId, Predicate<String> available) {
        RoutePolicy policy = policies.get(name);
        if (policy == null) {
            return null;
        }
        Assignment a = taskId == null ? choose(policy, available)
                : sticky.get(new TaskKey(name, team, taskId), k -> choose(policy, available));
        List<String> others = new ArrayList<>(policy.candidates());
        others.remove(a.model());
        String reason = a.reason().label();
        return new Routed(name, a.model(), reason, others, new AdmissionStage.Lease() {
            @Override
            public UsageRecord amend(UsageRecord record) {
                return record.toBuilder().requestedModel(name).route(name).routeReason(reason).build();
            }
        });
    }

    private Assignment choose(RoutePolicy policy, Predicate<String> available) {
        RoutePolicy.Choice c = policy.choose(available, random.get());
        return new Assignment(c.candidate(), c.reason());
    }

    /** A task's outcome: teaches every route with its last model as a candidate. */
    public void outcome(TaskOutcome outcome, TaskSummary task) {
        String model = task.lastModel();
        if (model == null) {
            return;
        }
        for (RouteConfig r : routes.values()) {
            if (!r.candidates().contains(model)) {
                continue;
            }
            boolean success = r.succeeded(outcome.success(), outcome.score());
            policies.get(r.name()).observe(model, success, task.costNanos(), outcome.atMillis());
            if (sticky.getIfPresent(new TaskKey(r.name(), task.team(), task.taskId())) != null) {
                remember(r.name(), new Judged(model, outcome.atMillis(), task.costNanos(), success));
            }
        }
    }

    /** A booked call: one made to a route without a task is judged by how it ended. */
    @Override
    public void accept(UsageRecord record) {
        if (record.route() == null || record.taskId() != null) {
            return;
        }
        RoutePolicy policy = policies.get(record.route());
        Boolean success = implicitSuccess(record);
        if (policy == null || success == null) {
            return;
        }
        policy.observe(record.model(), success, record.costNanos(), record.createdAtMillis());
        remember(record.route(), new Judged(record.model(), record.createdAtMillis(), record.costNanos(), success));
    }

    /** The implicit signal of a call without a task: see the class comment; {@code null} when not judged. */
    static Boolean implicitSuccess(UsageRecord r) {
        if (r.status() == CallStatus.CLIENT_CANCELLED) {
            return null;
        }
        if (r.status() == CallStatus.UPSTREAM_ERROR && r.httpStatus() >= 400 && r.httpStatus() < 500
                && r.httpStatus() != 429) {
            return null;
        }
        if (r.status() != CallStatus.OK) {
            return false;
        }
        String finish = r.finishReason();
        return finish == null || !(finish.equals("length") || finish.equals("max_tokens")
                || finish.equals("content_filter"));
    }

    /** Replays the ledger's evidence, oldest first (at start-up, before the first call). */
    public void rebuild(List<RouteEvidence> evidence) {
        for (RouteEvidence e : evidence) {
            for (RouteConfig r : routes.values()) {
                boolean applies = e.task() ? r.candidates().contains(e.model())
                        : r.name().equals(e.route()) && r.candidates().contains(e.model());
                if (!applies) {
                    continue;
                }
                boolean success = e.task() ? r.succeeded(e.success(), e.score()) : e.success();
                policies.get(r.name()).observe(e.model(), success, e.costNanos(), e.atMillis());
                if (r.name().equals(e.route())) {
                    remember(r.name(), new Judged(e.model(), e.atMillis(), e.costNanos(), success));
                }
            }
        }
    }

    /**
     * Replaces what the router learnt with the ledger's evidence, oldest first: how an instance that shares its ledger
     * with others (PostgreSQL) reaches the picture every instance's outcomes make. What is learnt while the evidence
     * is replayed is in the ledger too, so the next refresh has it. Sticky tasks keep their candidate.
     */
    public void refresh(List<RouteEvidence> evidence) {
        Router fresh = new Router(this);
        fresh.rebuild(evidence);
        for (Map.Entry<String, RoutePolicy> e : policies.entrySet()) {
            e.getValue().adopt(fresh.policies.get(e.getKey()));
            Deque<Judged> window = recent.get(e.getKey());
            List<Judged> replayed = fresh.recent(e.getKey());
            synchronized (window) {
                window.clear();
                window.addAll(replayed);
            }
        }
    }

    /** A router with {@code other}'s routes, prices and settings, and nothing learnt (see {@link #refresh}). */
    private Router(Router other) {
        this.routes = other.routes;
        this.random = other.random;
        this.sticky = other.sticky;
        for (Map.Entry<String, RoutePolicy> e : other.policies.entrySet()) {
            policies.put(e.getKey(), e.getValue().emptyCopy());
            recent.put(e.getKey(), new ArrayDeque<>(WINDOW));
        }
    }

    private void remember(String route, Judged judged) {
        Deque<Judged> window = recent.get(route);
        synchronized (window) {
            if (window.size() == WINDOW) {
                window.removeFirst();
            }
            window.addLast(judged);
        }
    }

    /** The routes, in config order. */
    public List<RouteConfig> routes() {
        return List.copyOf(routes.values());
    }

    /** A route's config, or {@code null}. */
    public RouteConfig config(String name) {
        return routes.get(name);
    }

    /** A route's policy, or {@code null}. */
    public RoutePolicy policy(String name) {
        return policies.get(name);
    }

    /** The figures of route {@code name} now, or {@code null} for no such route. */
    public RouteFigures figures(String name, Predicate<String> available) {
        RouteConfig config = routes.get(name);
        return config == null ? null : RouteFigures.of(config, policies.get(name), recent(name), available);
    }

    /** The judged tasks of the route's window, oldest first. */
    public List<Judged> recent(String name) {
        Deque<Judged> window = recent.get(name);
        if (window == null) {
            return List.of();
        }
        synchronized (window) {
            return List.copyOf(window);
        }
    }
}
