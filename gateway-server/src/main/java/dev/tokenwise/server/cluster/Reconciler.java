package dev.tokenwise.server.cluster;

import dev.tokenwise.core.budget.BudgetBook;
import io.lettuce.core.api.async.RedisAsyncCommands;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Books in Redis what an instance that died (say, {@code kill -9}) had spent and not yet booked, from the ledger
 * every instance shares (PostgreSQL).
 *
 * <p>An instance books its calls' costs in Redis a few milliseconds after they end ({@link BudgetScripts#SPEND}, or
 * {@link BudgetScripts#SETTLE} for a call reserved directly); killed in between, those costs never reach
 * {@code spent}, and when its slice or reservation is reclaimed they would be given back as free. Every booking also
 * adds to the window's field {@code booked:INSTANCE}, and every reclaim names the instance in the window's set
 * {@code <hash>:unreconciled}. When {@link RedisBudgets#refresh} finds a window with such an instance, this class
 * reads the instance's spend in that window from the ledger (on {@code executor}: a database round trip, never on
 * the Redis thread nor an event loop) and runs {@link BudgetScripts#RECONCILE}, which adds
 * {@code max(0, ledger - booked)} to {@code spent}, gives back what the reclaim held of the instance's slice and
 * reservations, and takes the instance out of the set, atomically: running it twice, or on two instances at once,
 * adds the difference once. Until then the reclaimed amounts stay held (counted in {@code reserved}), and since a
 * slice's field is never less than what its calls spent and have not booked, nobody can reserve those costs in the
 * meantime: zero overspend, not merely eventual exactness.
 *
 * <p>It errs on counting too much, never too little: an instance that was only cut off from Redis (its slice
 * reclaimed while it lived) books its late costs when it is back, on top of what was reconciled for it. No call pays
 * a Redis round trip for any of this: the field is written by the scripts that book anyway, and the check rides on
 * the once-a-second refresh's {@code HMGET}.
 */
public final class Reconciler {
    private static final Logger log = LoggerFactory.getLogger(Reconciler.class);

    /** The ledger's side: what an instance's calls of a team or a key cost in a period. */
    @FunctionalInterface
    public interface InstanceSpend {
        /** The cost of {@code instanceId}'s calls of the team ({@code keyId} null) or the key, created in [from, to). */
        long spentNanos(String instanceId, String team, String keyId, long fromMillis, long toMillis);
    }

    /**
     * What reconciling did since start-up.
     *
     * @param instances instances (per window) taken out of a window's set to reconcile
     * @param addedNanos nano-USD added to {@code spent} because the ledger held more than Redis had booked
     */
    public record Counts(long instances, long addedNanos) {
    }

    private final RedisLink redis;
    private final InstanceSpend ledger;
    private final Executor executor;
    private final RedisBudgets.Script reconcile;
    /** Windows being reconciled by this instance: one at a time each. */
    private final Set<String> running = ConcurrentHashMap.newKeySet();
    private final LongAdder instances = new LongAdder();
    private final LongAdder addedNanos = new LongAdder();

    Reconciler(RedisLink redis, InstanceSpend ledger, Executor executor) {
        this.redis = redis;
        this.ledger = ledger;
        this.executor = executor;
        this.reconcile = new RedisBudgets.Script(redis, BudgetScripts.RECONCILE);
    }

    void load() {
        reconcile.load();
    }

    Counts counts() {
        return new Counts(instances.sum(), addedNanos.sum());
    }

    /**
     * Reconciles every instance named in window {@code w}'s set (in the background; a failure, such as the ledger
     * being unreachable, leaves the set as it is for the next refresh to try again).
     */
    CompletableFuture<Void> reconcile(BudgetBook book, RedisBudgets.Window w) {
        RedisAsyncCommands<String, String> commands = redis.commands();
        if (commands == null || !running.add(w.hashKey())) {
            return CompletableFuture.completedFuture(null);
        }
        String set = w.hashKey() + ":unreconciled";
        String team = w.budget().team();
        String keyId = w.budget().keyId();
        return commands.smembers(set).toCompletableFuture()
                .thenApplyAsync(dead -> {
                    List<String[]> figures = new ArrayList<>(dead.size());
                    for (String instance : dead) {
                        long nanos = ledger.spentNanos(instance, team, keyId, w.startMillis(), w.endMillis());
                        figures.add(new String[] {instance, Long.toString(nanos)});
                    }
                    return figures;
                }, executor)
                .thenCompose(figures -> {
                    List<CompletableFuture<?>> runs = new ArrayList<>(figures.size());
                    for (String[] f : figures) {
                        runs.add(reconcile.run(List.of(w.hashKey(), w.openKey(), set), List.of(f[0], f[1])).toCompletableFuture()
                                .thenAccept(reply -> booked(book, w, f[0], reply)));
                    }
                    return CompletableFuture.allOf(runs.toArray(CompletableFuture[]::new));
                })
                .whenComplete((done, error) -> {
                    running.remove(w.hashKey());
                    if (error != null) {
                        log.warn("Cluster mode: the spend of a dead instance in {} could not be reconciled from the"
                                + " ledger yet ({}); tried again within a second", w.hashKey(), error.toString());
                    }
                });
    }

    private void booked(BudgetBook book, RedisBudgets.Window w, String instance, List<Object> reply) {
        long added = RedisBudgets.number(reply.get(0));
        RedisBudgets.mirror(book, w, RedisBudgets.number(reply.get(1)), RedisBudgets.number(reply.get(2)));
        if (added < 0) {
            return; // another instance reconciled it first
        }
        instances.increment();
        addedNanos.add(added);
        if (added > 0) {
            log.warn("Cluster mode: instance {} stopped with {} nano-USD of {} spent and not booked in Redis; booked"
                    + " from the ledger", instance, added, w.budget().keyId() == null
                    ? "team " + w.budget().team() + "'s budget" : "key " + w.budget().keyId() + "'s budget");
        }
    }
}
