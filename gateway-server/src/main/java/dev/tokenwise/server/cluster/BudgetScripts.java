package dev.tokenwise.server.cluster;

/**
 * The Lua scripts that keep shared budgets in Redis: one atomic script per step (reserve, settle or cancel), covering
 * the team's and the key's windows together, timed by Redis's own clock ({@code TIME}).
 *
 * <p>A holder's window is two keys that share the team's hash tag (so a team lives on one Redis Cluster slot):
 * <ul>
 *   <li>a hash {@code tw:{TEAM}:budget:team:START} (or {@code ...:key:KEYID:START}) with {@code spent} (settled
 *       nano-USD) and {@code reserved} (held by open reservations) and {@code reclaimed} (reservations reclaimed);</li>
 *   <li>a sorted set {@code <hash>:open} of the open reservations, each member {@code REQUESTID|NANOS}, scored by its
 *       deadline in Redis milliseconds.</li>
 * </ul>
 * Amounts travel as decimal strings and are changed with {@code HINCRBY} (exact 64-bit integers); the comparison of
 * a reservation against what remains is made in Lua numbers (doubles), exact below 2^53 nano-USD (about $9 million
 * per holder and period).
 */
final class BudgetScripts {
    private BudgetScripts() {
    }

    /**
     * KEYS: hash, open set of each holder (team first when it has a budget, then the key). ARGV: member, nanos,
     * timeout millis, minus nanos, then per holder: limit, period start, period end, spend to seed an absent window
     * with. Returns {@code {0, now, spent1, reserved1, ...}} when admitted, {@code {i, now, spent, reserved}} when
     * holder i refused it, {@code {-1, now}} when Redis's clock is outside the period the caller computed.
     */
    static final String RESERVE = """
            local t = redis.call('TIME')
            local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
            local amount = tonumber(ARGV[2])
            local n = #KEYS / 2
            for i = 1, n do
              local base = 4 + (i - 1) * 4
              if now < tonumber(ARGV[base + 2]) or now >= tonumber(ARGV[base + 3]) then
                return {-1, now}
              end
            end
            local figures = {}
            for i = 1, n do
              local h = KEYS[2 * i - 1]
              local z = KEYS[2 * i]
              local base = 4 + (i - 1) * 4
              if redis.call('EXISTS', h) == 0 then
                redis.call('HSET', h, 'spent', ARGV[base + 4], 'reserved', '0')
              end
              local expired = redis.call('ZRANGEBYSCORE', z, '-inf', now)
              for _, m in ipairs(expired) do
                redis.call('HINCRBY', h, 'reserved', '-' .. string.match(m, '|(%d+)$'))
                redis.call('HINCRBY', h, 'reclaimed', 1)
              end
              if #expired > 0 then
                redis.call('ZREMRANGEBYSCORE', z, '-inf', now)
              end
              local v = redis.call('HMGET', h, 'spent', 'reserved')
              if tonumber(ARGV[base + 1]) - tonumber(v[1]) - tonumber(v[2]) < amount then
                return {i, now, v[1], v[2]}
              end
              figures[2 * i - 1] = v[1]
              figures[2 * i] = v[2]
            end
            local reply = {0, now}
            for i = 1, n do
              local h = KEYS[2 * i - 1]
              local z = KEYS[2 * i]
              local base = 4 + (i - 1) * 4
              reply[2 + 2 * i - 1] = figures[2 * i - 1]
              reply[2 + 2 * i] = tostring(redis.call('HINCRBY', h, 'reserved', ARGV[2]))
              redis.call('ZADD', z, now + tonumber(ARGV[3]), ARGV[1])
              local finish = tonumber(ARGV[base + 3])
              if finish < 9e15 then
                -- a period's books are kept a week past its end, then Redis forgets them (the ledger keeps the spend)
                redis.call('PEXPIREAT', h, finish + 604800000)
                redis.call('PEXPIREAT', z, finish + 604800000)
              end
            end
            return reply
            """;

    /**
     * Settles (or, with actual {@code 0}, cancels) a reservation. KEYS: as {@link #RESERVE}. ARGV: member, minus
     * nanos reserved, actual nanos, then per holder the spend to seed an absent window with (Redis restarted empty
     * while the call ran). A reservation already reclaimed is charged its actual cost all the same. Returns
     * {@code {spent1, reserved1, ...}}.
     */
    static final String SETTLE = """
            local reply = {}
            for i = 1, #KEYS / 2 do
              local h = KEYS[2 * i - 1]
              local z = KEYS[2 * i]
              if redis.call('EXISTS', h) == 0 then
                redis.call('HSET', h, 'spent', ARGV[3 + i], 'reserved', '0')
              end
              if redis.call('ZREM', z, ARGV[1]) == 1 then
                redis.call('HINCRBY', h, 'reserved', ARGV[2])
              end
              reply[2 * i - 1] = tostring(redis.call('HINCRBY', h, 'spent', ARGV[3]))
              reply[2 * i] = redis.call('HGET', h, 'reserved')
            end
            return reply
            """;
}
