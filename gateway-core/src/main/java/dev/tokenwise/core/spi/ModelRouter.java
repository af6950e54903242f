package dev.tokenwise.core.spi;

import java.util.List;
import java.util.Objects;
import java.util.function.Predicate;

/**
 * Resolves an efficiency route (a name clients call like a model) to the model that serves a call, where the proxy
 * resolves the model. Called on the event loop: an implementation decides from memory, without blocking.
 *
 * <pre>{@code
 * ModelRouter.Routed routed = router.route("auto-value", "team-a", "task-17", model -> breakerClosed(model));
 * // routed.model(): the candidate that serves the call; routed.lease(): held by the call's admission
 * }</pre>
 */
public interface ModelRouter {

    /** No routes: every name is a model's. */
    ModelRouter NONE = (name, team, taskId, available) -> null;

    /**
     * The candidate of route {@code name} for a call of {@code team}'s task {@code taskId} ({@code null} for a call
     * without a task), or {@code null} when {@code name} is not a route.
     *
     * @param available whether a model can take a new task (its provider's breaker is not open); a task keeps its
     *     candidate all the same
     */
    Routed route(String name, String team, String taskId, Predicate<String> available);

    /**
     * A routing decision.
     *
     * @param route the route called
     * @param model the candidate chosen
     * @param reason {@code exploit} or {@code explore}
     * @param others the route's other candidates, tried after {@code model} when its provider fails, as fallbacks
     * @param lease held by the call's admission: it marks the record with the route and learns from how the call ended
     */
    record Routed(String route, String model, String reason, List<String> others, AdmissionStage.Lease lease) {
        public Routed {
            Objects.requireNonNull(route, "route");
            Objects.requireNonNull(model, "model");
            Objects.requireNonNull(reason, "reason");
            others = List.copyOf(others);
            Objects.requireNonNull(lease, "lease");
        }
    }
}
