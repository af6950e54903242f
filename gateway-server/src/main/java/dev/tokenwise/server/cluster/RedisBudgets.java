package dev.tokenwise.server.cluster;

import dev.tokenwise.core.budget.Budget;
import dev.tokenwise.core.budget.BudgetBook;
import dev.tokenwise.core.budget.Periods;
import dev.tokenwise.core.budget.SharedBudgets;
import dev.tokenwise.core.config.ClusterConfig;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.async.RedisAsyncCommands;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Budgets shared by every instance on one Redis ({@link SharedBudgets}): each step of a reservation is one atomic
 * Lua script ({@link BudgetScripts}) over the team's and the key's windows together, timed by Redis's clock, so
 * that any number of instances admitting calls at once never reserves past a limit.
 *
 * <p>Periods: the caller computes the period from its estimate of Redis's clock (its own clock plus the offset
 * the last script reported); the script checks that Redis's clock is inside it and, when it is not (a period just
 * rolled over, or clocks differ), says so with Redis's time, and the reservation is made again in the right period.
 * The limits are those of the local {@link BudgetBook}; every figure a script returns is mirrored back into it
 * ({@link BudgetBook#mirror}), so views, metrics and soft-threshold alerts show the cluster's spend.
 *
 * <p>Redis unreachable: a reservation fails within the command timeout with {@code 503 budget_unavailable}
 * ({@code fail_closed}). A settlement that cannot be written waits in a queue and is written once Redis is back (its
 * reservation, meanwhile, is reclaimed by Redis after {@code budgets.reservation_timeout_ms}).
 */
public final class RedisBudgets implements SharedBudgets {
    private static final Logger log = LoggerFactory.getLogger(RedisBudgets.class);
    /** Settlements kept while Redis is unreachable; past this many, the oldest are dropped (and counted). */
    private static final int MAX_PENDING_SETTLEMENTS = 100_000;

    private final RedisLink redis;
    private final Script reserve;
    private final Script settle;
    private final Slices slices;
    private final Queue<Runnable> pendingSettlements = new ConcurrentLinkedQueue<>();
    private final AtomicInteger pendingCount = new AtomicInteger();
    private final LongAdder droppedSettlements = new LongAdder();
    /** Settlements sent to Redis and not answered yet. */
    private final AtomicInteger settling = new AtomicInteger();
    /** Redis's clock minus this process's, as last reported by a script, in milliseconds. */
    private volatile long redisClockOffsetMillis;
    /** Books the unbooked spend of dead instances from a shared ledger; {@code null} without one. */
    private volatile Reconciler reconciler;

    public RedisBudgets(RedisLink redis) {
        this.redis = redis;
        this.reserve = new Script(redis, BudgetScripts.RESERVE);
        this.settle = new Script(redis, BudgetScripts.SETTLE);
        this.slices = new Slices(this, redis);
        redis.onUp(this::loadScripts);
        redis.onTick(this::flushPending); // Redis may have come back between two ticks of its watcher
        loadScripts();
    }

    /** Loads the scripts ahead of the first call (and again after Redis restarted empty), sparing a NOSCRIPT round trip. */
    private void loadScripts() {
        reserve.load();
        settle.load();
        slices.load();
    }

    /** One holder's window in Redis: its budget and the period it was reckoned in. */
    record Window(Budget budget, String hashKey, String openKey, long startMillis, long endMillis) {
    }

    @Override
    public CompletableFuture<BudgetBook.Admission> reserve(BudgetBook book, String requestId, String team,
                                                           String keyId, long worstCaseNanos, long timeoutNanos) {
        return reserve(book, requestId, team, keyId, worstCaseNanos, timeoutNanos, true);
    }

    private CompletableFuture<BudgetBook.Admission> reserve(BudgetBook book, String requestId, String team,
                                                            String keyId, long worstCaseNanos, long timeoutNanos,
                                                            boolean firstTry) {
        long redisNow = System.currentTimeMillis() + redisClockOffsetMillis;
        List<Window> windows = windows(book, team, keyId, redisNow);
        if (windows.isEmpty()) {
            return CompletableFuture.completedFuture(new BudgetBook.Admission(BudgetBook.Outcome.ADMITTED, null, null));
        }
        if (firstTry) {
            BudgetBook.Reservation local = slices.take(book, requestId, windows, worstCaseNanos, timeoutNanos);
            if (local != null) {
                return CompletableFuture.completedFuture(
                        new BudgetBook.Admission(BudgetBook.Outcome.ADMITTED, local, null));
            }
            if (!redis.up() && slices.localShare()) {
                return CompletableFuture.failedFuture(unavailable(new IllegalStateException("Redis is not connected")));
            }
        }
        String amount = Long.toString(worstCaseNanos);
        // The instance in the member: reclaimed, it names whose spend the ledger may have to make good (RECONCILE).
        String member = requestId + "|" + redis.config().instanceId() + "|" + amount;
        List<String> keys = new ArrayList<>(4);
        List<String> args = new ArrayList<>(4 + 4 * windows.size());
        args.add(member);
        args.add(amount);
        args.add(Long.toString(Math.max(1, TimeUnit.NANOSECONDS.toMillis(timeoutNanos))));
        args.add("-" + amount);
        for (Window w : windows) {
            keys.add(w.hashKey);
            keys.add(w.openKey);
            args.add(Long.toString(w.budget.limitNanos()));
            args.add(Long.toString(w.startMillis));
            args.add(Long.toString(w.endMillis));
            args.add(Long.toString(Math.max(0, w.budget.snapshot(System.currentTimeMillis()).spentNanos())));
        }
        args.add(holdsDead());
        return reserve.run(keys, args).toCompletableFuture().handle((reply, error) -> {
            if (error != null) {
                throw unavailable(error);
            }
            return reply;
        }).thenCompose(reply -> {
            long code = (Long) reply.get(0);
            long now = (Long) reply.get(1);
            redisClockOffsetMillis = now - System.currentTimeMillis();
            if (code < 0) {
                if (!firstTry) {
                    throw new GatewayException(ErrorType.BUDGET_UNAVAILABLE,
                            "the shared budget's period could not be agreed with Redis's clock");
                }
                return reserve(book, requestId, team, keyId, worstCaseNanos, timeoutNanos, false);
            }
            if (code > 0) {
                Window refusedBy = windows.get((int) code - 1);
                long spent = number(reply.get(2));
                long reserved = number(reply.get(3));
                mirror(book, refusedBy, spent, reserved);
                Budget.Snapshot snapshot = new Budget.Snapshot(refusedBy.budget.holder(),
                        refusedBy.budget.limitNanos(), refusedBy.budget.period(), refusedBy.startMillis,
                        refusedBy.endMillis, spent, reserved, refusedBy.budget.limitNanos() - spent - reserved);
                BudgetBook.Outcome outcome = refusedBy.budget.keyId() == null ? BudgetBook.Outcome.TEAM_EXCEEDED
                        : BudgetBook.Outcome.KEY_EXCEEDED;
                return CompletableFuture.completedFuture(new BudgetBook.Admission(outcome, null, snapshot));
            }
            for (int i = 0; i < windows.size(); i++) {
                mirror(book, windows.get(i), number(reply.get(2 + 2 * i)), number(reply.get(3 + 2 * i)));
            }
            BudgetBook.Reservation reservation = BudgetBook.sharedReservation(requestId, worstCaseNanos,
                    new Settlement(book, windows, keys, member, "-" + amount));
            return CompletableFuture.completedFuture(
                    new BudgetBook.Admission(BudgetBook.Outcome.ADMITTED, reservation, null));
        }).toCompletableFuture();
    }

    /** The windows of the team's and the key's budgets (those that exist) in the period containing {@code redisNow}. */
    static List<Window> windows(BudgetBook book, String team, String keyId, long redisNow) {
        List<Window> windows = new ArrayList<>(2);
        Budget teamBudget = book.team(team);
        String tag = "tw:{" + team + "}:budget:";
        if (teamBudget != null) {
            windows.add(window(book, teamBudget, tag + "team:", redisNow));
        }
        Budget keyBudget = keyId == null ? null : book.key(keyId);
        if (keyBudget != null) {
            windows.add(window(book, keyBudget, tag + "key:" + keyId + ":", redisNow));
        }
        return windows;
    }

    private static Window window(BudgetBook book, Budget budget, String prefix, long redisNow) {
        long start = Periods.startMillis(budget.period(), redisNow, book.zone());
        long end = Periods.endMillis(budget.period(), redisNow, book.zone());
        String hash = prefix + budget.period().name().toLowerCase(java.util.Locale.ROOT) + ":" + start;
        return new Window(budget, hash, hash + ":open", start, end);
    }

    static void mirror(BudgetBook book, Window w, long spentNanos, long reservedNanos) {
        book.mirror(w.budget.team(), w.budget.keyId(), w.startMillis, spentNanos, reservedNanos);
    }

    /** Settles or cancels one reservation held in Redis. */
    private final class Settlement implements BudgetBook.SharedSettlement {
        private final BudgetBook book;
        private final List<Window> windows;
        private final List<String> keys;
        private final String member;
        private final String minusReserved;

        Settlement(BudgetBook book, List<Window> windows, List<String> keys, String member, String minusReserved) {
            this.book = book;
            this.windows = windows;
            this.keys = keys;
            this.member = member;
            this.minusReserved = minusReserved;
        }

        @Override
        public void settle(long actualNanos) {
            write(actualNanos);
        }

        @Override
        public void cancel() {
            write(0);
        }

        void write(long actualNanos) {
            List<String> args = new ArrayList<>(3 + windows.size());
            args.add(member);
            args.add(minusReserved);
            args.add(Long.toString(actualNanos));
            for (Window w : windows) {
                args.add(Long.toString(Math.max(0, w.budget.snapshot(System.currentTimeMillis()).spentNanos())));
            }
            settling.incrementAndGet();
            settle.run(keys, args).whenComplete((reply, error) -> {
                settling.decrementAndGet();
                if (error != null) {
                    keep(() -> write(actualNanos), error);
                    return;
                }
                for (int i = 0; i < windows.size(); i++) {
                    mirror(book, windows.get(i), number(reply.get(2 * i)), number(reply.get(2 * i + 1)));
                }
            });
        }
    }

    /**
     * Makes Redis's spend exact again after an instance died with costs not yet booked: each {@link #refresh} that
     * finds a window with instances to reconcile reads their spend from {@code ledger} (on {@code executor}, never on
     * the Redis thread) and books what Redis misses. Only for a ledger every instance writes to (PostgreSQL).
     */
    public void reconcileFrom(Reconciler.InstanceSpend ledger, java.util.concurrent.Executor executor) {
        this.reconciler = new Reconciler(redis, ledger, executor);
        reconciler.load();
        redis.onUp(reconciler::load);
    }

    /**
     * {@code "1"} when this instance reconciles from a shared ledger: what a reserve or lease script reclaims from
     * dead instances is then held until they are reconciled (see {@link BudgetScripts#RECLAIM}); else {@code "0"}.
     */
    String holdsDead() {
        return reconciler != null ? "1" : "0";
    }

    /** Windows reconciled, instances whose unbooked spend was booked from the ledger, and nanos so added. */
    public Reconciler.Counts reconciled() {
        Reconciler r = reconciler;
        return r == null ? new Reconciler.Counts(0, 0) : r.counts();
    }

    /** The clock offset to Redis, as last reported by a script, in milliseconds (Redis minus this process). */
    long redisClockOffsetMillis() {
        return redisClockOffsetMillis;
    }

    void redisClockOffsetMillis(long offset) {
        redisClockOffsetMillis = offset;
    }

    /** Counts a command whose answer shutdown waits for ({@link #drain}); the returned action uncounts it. */
    Runnable sending() {
        settling.incrementAndGet();
        return settling::decrementAndGet;
    }

    /**
     * Gives back every slice this instance holds (at shutdown, once its calls have ended), after their last bookings
     * are in Redis (waited for up to a second).
     */
    public void returnSlices() throws InterruptedException {
        slices.returnAll(1_000);
    }

    /** The slices this instance holds, for tests and views: their free nanos, summed. */
    public long sliceFreeNanos() {
        return slices.freeNanos();
    }

    /** Keeps a settlement Redis could not take, to write it again once Redis is back. */
    void keep(Runnable settlement, Throwable error) {
        if (pendingCount.incrementAndGet() > MAX_PENDING_SETTLEMENTS && pendingSettlements.poll() != null) {
            pendingCount.decrementAndGet();
            droppedSettlements.increment();
        }
        pendingSettlements.add(settlement);
        log.debug("A settlement waits for Redis: {}", error.toString());
    }

    /** Writes the settlements that waited for Redis (called while it is reachable). */
    public void flushPending() {
        Runnable settlement;
        while ((settlement = pendingSettlements.poll()) != null) {
            pendingCount.decrementAndGet();
            settlement.run();
        }
    }

    /**
     * Waits up to {@code timeoutMillis} for the settlements already sent to be answered (at shutdown, before the
     * connection closes); returns how many were still unanswered, or waiting for Redis to be back.
     */
    public int drain(long timeoutMillis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (settling.get() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        int left = settling.get() + pendingSettlements();
        if (left > 0) {
            log.warn("Cluster mode: {} settlements did not reach Redis before shutdown; their reservations expire"
                    + " after budgets.reservation_timeout_ms and their spend is in the ledger", left);
        }
        return left;
    }

    /** Settlements waiting for Redis to be reachable again. */
    public int pendingSettlements() {
        return Math.max(0, pendingCount.get()) + slices.unflushedSlices();
    }

    /** Settlements dropped because too many waited (their spend is in the ledger, not in Redis). */
    public long droppedSettlements() {
        return droppedSettlements.sum();
    }

    /**
     * Reads every budget's current window from Redis into {@code book} (what other instances spent since this one
     * last reserved or settled); a window Redis does not have yet is left as it is.
     */
    public CompletableFuture<Void> refresh(BudgetBook book) {
        long redisNow = System.currentTimeMillis() + redisClockOffsetMillis;
        List<CompletableFuture<?>> reads = new ArrayList<>();
        RedisAsyncCommands<String, String> commands = redis.commands();
        if (commands == null) {
            return CompletableFuture.failedFuture(new IllegalStateException("Redis is not connected"));
        }
        book.forEachBudget(budget -> {
            String prefix = "tw:{" + budget.team() + "}:budget:"
                    + (budget.keyId() == null ? "team:" : "key:" + budget.keyId() + ":");
            Window w = window(book, budget, prefix, redisNow);
            reads.add(commands.hmget(w.hashKey, "spent", "reserved", "unreconciled").toCompletableFuture()
                    .thenAccept(values -> {
                        if (values.get(0).hasValue() && values.get(1).hasValue()) {
                            mirror(book, w, Long.parseLong(values.get(0).getValue()),
                                    Long.parseLong(values.get(1).getValue()));
                        }
                        Reconciler r = reconciler;
                        if (r != null && values.get(2).hasValue() && !"0".equals(values.get(2).getValue())) {
                            r.reconcile(book, w); // an instance died with costs Redis may not have: from the ledger
                        }
                    }));
        });
        return CompletableFuture.allOf(reads.toArray(CompletableFuture[]::new));
    }

    static long number(Object value) {
        if (value instanceof Long l) {
            return l;
        }
        return value == null ? 0 : Long.parseLong(value.toString());
    }

    GatewayException unavailable(Throwable error) {
        Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
        if (cause instanceof GatewayException e) {
            return e;
        }
        redis.failed(cause);
        if (slices.localShare()) {
            return new GatewayException(ErrorType.BUDGET_UNAVAILABLE, "the shared budget cannot be checked: Redis is"
                    + " unreachable, and this instance's slice of it does not hold this call (cluster.on_redis_down:"
                    + " local_share admits only within the slice held)");
        }
        return new GatewayException(ErrorType.BUDGET_UNAVAILABLE, "the shared budget cannot be checked: Redis is"
                + " unreachable (cluster.on_redis_down: fail_closed refuses calls with a budget until it is back)");
    }

    /** A Lua script run by its SHA-1, loaded again when Redis does not know it (it restarted, or never saw it). */
    static final class Script {
        private final RedisLink redis;
        private final String source;
        private final String sha;

        Script(RedisLink redis, String source) {
            this.redis = redis;
            this.source = source;
            this.sha = sha1(source);
        }

        void load() {
            RedisAsyncCommands<String, String> commands = redis.commands();
            if (commands != null) {
                commands.scriptLoad(source).exceptionally(e -> null);
            }
        }

        CompletionStage<List<Object>> run(List<String> keys, List<String> args) {
            RedisAsyncCommands<String, String> commands = redis.commands();
            if (commands == null) {
                return CompletableFuture.failedFuture(new IllegalStateException("Redis is not connected"));
            }
            String[] k = keys.toArray(String[]::new);
            String[] a = args.toArray(String[]::new);
            CompletionStage<List<Object>> bySha = commands.<List<Object>>evalsha(sha, ScriptOutputType.MULTI, k, a);
            return bySha.handle((reply, error) -> {
                if (error == null) {
                    return CompletableFuture.completedFuture(reply);
                }
                Throwable cause = error instanceof CompletionException && error.getCause() != null
                        ? error.getCause() : error;
                if (cause instanceof RedisNoScriptException) {
                    return commands.<List<Object>>eval(source, ScriptOutputType.MULTI, k, a);
                }
                return CompletableFuture.<List<Object>>failedFuture(cause);
            }).thenCompose(stage -> stage);
        }

        private static String sha1(String text) {
            try {
                byte[] digest = java.security.MessageDigest.getInstance("SHA-1")
                        .digest(text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
                return java.util.HexFormat.of().formatHex(digest);
            } catch (java.security.NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    /** For logs: the URL without its password. */
    static String describe(String url) {
        return ClusterConfig.redact(url);
    }
}
