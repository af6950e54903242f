package dev.tokenwise.server;

import dev.tokenwise.core.config.GatewayConfig;
import dev.tokenwise.core.config.ModelConfig;
import dev.tokenwise.core.proxy.ProviderHealth;
import dev.tokenwise.core.spi.ProviderStats;
import dev.tokenwise.metrics.ledger.TaskLedger;
import dev.tokenwise.metrics.routing.RoutePolicy;
import dev.tokenwise.metrics.routing.Router;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Builds the efficiency router of a config, its state rebuilt from the ledger's recent evidence. */
final class Routing {
    private static final Logger log = LoggerFactory.getLogger(Routing.class);
    /** How far back the ledger is read at start-up; older evidence would weigh little after the half-life anyway. */
    static final Duration HISTORY = Duration.ofDays(30);
    /** The most recent judged tasks (and, apart, calls without a task) read back at start-up. */
    static final int HISTORY_LIMIT = 20_000;
    /** How often an instance on a shared ledger refreshes its routes from it. */
    static final Duration SHARED_REFRESH = Duration.ofSeconds(
            Long.getLong("tokenwise.routes.shared_refresh_seconds", 10));

    /**
     * A fixed seed for the routers' random draws ({@code -Dtokenwise.routes.seed=N}), so that a replay of the same
     * outcomes in the same order chooses the same way: for experiments and tests. Unset in production, where every
     * event loop draws from its own {@link ThreadLocalRandom}.
     */
    static final String SEED_PROPERTY = "tokenwise.routes.seed";

    private Routing() {
    }

    static Router router(GatewayConfig config, TaskLedger tasks, LongSupplier clockMillis) {
        Map<String, Double> weights = new HashMap<>();
        for (ModelConfig m : config.models().values()) {
            // A task's cost is roughly input plus output tokens at their prices: their sum orders the candidates.
            weights.put(m.name(), m.price() == null ? 0.0
                    : (double) m.price().inputNanosPerMtok() + m.price().outputNanosPerMtok());
        }
        Router router = new Router(config.routes(), weights, RoutePolicy.Settings.DEFAULT_WINDOW,
                RoutePolicy.Settings.DEFAULT_FADE_WINDOW, RoutePolicy.Settings.DEFAULT_HALF_LIFE_MILLIS, clockMillis, random());
        if (!config.routes().isEmpty()) {
            var evidence = tasks.routeEvidence(clockMillis.getAsLong() - HISTORY.toMillis(), HISTORY_LIMIT);
            router.rebuild(evidence);
            log.info("Efficiency routes {}: state rebuilt from {} judged tasks and calls of the ledger",
                    config.routes().keySet(), evidence.size());
        }
        return router;
    }

    /** The routers' source of draws: seeded and shared when {@link #SEED_PROPERTY} is set (Random is thread-safe). */
    private static Supplier<RandomGenerator> random() {
        Long seed = Long.getLong(SEED_PROPERTY);
        if (seed == null) {
            return ThreadLocalRandom::current;
        }
        RandomGenerator seeded = new Random(seed);
        return () -> seeded;
    }

    /**
     * On a ledger several instances share (PostgreSQL), refreshes the router from it every {@code every}, so that
     * every instance reaches the picture all instances' outcomes make (within that delay). A refresh that fails is
     * logged and tried again at the next one; the router meanwhile keeps what it learnt.
     */
    static void shareThroughLedger(Router router, TaskLedger tasks, ScheduledExecutorService scheduler,
                                   LongSupplier clockMillis, Duration every) {
        scheduler.scheduleWithFixedDelay(() -> {
            try {
                router.refresh(tasks.routeEvidence(clockMillis.getAsLong() - HISTORY.toMillis(), HISTORY_LIMIT));
            } catch (RuntimeException e) {
                log.warn("Efficiency routes: could not refresh from the shared ledger ({}); trying again in {} s",
                        e.toString(), every.toSeconds());
            }
        }, every.toMillis(), every.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Whether a model can take new tasks: its provider is enabled and its breaker not open. */
    static Predicate<String> available(GatewayConfig config, Supplier<Map<String, ProviderHealth>> health) {
        return model -> {
            ModelConfig m = config.models().get(model);
            if (m == null || !config.providers().get(m.provider()).enabled()) {
                return false;
            }
            ProviderHealth h = health.get().get(m.provider());
            return h == null || h.state() != ProviderStats.BreakerState.OPEN;
        };
    }
}
