package dev.tokenwise.server.cluster;

import dev.tokenwise.core.config.RateLimits;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.ratelimit.RateLimiter;
import dev.tokenwise.core.spi.AdmissionStage;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;

/**
 * The requests-per-minute limits of teams and keys, shared by every instance of a cluster: an admission stage (after
 * the local {@link RateLimiter}, which keeps enforcing tokens per minute, concurrent calls and model limits on each
 * instance) that takes one request from the team's and the key's limits together in one Lua script run by Redis
 * (GCRA, as {@code Gcra} does in memory, with Redis's clock in microseconds). A team limited to 10 requests a minute
 * gets 10 across all instances. The decision comes back as the lease's {@link Lease#answer} future: {@code null}
 * admits, a 429 refuses (with {@code Retry-After}), and a 503 {@code budget_unavailable} refuses while Redis is
 * unreachable ({@code fail_closed}). A request taken is not given back when a later stage refuses the call (the
 * shared limit errs on the strict side).
 */
public final class SharedRequestLimits implements AdmissionStage {
    /**
     * KEYS: the theoretical arrival time of each holder. ARGV: per holder, its interval and its capacity in
     * microseconds. Returns {@code {0}} when admitted, {@code {i, micros}} when holder i refused it for that long.
     */
    static final String TAKE = """
            local t = redis.call('TIME')
            local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
            local next = {}
            for i = 1, #KEYS do
              local interval = tonumber(ARGV[2 * i - 1])
              local capacity = tonumber(ARGV[2 * i])
              local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
              local n = math.max(tat, now) + interval
              local over = n - now - capacity
              if over > 0 then
                return {i, string.format('%.0f', over)}
              end
              next[i] = n
            end
            for i = 1, #KEYS do
              redis.call('SET', KEYS[i], string.format('%.0f', next[i]), 'PX',
                math.floor(tonumber(ARGV[2 * i]) / 1000) + 1000)
            end
            return {0}
            """;
    private static final long MINUTE_MICROS = TimeUnit.MINUTES.toMicros(1);

    private final RateLimiter limits;
    private final RedisLink redis;
    private final RedisBudgets.Script take;

    /** @param limits where the limits are set (config and admin API); only their requests per minute are read */
    public SharedRequestLimits(RateLimiter limits, RedisLink redis) {
        this.limits = limits;
        this.redis = redis;
        this.take = new RedisBudgets.Script(redis, TAKE);
        redis.onUp(take::load);
        take.load();
    }

    private record Holder(String name, long perMinute) {
    }

    @Override
    public Lease admit(Call call) {
        List<Holder> holders = new ArrayList<>(2);
        RateLimits key = limits.key(call.keyId());
        if (key.requestsPerMinute() > 0) {
            holders.add(new Holder("key " + call.keyId(), key.requestsPerMinute()));
        }
        RateLimits team = limits.team(call.team());
        if (team.requestsPerMinute() > 0) {
            holders.add(new Holder("team " + call.team(), team.requestsPerMinute()));
        }
        if (holders.isEmpty()) {
            return Lease.NONE;
        }
        List<String> keys = new ArrayList<>(holders.size());
        List<String> args = new ArrayList<>(2 * holders.size());
        String tag = "tw:{" + call.team() + "}:rpm:";
        for (Holder h : holders) {
            keys.add(tag + h.name.replace(' ', ':'));
            long interval = Math.max(1, MINUTE_MICROS / h.perMinute);
            args.add(Long.toString(interval));
            args.add(Long.toString(interval * h.perMinute));
        }
        CompletableFuture<Answer> decided = take.run(keys, args).toCompletableFuture().handle((reply, error) -> {
            if (error != null) {
                Throwable cause = error instanceof CompletionException && error.getCause() != null
                        ? error.getCause() : error;
                redis.failed(cause);
                throw new GatewayException(ErrorType.BUDGET_UNAVAILABLE, "the shared rate limit cannot be checked:"
                        + " Redis is unreachable (cluster.on_redis_down: fail_closed refuses such calls until it is"
                        + " back)");
            }
            long refusedBy = (Long) reply.get(0);
            if (refusedBy == 0) {
                return null;
            }
            Holder h = holders.get((int) refusedBy - 1);
            long waitMicros = Long.parseLong(reply.get(1).toString());
            long seconds = Math.max(1, (waitMicros + 999_999) / 1_000_000);
            throw GatewayException.rateLimited(h.name + ": " + h.perMinute + " requests per minute across all"
                    + " instances; next allowed in " + seconds + " s", seconds);
        });
        return new Lease() {
            @Override
            public CompletableFuture<Answer> answer() {
                return decided;
            }
        };
    }
}
