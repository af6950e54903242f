package dev.tokenwise.server.cluster;

import dev.tokenwise.core.config.ClusterConfig;
import dev.tokenwise.core.config.RateLimits;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.ratelimit.RateLimiter;
import dev.tokenwise.core.spi.AdmissionStage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every rate limit of teams, keys and models, shared by every instance of a cluster: an admission stage (after the
 * local {@link RateLimiter}, which keeps the same limits on each instance and writes the {@code x-ratelimit-*}
 * headers) that takes, in one Lua script run by Redis on Redis's clock, one request, the call's token bound (input
 * bound plus output cap) and one in-flight slot from each holder that has such a limit, all or nothing. Requests and
 * tokens are GCRA, as {@code Gcra} does in memory (microseconds); a holder's in-flight slots are a sorted set of
 * request ids scored by a deadline {@code budgets.reservation_timeout_ms} ahead, so the slots of an instance that died
 * come back after that timeout. A team limited to 10 requests or 1,000 tokens a minute gets them across all
 * instances, not on each.
 *
 * <p>The decision comes back as the lease's {@link Lease#answer} future: {@code null} admits, a 429 refuses (with
 * {@code Retry-After}), and a 503 {@code budget_unavailable} refuses while Redis is unreachable ({@code fail_closed}).
 * When the call ends a second script gives back what single-node gives back: the tokens it reserved and did not use,
 * its slot, and, when it never went upstream (a later stage refused it), its request and all its tokens. That give
 * back is sent without waiting for it; lost while Redis is down, it errs on the strict side (what was taken stays
 * taken for the minute, a slot until its deadline).
 *
 * <p>Request blocks: a call whose holders have only request limits (no tokens per minute, no concurrent calls), each
 * of at least {@link #MIN_LEASED_RPM} a minute, is admitted against a block of requests this instance took from the
 * shared GCRA in one script run ({@link #LEASE}: as many requests as {@code TAKE} would admit one after another at
 * that instant, at most 1 % of the smallest limit's minute and {@link #MAX_BLOCK}), by one compare-and-set, with no
 * round trip and nothing to give back when it ends. What a block holds unused is given back to the GCRA
 * ({@link #RETURN}) {@link #BLOCK_MILLIS} after it was first taken, and at shutdown. The bound: every request
 * admitted anywhere was taken from the shared GCRA, so the instances together never admit more than the limit; a
 * request may be admitted up to about {@link #BLOCK_MILLIS} (a little more for one a refused later stage gave back)
 * after the GCRA counted it; and while an instance holds unused requests, another may be refused that they would have
 * served (at most 1 % of the minute per instance and holder set, for at most about a second). Smaller limits (a
 * team limited to 10 requests a minute) are never leased: each call takes its request in Redis.
 *
 * <p>While Redis is unreachable, under {@code cluster.on_redis_down: local_share}, calls keep taking from the block
 * this instance holds, and nothing more: those requests were counted in the shared GCRA when they were taken, so the
 * instances together still admit no more than the limit; the only loosening is the time, as a block taken just before
 * Redis went may be used after its second (at most one block, 1 % of the minute, per instance and holder set). Under
 * {@code fail_closed} a block is not used without Redis, and every call with a rate limit is refused with 503.
 *
 * <p>All rate-limit keys share one hash tag ({@code tw:{rate}:...}): a model's limit covers every team, so the keys
 * one script touches cannot be grouped by team on a Redis Cluster.
 */
public final class SharedRateLimits implements AdmissionStage {
    private static final Logger log = LoggerFactory.getLogger(SharedRateLimits.class);

    /**
     * KEYS: per holder, its requests' and its tokens' theoretical arrival time and its set of slots. ARGV: tokens,
     * member (request id), slot timeout millis, then per holder: requests interval and capacity, tokens interval and
     * capacity (microseconds, {@code 0} for no limit), concurrent calls ({@code 0} for no limit). Returns {@code {0}}
     * when admitted, {@code {i, kind, micros}} when holder i refused it: kind 1 requests, 2 tokens (for that long),
     * 3 slots, 4 tokens that never fit.
     */
    static final String TAKE = """
            local t = redis.call('TIME')
            local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
            local nowMs = math.floor(now / 1000)
            local tokens = tonumber(ARGV[1])
            local n = #KEYS / 3
            local rnext = {}
            local tnext = {}
            for i = 1, n do
              local b = 3 + (i - 1) * 5
              local ri, rc = tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2])
              local ti, tc = tonumber(ARGV[b + 3]), tonumber(ARGV[b + 4])
              local cc = tonumber(ARGV[b + 5])
              if ri > 0 then
                local tat = tonumber(redis.call('GET', KEYS[3 * i - 2]) or '0')
                local nx = math.max(tat, now) + ri
                local over = nx - now - rc
                if over > 0 then
                  return {i, 1, string.format('%.0f', over)}
                end
                rnext[i] = nx
              end
              if ti > 0 and tokens > 0 then
                if tokens * ti > tc then
                  return {i, 4, '0'}
                end
                local tat = tonumber(redis.call('GET', KEYS[3 * i - 1]) or '0')
                local nx = math.max(tat, now) + tokens * ti
                local over = nx - now - tc
                if over > 0 then
                  return {i, 2, string.format('%.0f', over)}
                end
                tnext[i] = nx
              end
              if cc > 0 then
                redis.call('ZREMRANGEBYSCORE', KEYS[3 * i], '-inf', nowMs)
                if redis.call('ZCARD', KEYS[3 * i]) >= cc then
                  return {i, 3, '0'}
                end
              end
            end
            for i = 1, n do
              local b = 3 + (i - 1) * 5
              if rnext[i] then
                redis.call('SET', KEYS[3 * i - 2], string.format('%.0f', rnext[i]), 'PX',
                  math.floor(tonumber(ARGV[b + 2]) / 1000) + 1000)
              end
              if tnext[i] then
                redis.call('SET', KEYS[3 * i - 1], string.format('%.0f', tnext[i]), 'PX',
                  math.floor(tonumber(ARGV[b + 4]) / 1000) + 1000)
              end
              if tonumber(ARGV[b + 5]) > 0 then
                local timeout = tonumber(ARGV[3])
                redis.call('ZADD', KEYS[3 * i], nowMs + timeout, ARGV[2])
                redis.call('PEXPIRE', KEYS[3 * i], timeout + 1000)
              end
            end
            return {0}
            """;

    /**
     * Gives back what a call took and did not use. KEYS: as {@link #TAKE}. ARGV: member, unused tokens (negative when
     * it used more than it reserved), {@code 1} to give back the request too, then per holder as {@link #TAKE}. A
     * state Redis has already forgotten (a minute passed) is left alone. Returns {@code {}}.
     */
    static final String GIVE_BACK = """
            local unused = tonumber(ARGV[2])
            for i = 1, #KEYS / 3 do
              local b = 3 + (i - 1) * 5
              local ri = tonumber(ARGV[b + 1])
              local ti, tc = tonumber(ARGV[b + 3]), tonumber(ARGV[b + 4])
              if ri > 0 and ARGV[3] == '1' and redis.call('EXISTS', KEYS[3 * i - 2]) == 1 then
                redis.call('INCRBY', KEYS[3 * i - 2], string.format('%.0f', -ri))
              end
              if ti > 0 and unused ~= 0 and redis.call('EXISTS', KEYS[3 * i - 1]) == 1 then
                local units = math.floor(tc / ti)
                local n = math.max(-units, math.min(units, unused))
                redis.call('INCRBY', KEYS[3 * i - 1], string.format('%.0f', -n * ti))
              end
              if tonumber(ARGV[b + 5]) > 0 then
                redis.call('ZREM', KEYS[3 * i], ARGV[1])
              end
            end
            return {}
            """;
    /**
     * Takes a block of requests from holders' request GCRAs: as many as {@link #TAKE} would admit one after another
     * now, at most {@code ARGV[1]}. KEYS: per holder, its requests' theoretical arrival time. ARGV: the most wanted,
     * then per holder its requests interval and capacity (microseconds). Returns {@code {granted}}.
     */
    static final String LEASE = """
            local t = redis.call('TIME')
            local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
            local grant = tonumber(ARGV[1])
            local tats = {}
            for i = 1, #KEYS do
              local ri, rc = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
              local tat = math.max(tonumber(redis.call('GET', KEYS[i]) or '0'), now)
              tats[i] = tat
              local fit = math.floor((now + rc - tat) / ri)
              if fit < grant then
                grant = fit
              end
            end
            if grant < 1 then
              return {0}
            end
            for i = 1, #KEYS do
              local ri, rc = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
              redis.call('SET', KEYS[i], string.format('%.0f', tats[i] + grant * ri), 'PX', math.floor(rc / 1000) + 1000)
            end
            return {grant}
            """;

    /**
     * Gives unused requests of a block back to the holders' GCRAs. KEYS: as {@link #LEASE}. ARGV: how many, then per
     * holder as {@link #LEASE}. A state Redis has already forgotten is left alone. Returns {@code {}}.
     */
    static final String RETURN = """
            for i = 1, #KEYS do
              if redis.call('EXISTS', KEYS[i]) == 1 then
                redis.call('INCRBY', KEYS[i], string.format('%.0f', -tonumber(ARGV[1]) * tonumber(ARGV[2 * i])))
              end
            end
            return {}
            """;
    private static final long MINUTE_MICROS = TimeUnit.MINUTES.toMicros(1);
    /** The smallest request limit leased in blocks: below it every call takes its request in Redis. */
    static final long MIN_LEASED_RPM = 200;
    /** The largest block of requests an instance takes at once. */
    static final long MAX_BLOCK = 1_000;
    /** How long after it was first taken a block's unused requests are given back. */
    static final long BLOCK_MILLIS = 1_000;
    /** After Redis granted no request to a block, how long calls take their requests in Redis before it is tried again. */
    static final long EMPTY_BACKOFF_MILLIS = 50;
    /** A holder set's block not used for this long is forgotten (once empty). */
    static final long FORGET_MILLIS = 10_000;
    private static final CompletableFuture<Answer> ADMITTED = CompletableFuture.completedFuture(null);

    private final RateLimiter limits;
    private final RedisLink redis;
    private final long slotTimeoutMillis;
    private final RedisBudgets.Script take;
    private final RedisBudgets.Script giveBack;
    private final RedisBudgets.Script lease;
    private final RedisBudgets.Script giveBackBlock;
    private final Map<List<Holder>, Block> blocks = new ConcurrentHashMap<>();
    /** {@code cluster.on_redis_down: local_share}: a block's requests are used while Redis is unreachable. */
    private final boolean localShare;

    /**
     * @param limits where the limits are set (config and admin API)
     * @param slotTimeout how long an in-flight slot is held before it is reclaimed ({@code budgets.reservation_timeout_ms})
     */
    public SharedRateLimits(RateLimiter limits, RedisLink redis, Duration slotTimeout) {
        this.limits = limits;
        this.redis = redis;
        this.slotTimeoutMillis = Math.max(1, slotTimeout.toMillis());
        this.localShare = redis.config().onRedisDown() == ClusterConfig.OnRedisDown.LOCAL_SHARE;
        this.take = new RedisBudgets.Script(redis, TAKE);
        this.giveBack = new RedisBudgets.Script(redis, GIVE_BACK);
        this.lease = new RedisBudgets.Script(redis, LEASE);
        this.giveBackBlock = new RedisBudgets.Script(redis, RETURN);
        for (RedisBudgets.Script script : List.of(take, giveBack, lease, giveBackBlock)) {
            redis.onUp(script::load);
            script.load();
        }
        redis.onTick(this::tick);
        redis.beforeClose(this::returnBlocks);
    }

    private record Holder(String name, RateLimits limits) {
        long requestsInterval() {
            return limits.requestsPerMinute() == 0 ? 0 : Math.max(1, MINUTE_MICROS / limits.requestsPerMinute());
        }

        long tokensInterval() {
            return limits.tokensPerMinute() == 0 ? 0 : Math.max(1, MINUTE_MICROS / limits.tokensPerMinute());
        }

        /** Only a request limit, large enough to be leased in blocks. */
        boolean leasable() {
            return limits.tokensPerMinute() == 0 && limits.concurrentRequests() == 0
                    && limits.requestsPerMinute() >= MIN_LEASED_RPM;
        }
    }

    @Override
    public Lease admit(Call call) {
        List<Holder> holders = new ArrayList<>(3);
        // Keys first: the narrowest limit names itself in the refusal.
        add(holders, "key " + call.keyId(), limits.key(call.keyId()));
        add(holders, "team " + call.team(), limits.team(call.team()));
        add(holders, "model " + call.model(), limits.model(call.model()));
        if (holders.isEmpty()) {
            return Lease.NONE;
        }
        Block block = blockFor(holders);
        if (block != null) {
            if (block.tryTake()) {
                return block.admitted();
            }
            if (redis.up()) {
                block.topUp(); // this call takes its request in Redis, the next ones from the block
            }
        }
        long tokens = Math.max(0, call.inputTokensBound()) + Math.max(0, call.outputTokensBound());
        List<String> keys = new ArrayList<>(3 * holders.size());
        List<String> perHolder = new ArrayList<>(5 * holders.size());
        for (Holder h : holders) {
            String base = "tw:{rate}:" + h.name.replace(' ', ':');
            keys.add(base + ":rpm");
            keys.add(base + ":tpm");
            keys.add(base + ":slots");
            long ri = h.requestsInterval();
            long ti = h.tokensInterval();
            perHolder.add(Long.toString(ri));
            perHolder.add(Long.toString(ri * h.limits.requestsPerMinute()));
            perHolder.add(Long.toString(ti));
            perHolder.add(Long.toString(ti * h.limits.tokensPerMinute()));
            perHolder.add(Integer.toString(h.limits.concurrentRequests()));
        }
        List<String> args = new ArrayList<>(3 + perHolder.size());
        args.add(Long.toString(tokens));
        args.add(call.requestId());
        args.add(Long.toString(slotTimeoutMillis));
        args.addAll(perHolder);
        CompletableFuture<Answer> decided = take.run(keys, args).toCompletableFuture().handle((reply, error) -> {
            if (error != null) {
                Throwable cause = error instanceof CompletionException && error.getCause() != null
                        ? error.getCause() : error;
                redis.failed(cause);
                throw new GatewayException(ErrorType.BUDGET_UNAVAILABLE, "the shared rate limit cannot be checked:"
                        + " Redis is unreachable (calls of a holder with a rate limit are refused until it is back"
                        + (localShare ? ", once the requests this instance took before are used)" : ")"));
            }
            long refusedBy = (Long) reply.get(0);
            if (refusedBy == 0) {
                return null;
            }
            throw refusal(holders.get((int) refusedBy - 1), (Long) reply.get(1),
                    Long.parseLong(reply.get(2).toString()), tokens);
        });
        return new Taken(decided, holders, keys, perHolder, call.requestId(), tokens);
    }

    /** The block of requests of these holders (made on first use), or {@code null} when they are not leased. */
    private Block blockFor(List<Holder> holders) {
        for (Holder h : holders) {
            if (!h.leasable()) {
                return null;
            }
        }
        if (!redis.up()) {
            // Without Redis: under local_share the requests this instance already took stay its own to use (they
            // count in the shared limit already); under fail_closed, or once they are used, the direct take refuses
            // with 503. No new block is made.
            return localShare ? blocks.get(holders) : null;
        }
        Block block = blocks.get(holders);
        return block != null ? block : blocks.computeIfAbsent(List.copyOf(holders), Block::new);
    }

    /**
     * Requests of one holder set taken from the shared GCRA ahead of the calls that use them.
     *
     * <p>Implementation note: {@code free} is the only count; a call takes one by compare-and-set, a call a later
     * stage refused puts its one back, a lease adds what Redis granted, and the give-back takes all of it with
     * {@code getAndSet(0)} before it is sent: so each request Redis granted is used by at most one call or given back
     * once, never both.
     */
    private final class Block {
        final List<Holder> holders;
        final List<String> keys;
        final List<String> perHolder;
        final long size;
        final AtomicLong free = new AtomicLong();
        final AtomicBoolean leasing = new AtomicBoolean();
        /** When the oldest requests of {@link #free} were taken (0: none held). */
        volatile long takenMillis;
        volatile long lastUsedMillis = System.currentTimeMillis();
        volatile boolean forgotten;
        /** After a lease Redis granted nothing (the limit is spent), none is tried before this time. */
        volatile long noLeaseUntilMillis;
        private final Lease admitted;

        Block(List<Holder> holders) {
            this.holders = holders;
            this.keys = new ArrayList<>(holders.size());
            this.perHolder = new ArrayList<>(2 * holders.size());
            long smallest = Long.MAX_VALUE;
            for (Holder h : holders) {
                keys.add("tw:{rate}:" + h.name.replace(' ', ':') + ":rpm");
                perHolder.add(Long.toString(h.requestsInterval()));
                perHolder.add(Long.toString(h.requestsInterval() * h.limits.requestsPerMinute()));
                smallest = Math.min(smallest, h.limits.requestsPerMinute());
            }
            this.size = Math.min(MAX_BLOCK, smallest / 100);
            this.admitted = new Lease() {
                @Override
                public CompletableFuture<Answer> answer() {
                    return ADMITTED;
                }

                @Override
                public void settle(UsageRecord record) {
                    // the request was used; a request limit has nothing else to give back
                }

                @Override
                public void abort() {
                    free.incrementAndGet(); // never went upstream: as on a single node, its request comes back
                    if (forgotten) {
                        giveBack();
                    }
                }
            };
        }

        boolean tryTake() {
            lastUsedMillis = System.currentTimeMillis();
            for (;;) {
                long f = free.get();
                if (f <= 0) {
                    return false;
                }
                if (free.compareAndSet(f, f - 1)) {
                    if (f - 1 < size / 2) {
                        topUp();
                    }
                    return true;
                }
            }
        }

        Lease admitted() {
            return admitted;
        }

        /** Takes another block from Redis in the background, unless one is on its way. */
        void topUp() {
            if (forgotten || System.currentTimeMillis() < noLeaseUntilMillis || !leasing.compareAndSet(false, true)) {
                return;
            }
            List<String> args = new ArrayList<>(1 + perHolder.size());
            args.add(Long.toString(size));
            args.addAll(perHolder);
            long sentMillis = System.currentTimeMillis();
            lease.run(keys, args).whenComplete((reply, error) -> {
                try {
                    if (error != null) {
                        log.debug("A block of requests was not leased: {}", error.toString());
                        return;
                    }
                    long granted = RedisBudgets.number(reply.get(0));
                    if (granted == 0) {
                        // Spent: calls take their request in Redis (and are refused there, with Retry-After) for a while.
                        noLeaseUntilMillis = System.currentTimeMillis() + EMPTY_BACKOFF_MILLIS;
                    }
                    if (granted > 0) {
                        if (takenMillis == 0) {
                            takenMillis = sentMillis;
                        }
                        free.addAndGet(granted);
                        if (forgotten) {
                            giveBack(); // forgotten while the lease was on its way
                        }
                    }
                } finally {
                    leasing.set(false);
                }
            });
        }

        /** Gives what is free back to the shared GCRA. */
        CompletionStage<List<Object>> giveBack() {
            takenMillis = 0;
            long unused = free.getAndSet(0);
            if (unused <= 0) {
                free.addAndGet(unused);
                return CompletableFuture.completedFuture(List.of());
            }
            List<String> args = new ArrayList<>(1 + perHolder.size());
            args.add(Long.toString(unused));
            args.addAll(perHolder);
            return giveBackBlock.run(keys, args).whenComplete((reply, error) -> {
                if (error != null) {
                    log.debug("Unused requests not given back (the limit stays stricter for up to a minute): {}",
                            error.toString());
                }
            });
        }
    }

    /** Requests this instance holds in blocks, unused (for tests and views). */
    long heldRequests() {
        long sum = 0;
        for (Block block : blocks.values()) {
            sum += block.free.get();
        }
        return sum;
    }

    /** Every tick while Redis is reachable: blocks held for {@link #BLOCK_MILLIS} give back what is unused. */
    private void tick() {
        long now = System.currentTimeMillis();
        for (Block block : blocks.values()) {
            long taken = block.takenMillis;
            if (taken != 0 && now - taken >= BLOCK_MILLIS) {
                block.giveBack();
            }
            if (now - block.lastUsedMillis > FORGET_MILLIS && !block.leasing.get()) {
                block.forgotten = true;
                blocks.remove(block.holders, block);
                block.giveBack();
            }
        }
    }

    /** Gives every block's unused requests back (at shutdown), waiting up to half a second for Redis to take them. */
    private void returnBlocks() {
        List<CompletableFuture<?>> sent = new ArrayList<>();
        for (Block block : blocks.values()) {
            block.forgotten = true;
            sent.add(block.giveBack().toCompletableFuture());
        }
        blocks.clear();
        try {
            CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new)).get(500, TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            log.debug("Unused requests not all given back at shutdown: {}", e.toString());
        }
    }

    private static void add(List<Holder> holders, String name, RateLimits limits) {
        if (!limits.isNone()) {
            holders.add(new Holder(name, limits));
        }
    }

    private static GatewayException refusal(Holder h, long kind, long waitMicros, long tokens) {
        long seconds = Math.max(1, (waitMicros + 999_999) / 1_000_000);
        return switch ((int) kind) {
            case 1 -> GatewayException.rateLimited(h.name + ": " + h.limits.requestsPerMinute() + " requests per"
                    + " minute across all instances; next allowed in " + seconds + " s", seconds);
            case 2 -> GatewayException.rateLimited(h.name + ": " + h.limits.tokensPerMinute() + " tokens per minute"
                    + " across all instances (this call may use up to " + tokens + "); next allowed in " + seconds
                    + " s", seconds);
            case 3 -> GatewayException.rateLimited(h.name + ": " + h.limits.concurrentRequests() + " concurrent"
                    + " requests across all instances; next allowed when one of them ends", 1);
            default -> GatewayException.rateLimited(h.name + ": " + h.limits.tokensPerMinute() + " tokens per minute,"
                    + " and this call may use up to " + tokens + " (its input plus its output cap): it never fits;"
                    + " lower max_tokens", 60);
        };
    }

    /**
     * What one call took in Redis, given back once when it ends (after the take itself has answered). A give-back
     * that would change nothing (request limits only, and the request was used) is not sent.
     */
    private final class Taken implements Lease {
        private final CompletableFuture<Answer> decided;
        private final List<Holder> holders;
        private final List<String> keys;
        private final List<String> perHolder;
        private final String member;
        private final long tokens;
        private final AtomicBoolean ended = new AtomicBoolean();

        Taken(CompletableFuture<Answer> decided, List<Holder> holders, List<String> keys, List<String> perHolder,
              String member, long tokens) {
            this.decided = decided;
            this.holders = holders;
            this.keys = keys;
            this.perHolder = perHolder;
            this.member = member;
            this.tokens = tokens;
        }

        @Override
        public CompletableFuture<Answer> answer() {
            return decided;
        }

        @Override
        public void settle(UsageRecord record) {
            end(tokens - RateLimiter.tokensUsed(record, tokens), false); // as single-node
        }

        @Override
        public void abort() {
            end(tokens, true);
        }

        private void end(long unusedTokens, boolean requestToo) {
            if (!ended.compareAndSet(false, true) || !givesBackAnything(unusedTokens, requestToo)) {
                return;
            }
            decided.whenComplete((admitted, refused) -> {
                if (refused != null) {
                    return; // refused (or undecided): nothing was taken
                }
                List<String> args = new ArrayList<>(3 + perHolder.size());
                args.add(member);
                args.add(Long.toString(unusedTokens));
                args.add(requestToo ? "1" : "0");
                args.addAll(perHolder);
                giveBack.run(keys, args).whenComplete((reply, error) -> {
                    if (error != null) {
                        log.debug("Shared rate limits of {} not given back: {}", member, error.toString());
                    }
                });
            });
        }

        /** Whether {@link #GIVE_BACK} would change anything for these holders. */
        private boolean givesBackAnything(long unusedTokens, boolean requestToo) {
            for (Holder h : holders) {
                if (requestToo && h.limits.requestsPerMinute() > 0
                        || unusedTokens != 0 && h.limits.tokensPerMinute() > 0
                        || h.limits.concurrentRequests() > 0) {
                    return true;
                }
            }
            return false;
        }
    }
}
