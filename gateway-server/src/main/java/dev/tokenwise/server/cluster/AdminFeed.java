package dev.tokenwise.server.cluster;

import dev.tokenwise.core.config.BudgetConfig;
import dev.tokenwise.core.config.BudgetPeriod;
import dev.tokenwise.core.config.RateLimits;
import dev.tokenwise.core.spi.TeamStore;
import dev.tokenwise.server.admin.RateLimitDirectory;
import dev.tokenwise.server.admin.TeamDirectory;
import io.lettuce.core.api.async.RedisAsyncCommands;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Admin changes passed between the instances of a cluster through Redis: team budgets, keys created, key budgets,
 * key revocations and rate limits ({@code tw:admin:rate_limits}) made on one instance are written to Redis ({@code tw:admin:budgets}, a hash of team to
 * {@code "NANOS PERIOD"}; {@code tw:admin:keys}, a hash of key id to its team, the SHA-256 of its secret (never the
 * secret), models, budget and creation time; {@code tw:admin:key_budgets}, a hash of key id to {@code "NANOS PERIOD"}
 * or {@code "-"} once removed, which wins over the budget the key was created with; {@code tw:admin:revoked}, a set
 * of key ids) and a version counter ({@code tw:admin:version}) is incremented. Every
 * instance reads the counter each tick of its {@link RedisLink} (every {@value RedisLink#TICK_MILLIS} ms) and, when
 * it moved, reads both and makes the changes it has not made yet: a change reaches every instance within about
 * a quarter of a second, and one made while an instance was down or cut off reaches it as soon as it is back.
 *
 * <p>A change made on this instance while Redis is unreachable is made here at once and held, in order, until Redis
 * answers again: the first tick after that writes the held changes (before reading the others'), so they reach every
 * instance a quarter of a second after Redis is back. A change whose writing fails is held again. Only a change
 * held by an instance that stops before Redis is back is lost to the others (it is in that instance's store).
 */
public final class AdminFeed implements TeamDirectory.ChangeListener {
    private static final Logger log = LoggerFactory.getLogger(AdminFeed.class);
    static final String BUDGETS = "tw:admin:budgets";
    static final String REVOKED = "tw:admin:revoked";
    /** Keys created through the admin API: id to {@code team TAB sha256 TAB models TAB budget TAB createdAt}. */
    static final String KEYS = "tw:admin:keys";
    /** Rate limits set through the admin API: {@code team:NAME} or {@code key:ID} to {@code "RPM TPM CONCURRENT"}. */
    static final String RATE_LIMITS = "tw:admin:rate_limits";
    /** Key budgets set or removed after the key was made: id to {@code "NANOS PERIOD"}, or {@code "-"} for none. */
    static final String KEY_BUDGETS = "tw:admin:key_budgets";
    static final String VERSION = "tw:admin:version";

    private final RedisLink redis;
    private final TeamDirectory directory;
    private final RateLimitDirectory rateLimits;
    private final Executor blocking;
    /** The version last applied; {@code null} before the first read. */
    private volatile String applied;
    private volatile boolean reading;
    /** The last failure to read or apply the changes, logged once (a Redis outage says so in its own log line). */
    private volatile String lastFailure;
    /** Changes made here and not yet written to Redis, oldest first; guarded by itself. */
    private final ArrayDeque<Consumer<RedisAsyncCommands<String, String>>> held = new ArrayDeque<>();
    /** Whether changes are being written ({@link #writeHeld}); guarded by {@link #held}. */
    private boolean writing;

    /**
     * @param blocking where changes are made (they write the store): never an event loop
     */
    public AdminFeed(RedisLink redis, TeamDirectory directory, RateLimitDirectory rateLimits, Executor blocking) {
        this.redis = redis;
        this.directory = directory;
        this.rateLimits = rateLimits;
        this.blocking = blocking;
    }

    /** Starts passing changes: this directory's to Redis, and Redis's to this directory. */
    public AdminFeed start() {
        directory.onChange(this);
        rateLimits.onChange((kind, name, limits) -> publish(c -> c.hset(RATE_LIMITS, kind + ":" + name,
                limits.requestsPerMinute() + " " + limits.tokensPerMinute() + " " + limits.concurrentRequests())));
        // Redis may come back without its data (a restart without persistence), its version counted from 0 again and
        // equal by chance to the one applied here: read everything again after every outage.
        redis.onUp(() -> applied = null);
        redis.onTick(this::poll);
        return this;
    }

    @Override
    public void teamBudgetChanged(String team, BudgetConfig budget) {
        publish(c -> c.hset(BUDGETS, team, budget.limitNanos() + " " + budget.period().label()));
    }

    @Override
    public void keyCreated(TeamStore.StoredKey key) {
        String budget = key.budget() == null ? "-" : key.budget().limitNanos() + " " + key.budget().period().label();
        String entry = String.join("\t", key.team(), key.hashHex(), String.join(",", key.models()), budget,
                Long.toString(key.createdAtMillis()));
        publish(c -> c.hset(KEYS, key.id(), entry));
    }

    @Override
    public void keyBudgetChanged(String id, BudgetConfig budget) {
        publish(c -> c.hset(KEY_BUDGETS, id, budget == null ? "-" : budget.limitNanos() + " " + budget.period().label()));
    }

    @Override
    public void keyRevoked(String id) {
        publish(c -> c.sadd(REVOKED, id));
    }

    private void publish(Consumer<RedisAsyncCommands<String, String>> change) {
        synchronized (held) {
            held.addLast(change);
        }
        if (!writeHeld()) {
            log.warn("Cluster mode: Redis is unreachable; an admin change made on this instance is held and reaches the"
                    + " others once Redis is back");
        }
    }

    /**
     * Writes the held changes, in order, then increments the version (on the same connection: whoever sees the
     * version sees the changes); when the version's increment fails, they are held again, ahead of any made since.
     *
     * @return false when Redis is unreachable (nothing written)
     */
    private boolean writeHeld() {
        RedisAsyncCommands<String, String> commands = redis.commands();
        if (commands == null || !redis.up()) {
            return false;
        }
        List<Consumer<RedisAsyncCommands<String, String>>> batch;
        synchronized (held) {
            if (writing || held.isEmpty()) {
                return true;
            }
            writing = true;
            batch = new ArrayList<>(held);
            held.clear();
        }
        try {
            batch.forEach(change -> change.accept(commands));
            commands.incr(VERSION).toCompletableFuture().whenComplete((version, error) -> {
                written(batch, error == null);
            });
        } catch (RuntimeException e) {
            written(batch, false);
            throw e;
        }
        return true;
    }

    /** Ends the writing of {@code batch}; when it failed, holds it again ahead of any change made since. */
    private void written(List<Consumer<RedisAsyncCommands<String, String>>> batch, boolean ok) {
        synchronized (held) {
            writing = false;
            if (!ok) {
                for (int i = batch.size() - 1; i >= 0; i--) {
                    held.addFirst(batch.get(i)); // each change sets a value: writing it twice is harmless
                }
            }
        }
    }

    /** Writes the changes held here, then reads the version and, when it moved, the changes. */
    private void poll() {
        RedisAsyncCommands<String, String> commands = redis.commands();
        if (commands == null || reading) {
            return;
        }
        writeHeld();
        reading = true;
        commands.get(VERSION).toCompletableFuture().thenCompose(version -> {
            String v = version == null ? "0" : version;
            if (v.equals(applied)) {
                return java.util.concurrent.CompletableFuture.completedFuture(null);
            }
            var keys = commands.hgetall(KEYS).toCompletableFuture();
            var limits = commands.hgetall(RATE_LIMITS).toCompletableFuture();
            var keyBudgets = commands.hgetall(KEY_BUDGETS).toCompletableFuture();
            return commands.hgetall(BUDGETS).toCompletableFuture().thenCombine(
                    commands.smembers(REVOKED).toCompletableFuture(),
                    (budgets, revoked) -> new Changes(v, budgets, revoked, null, null, null))
                    .thenCombine(keys, (c, created) -> new Changes(v, c.budgets, c.revoked, created, null, null))
                    .thenCombine(limits, (c, set) -> new Changes(v, c.budgets, c.revoked, c.keys, set, null))
                    .thenCombine(keyBudgets, (c, set) -> new Changes(v, c.budgets, c.revoked, c.keys, c.rateLimits,
                            set));
        }).thenAcceptAsync(changes -> {
            if (changes != null) {
                apply(changes);
                applied = changes.version;
            }
        }, blocking).whenComplete((ok, error) -> {
            reading = false;
            String failure = error == null ? null : error.toString();
            if (failure != null && !failure.equals(lastFailure)) {
                // Changes not applied here (a revocation among them) are tried again at the next read: say so once.
                log.warn("Cluster mode: the admin changes in Redis could not be read or applied, trying again: {}",
                        failure);
            }
            lastFailure = failure;
        });
    }

    private record Changes(String version, Map<String, String> budgets, Set<String> revoked,
                           Map<String, String> keys, Map<String, String> rateLimits,
                           Map<String, String> keyBudgets) {
    }

    /** A budget as {@code "NANOS PERIOD"}. */
    private static BudgetConfig budget(String value) {
        String[] parts = value.split(" ");
        return new BudgetConfig(Long.parseLong(parts[0]), BudgetPeriod.parse(parts[1], "budget.period"));
    }

    private void apply(Changes changes) {
        // Teams first (a key needs its team), then keys, then their later budgets (which win over the one a key was
        // created with), then revocations (a key created and revoked ends revoked).
        changes.budgets.forEach((team, value) -> {
            try {
                String[] parts = value.split(" ");
                directory.applyTeamBudget(team, new BudgetConfig(Long.parseLong(parts[0]),
                        BudgetPeriod.parse(parts[1], "budget.period")));
            } catch (RuntimeException e) {
                log.warn("Cluster mode: the budget of team {} in Redis ('{}') could not be applied: {}", team, value,
                        e.toString());
            }
        });
        changes.keys.forEach((id, value) -> {
            try {
                String[] f = value.split("\t", -1);
                List<String> models = f[2].isEmpty() ? List.of() : List.of(f[2].split(","));
                BudgetConfig budget = null;
                if (!f[3].equals("-")) {
                    String[] b = f[3].split(" ");
                    budget = new BudgetConfig(Long.parseLong(b[0]), BudgetPeriod.parse(b[1], "budget.period"));
                }
                directory.applyCreatedKey(new TeamStore.StoredKey(id, f[0], f[1], models, budget,
                        Long.parseLong(f[4]), 0));
            } catch (RuntimeException e) {
                log.warn("Cluster mode: key {} in Redis could not be applied: {}", id, e.toString());
            }
        });
        changes.keyBudgets.forEach((id, value) -> {
            try {
                directory.applyKeyBudget(id, value.equals("-") ? null : budget(value));
            } catch (RuntimeException e) {
                log.warn("Cluster mode: the budget of key {} in Redis ('{}') could not be applied: {}", id, value,
                        e.toString());
            }
        });
        changes.revoked.forEach(directory::applyRevocation);
        changes.rateLimits.forEach((holder, value) -> {
            try {
                int colon = holder.indexOf(':');
                String[] f = value.split(" ");
                rateLimits.applyRemote(holder.substring(0, colon), holder.substring(colon + 1),
                        new RateLimits(Long.parseLong(f[0]), Long.parseLong(f[1]), Integer.parseInt(f[2])));
            } catch (RuntimeException e) {
                log.warn("Cluster mode: the rate limits of {} in Redis could not be applied: {}", holder, e.toString());
            }
        });
    }
}
