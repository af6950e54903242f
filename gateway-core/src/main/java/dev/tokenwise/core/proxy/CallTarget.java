package dev.tokenwise.core.proxy;

import dev.tokenwise.core.auth.KeyRegistry;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.spi.ModelRouter;
import dev.tokenwise.core.spi.ProviderStats;
import io.netty.handler.codec.http.FullHttpRequest;
import java.util.ArrayList;
import java.util.List;

/**
 * Where a proxied call may go, resolved from the model it names before anything is admitted: an efficiency route
 * first chooses one of its candidates ({@link ModelRouter}), the model resolves to its {@link Deployment}, and the
 * chain lists what a failing provider falls back to. The checks are answered in this order: a route or model outside
 * the key's list 403, a model not served or whose provider is disabled 404, an unpriced billed model 403
 * {@code model_not_priced} (unless {@code pricing.allow_unpriced}), an endpoint the provider does not serve 400.
 *
 * @param model the model the call goes to (a route's choice, or the model asked for)
 * @param deployment its deployment
 * @param chain the deployment, then its fallbacks that are enabled, allowed for the key and priced (unless unpriced
 *     models are allowed); for a route, then the route's other candidates (allowed with the route), so that the
 *     reservation covers the dearest candidate and a failing provider falls back as a chain does
 * @param routed the route's choice, whose lease the call's admission holds; {@code null} when no route was named
 */
record CallTarget(String model, Deployment deployment, List<Deployment> chain, ModelRouter.Routed routed) {

    /**
     * Resolves {@code model}, named by a call to {@code endpoint} with {@code key}, or throws the refusal.
     *
     * @param request the call's request, whose task id is read (and validated) only when a route needs it
     */
    static CallTarget resolve(ProxyContext proxy, KeyRegistry.KeyEntry key, String model, Endpoint endpoint,
                              FullHttpRequest request) {
        ModelRouter.Routed routed = null;
        if (proxy.config().route(model) != null) {
            requireAllowed(key, model);
            routed = proxy.router().route(model, key.team(), ClientFrontendHandler.taskId(request), name -> takesNewTasks(proxy, name));
            model = routed.model();
        }
        Deployment deployment = proxy.deployments().get(model);
        if (deployment == null) {
            throw new GatewayException(ErrorType.MODEL_NOT_FOUND, "model " + model
                    + " is not served by this gateway (GET /v1/models lists the models it serves)");
        }
        if (!deployment.provider().enabled()) {
            throw new GatewayException(ErrorType.MODEL_NOT_FOUND, "model " + model + " is unavailable: provider "
                    + deployment.provider().name() + " is disabled (" + deployment.provider().disabledReason() + ")");
        }
        if (routed == null) {
            requireAllowed(key, model);
        }
        boolean allowUnpriced = proxy.config().budgets().allowUnpriced();
        if (deployment.model().price() == null && !allowUnpriced && endpoint.billed()) {
            throw new GatewayException(ErrorType.MODEL_NOT_PRICED, "model " + model + " has no price, so no budget can"
                    + " hold its calls: add it to the price catalog (or set pricing.allow_unpriced: true)");
        }
        if (!deployment.adapter().supports(endpoint)) {
            throw new GatewayException(ErrorType.BAD_REQUEST, "model " + model + " (provider "
                    + deployment.provider().name() + ") does not serve " + endpoint.clientPath());
        }
        return new CallTarget(model, deployment, chain(proxy, deployment, key, routed), routed);
    }

    /** {@code true} when a model of the chain has no price (only reached when unpriced models are allowed). */
    boolean unpriced() {
        for (Deployment d : chain) {
            if (d.model().price() == null) {
                return true;
            }
        }
        return false;
    }

    /** The chain of {@code first} (see {@link #chain()}). */
    private static List<Deployment> chain(ProxyContext proxy, Deployment first, KeyRegistry.KeyEntry key,
                                          ModelRouter.Routed routed) {
        List<String> fallbacks = first.model().fallbacks();
        if (fallbacks.isEmpty() && routed == null) {
            return List.of(first);
        }
        List<Deployment> chain = new ArrayList<>(1 + fallbacks.size());
        chain.add(first);
        for (String name : fallbacks) {
            Deployment d = proxy.deployments().get(name);
            if (d != null && d.provider().enabled() && key.allows(name)
                    && (d.model().price() != null || proxy.config().budgets().allowUnpriced())) {
                chain.add(d);
            }
        }
        if (routed != null) {
            for (String name : routed.others()) {
                Deployment d = proxy.deployments().get(name);
                if (d != null && !chain.contains(d) && d.provider().enabled()
                        && (d.model().price() != null || proxy.config().budgets().allowUnpriced())) {
                    chain.add(d);
                }
            }
        }
        return chain;
    }

    private static void requireAllowed(KeyRegistry.KeyEntry key, String model) {
        if (!key.allows(model)) {
            throw new GatewayException(ErrorType.MODEL_NOT_ALLOWED,
                    "key " + key.id() + " is not allowed to use model " + model);
        }
    }

    /** A model a route may give a new task: served, its provider enabled and its breaker not open. */
    private static boolean takesNewTasks(ProxyContext proxy, String model) {
        Deployment d = proxy.deployments().get(model);
        if (d == null || !d.provider().enabled()) {
            return false;
        }
        ProviderHealth health = proxy.health().get(d.provider().name());
        return health == null || health.state() != ProviderStats.BreakerState.OPEN;
    }
}
