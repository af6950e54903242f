package dev.tokenwise.server.cluster;

import dev.tokenwise.core.config.RateLimits;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.ratelimit.RateLimiter;
import dev.tokenwise.core.spi.AdmissionStage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
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
    private static final long MINUTE_MICROS = TimeUnit.MINUTES.toMicros(1);

    private final RateLimiter limits;
    private final RedisLink redis;
    private final long slotTimeoutMillis;
    private final RedisBudgets.Script take;
    private final RedisBudgets.Script giveBack;

    /**
     * @param limits where the limits are set (config and admin API)
     * @param slotTimeout how long an in-flight slot is held before it is reclaimed ({@code budgets.reservation_timeout_ms})
     */
    public SharedRateLimits(RateLimiter limits, RedisLink redis, Duration slotTimeout) {
        this.limits = limits;
        this.redis = redis;
        this.slotTimeoutMillis = Math.max(1, slotTimeout.toMillis());
        this.take = new RedisBudgets.Script(redis, TAKE);
        this.giveBack = new RedisBudgets.Script(redis, GIVE_BACK);
        redis.onUp(take::load);
        redis.onUp(giveBack::load);
        take.load();
        giveBack.load();
    }

    private record Holder(String name, RateLimits limits) {
        long requestsInterval() {
            return limits.requestsPerMinute() == 0 ? 0 : Math.max(1, MINUTE_MICROS / limits.requestsPerMinute());
        }

        long tokensInterval() {
            return limits.tokensPerMinute() == 0 ? 0 : Math.max(1, MINUTE_MICROS / limits.tokensPerMinute());
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
                        + " Redis is unreachable (calls of a holder with a rate limit are refused until it is back,"
                        + " whatever cluster.on_redis_down says: rate limits are not leased)");
            }
            long refusedBy = (Long) reply.get(0);
            if (refusedBy == 0) {
                return null;
            }
            throw refusal(holders.get((int) refusedBy - 1), (Long) reply.get(1),
                    Long.parseLong(reply.get(2).toString()), tokens);
        });
        return new Taken(decided, keys, perHolder, call.requestId(), tokens);
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

    /** What one call took in Redis, given back once when it ends (after the take itself has answered). */
    private final class Taken implements Lease {
        private final CompletableFuture<Answer> decided;
        private final List<String> keys;
        private final List<String> perHolder;
        private final String member;
        private final long tokens;
        private final AtomicBoolean ended = new AtomicBoolean();

        Taken(CompletableFuture<Answer> decided, List<String> keys, List<String> perHolder, String member,
              long tokens) {
            this.decided = decided;
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
            // As single-node: a call answered from the response cache counts as a request but used no tokens.
            long used = record == null || record.usage() == null ? tokens
                    : record.cacheHit() ? 0 : record.usage().inputTokens() + record.usage().outputTokens();
            end(tokens - used, false);
        }

        @Override
        public void abort() {
            end(tokens, true);
        }

        private void end(long unusedTokens, boolean requestToo) {
            if (!ended.compareAndSet(false, true)) {
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
    }
}
