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
     * A Lua function that gives back the expired reservations of window {@code h} (open set {@code z}): a call's
     * member {@code REQUESTID|INSTANCE|NANOS} gives back its nanos; a slice's member {@code slice:INSTANCE:...} (no
     * amount: a slice changes size) gives back what its field in the hash holds, and the field goes. The instance that
     * held it is added to the set {@code <h>:unreconciled} (its count in the field {@code unreconciled}): it may have
     * died with costs not yet booked, which {@link #RECONCILE} books from a shared ledger. (The set is named after
     * {@code h}, so it shares its hash slot on a Redis Cluster.)
     *
     * <p>With {@code hold} above 0 (the caller's instances reconcile from a shared ledger), what was reclaimed is not
     * given back yet: it moves to the field {@code held:INSTANCE} (still counted in {@code reserved}, member
     * {@code held:INSTANCE} in the open set, deadline {@code now + hold}), so that nobody can reserve the costs the dead
     * instance had not booked before {@link #RECONCILE} books them and gives the rest back. A hold still there at its
     * deadline (no instance could reconcile: the ledger unreachable) is given back like a slice.
     */
    static final String RECLAIM = """
            local function OWNER(m)
              return string.match(m, '^slice:(.+):%x+:%d+$') or string.match(m, '^[^|]*|(.+)|%d+$')
            end
            local function RECLAIM(h, z, now, hold)
              local expired = redis.call('ZRANGEBYSCORE', z, '-inf', now)
              for _, m in ipairs(expired) do
                local amount = nil
                local owner = nil
                if string.sub(m, 1, 5) == 'held:' then
                  amount = redis.call('HGET', h, m) or '0'
                  redis.call('HDEL', h, m)
                else
                  amount = string.match(m, '|(%d+)$')
                  if not amount then
                    amount = redis.call('HGET', h, m) or '0'
                    redis.call('HDEL', h, m)
                  end
                  owner = OWNER(m)
                end
                if owner and hold > 0 then
                  redis.call('HINCRBY', h, 'held:' .. owner, amount)
                  redis.call('ZADD', z, 'GT', now + hold, 'held:' .. owner)
                else
                  redis.call('HINCRBY', h, 'reserved', '-' .. amount)
                end
                redis.call('HINCRBY', h, 'reclaimed', 1)
                if owner then
                  local u = h .. ':unreconciled'
                  redis.call('SADD', u, owner)
                  redis.call('HSET', h, 'unreconciled', redis.call('SCARD', u))
                  local ttl = redis.call('PTTL', h)
                  if ttl > 0 then
                    redis.call('PEXPIRE', u, ttl)
                  end
                end
              end
              if #expired > 0 then
                redis.call('ZREMRANGEBYSCORE', z, '-inf', now)
              end
            end
            """;

    /**
     * Leases (or tops up) an instance's slice of every window together: {@code percent} of the smallest free amount
     * ({@code limit - spent - reserved}), at least {@code minimum} when that much is free, nothing while a window
     * was found short by a refused reservation in the last {@code shortMillis}. The slice is a reservation: its size
     * is added to {@code reserved} and to the hash field named by the slice, and its member (that name) in the open
     * set gets the deadline {@code now + timeout}. KEYS: as {@link #RESERVE}. ARGV: slice name, percent, minimum,
     * timeout millis, short millis, then per holder as {@link #RESERVE} (limit, period start, period end, seed), then
     * optionally {@code 1} to hold what {@link #RECLAIM} takes from dead instances until they are reconciled.
     * Returns {@code {0, now, granted, spent1, reserved1, ...}}, or {@code {-1, now}} when Redis's clock is outside
     * the period.
     */
    static final String LEASE = """
            """ + RECLAIM + """
            local t = redis.call('TIME')
            local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
            local n = #KEYS / 2
            local free = nil
            for i = 1, n do
              local base = 5 + (i - 1) * 4
              if now < tonumber(ARGV[base + 2]) or now >= tonumber(ARGV[base + 3]) then
                return {-1, now}
              end
            end
            for i = 1, n do
              local h = KEYS[2 * i - 1]
              local base = 5 + (i - 1) * 4
              if redis.call('EXISTS', h) == 0 then
                redis.call('HSET', h, 'spent', ARGV[base + 4], 'reserved', '0')
              end
              RECLAIM(h, KEYS[2 * i], now, tonumber(ARGV[5 + 4 * n + 1] or '0') > 0 and tonumber(ARGV[4]) or 0)
              local v = redis.call('HMGET', h, 'spent', 'reserved', 'short')
              if v[3] and now - tonumber(v[3]) < tonumber(ARGV[5]) then
                free = 0
              end
              local f = tonumber(ARGV[base + 1]) - tonumber(v[1]) - tonumber(v[2])
              if free == nil or f < free then
                free = f
              end
            end
            local minimum = tonumber(ARGV[3])
            local grant = math.floor(free * tonumber(ARGV[2]) / 100)
            if grant < minimum then
              grant = free >= minimum and minimum or 0
            end
            local reply = {0, now, string.format('%.0f', grant)}
            for i = 1, n do
              local h = KEYS[2 * i - 1]
              local z = KEYS[2 * i]
              if grant > 0 then
                redis.call('HINCRBY', h, 'reserved', string.format('%.0f', grant))
                redis.call('HINCRBY', h, ARGV[1], string.format('%.0f', grant))
                redis.call('ZADD', z, now + tonumber(ARGV[4]), ARGV[1])
                local finish = tonumber(ARGV[5 + (i - 1) * 4 + 3])
                if finish < 9e15 then
                  redis.call('PEXPIREAT', h, finish + 604800000)
                  redis.call('PEXPIREAT', z, finish + 604800000)
                end
              end
              local v = redis.call('HMGET', h, 'spent', 'reserved')
              reply[3 + 2 * i - 1] = v[1]
              reply[3 + 2 * i] = v[2]
            end
            return reply
            """;

    /**
     * Books a call admitted against a slice: its actual cost moves from the slice (as far as the slice still holds
     * it) to {@code spent}. KEYS: as {@link #RESERVE}. ARGV: slice name, actual nanos, then per holder the spend to
     * seed an absent window with. A slice already reclaimed charges the cost all the same. The cost is also added to
     * the instance's field {@code booked:INSTANCE}, what {@link #RECONCILE} compares with the ledger. Returns
     * {@code {spent1, reserved1, ...}}.
     */
    static final String SPEND = """
            local actual = tonumber(ARGV[2])
            local booked = 'booked:' .. (string.match(ARGV[1], '^slice:(.+):%x+:%d+$') or '?')
            local reply = {}
            for i = 1, #KEYS / 2 do
              local h = KEYS[2 * i - 1]
              if redis.call('EXISTS', h) == 0 then
                redis.call('HSET', h, 'spent', ARGV[2 + i], 'reserved', '0')
              end
              local held = tonumber(redis.call('HGET', h, ARGV[1]) or '0')
              local moved = math.min(actual, held)
              if moved > 0 then
                redis.call('HINCRBY', h, ARGV[1], string.format('%.0f', -moved))
                redis.call('HINCRBY', h, 'reserved', string.format('%.0f', -moved))
              end
              redis.call('HINCRBY', h, booked, ARGV[2])
              reply[2 * i - 1] = redis.call('HINCRBY', h, 'spent', ARGV[2])
              reply[2 * i] = redis.call('HGET', h, 'reserved')
            end
            return reply
            """;

    /**
     * Gives back part of a slice ({@code amount}), or, with {@code close} 1, all of it and its member. KEYS: as
     * {@link #RESERVE}. ARGV: slice name, amount, close. Returns {@code {spent1, reserved1, ...}}.
     */
    static final String GIVE_BACK = """
            local reply = {}
            for i = 1, #KEYS / 2 do
              local h = KEYS[2 * i - 1]
              local held = tonumber(redis.call('HGET', h, ARGV[1]) or '0')
              local back = ARGV[3] == '1' and held or math.min(tonumber(ARGV[2]), held)
              if back > 0 then
                redis.call('HINCRBY', h, ARGV[1], string.format('%.0f', -back))
                redis.call('HINCRBY', h, 'reserved', string.format('%.0f', -back))
              end
              if ARGV[3] == '1' then
                redis.call('HDEL', h, ARGV[1])
                redis.call('ZREM', KEYS[2 * i], ARGV[1])
              end
              local v = redis.call('HMGET', h, 'spent', 'reserved')
              reply[2 * i - 1] = v[1] or '0'
              reply[2 * i] = v[2] or '0'
            end
            return reply
            """;

    /**
     * Keeps a slice alive: its member's deadline moves to {@code now + timeout}. KEYS: as {@link #RESERVE}. ARGV:
     * slice name, timeout millis. Returns {@code {gone, now, short}}: gone 1 when a window no longer holds the slice
     * (it was reclaimed), short the latest time a reservation was refused for want of budget ({@code 0}: never).
     */
    static final String RENEW = """
            local t = redis.call('TIME')
            local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
            local gone = 0
            local short = 0
            for i = 1, #KEYS / 2 do
              local h = KEYS[2 * i - 1]
              if redis.call('HEXISTS', h, ARGV[1]) == 0 then
                gone = 1
              else
                redis.call('ZADD', KEYS[2 * i], 'XX', now + tonumber(ARGV[2]), ARGV[1])
              end
              short = math.max(short, tonumber(redis.call('HGET', h, 'short') or '0'))
            end
            return {gone, now, short}
            """;

    /**
     * KEYS: hash, open set of each holder (team first when it has a budget, then the key). ARGV: member
     * ({@code REQUESTID|INSTANCE|NANOS}), nanos,
     * timeout millis, minus nanos, then per holder: limit, period start, period end, spend to seed an absent window
     * with, then optionally {@code 1} to hold what {@link #RECLAIM} takes from dead instances until they are reconciled.
     * Returns {@code {0, now, spent1, reserved1, ...}} when admitted, {@code {i, now, spent, reserved}} when
     * holder i refused it, {@code {-1, now}} when Redis's clock is outside the period the caller computed.
     */
    static final String RESERVE = """
            """ + BudgetScripts.RECLAIM + """
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
              RECLAIM(h, z, now, tonumber(ARGV[4 + 4 * n + 1] or '0') > 0 and tonumber(ARGV[3]) or 0)
              local v = redis.call('HMGET', h, 'spent', 'reserved')
              if tonumber(ARGV[base + 1]) - tonumber(v[1]) - tonumber(v[2]) < amount then
                redis.call('HSET', h, 'short', now)
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
              reply[2 + 2 * i] = redis.call('HINCRBY', h, 'reserved', ARGV[2])
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
     * while the call ran). A reservation already reclaimed is charged its actual cost all the same. The cost is also
     * added to the instance's field {@code booked:INSTANCE} (the instance named in the member). Returns
     * {@code {spent1, reserved1, ...}}.
     */
    static final String SETTLE = """
            local owner = string.match(ARGV[1], '^[^|]*|(.+)|%d+$')
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
              if owner and ARGV[3] ~= '0' then
                redis.call('HINCRBY', h, 'booked:' .. owner, ARGV[3])
              end
              reply[2 * i - 1] = redis.call('HINCRBY', h, 'spent', ARGV[3])
              reply[2 * i] = redis.call('HGET', h, 'reserved')
            end
            return reply
            """;

    /**
     * Books what a dead instance spent in a window and never booked, from a shared ledger: adds
     * {@code max(0, ledger - booked:INSTANCE)} to {@code spent} and to {@code booked:INSTANCE}, gives back what
     * {@link #RECLAIM} held of the instance's reservations ({@code held:INSTANCE}), and takes the instance out of
     * {@code <h>:unreconciled}, in one step: nobody could reserve the unbooked costs meanwhile. Idempotent: once the
     * instance is out of the set nothing more is added, and even while it is in, a second run finds {@code booked}
     * equal to the ledger's figure. KEYS: the window's hash, its open set, its {@code unreconciled} set. ARGV:
     * instance, the instance's spend in the window according to the ledger. Returns {@code {added, spent, reserved}};
     * added {@code -1} when the instance was not (or no longer) to reconcile.
     */
    static final String RECONCILE = """
            local h = KEYS[1]
            local added = -1
            if redis.call('SISMEMBER', KEYS[3], ARGV[1]) == 1 then
              local field = 'booked:' .. ARGV[1]
              local missing = tonumber(ARGV[2]) - tonumber(redis.call('HGET', h, field) or '0')
              added = 0
              if missing > 0 then
                added = missing
                redis.call('HINCRBY', h, field, string.format('%.0f', missing))
                redis.call('HINCRBY', h, 'spent', string.format('%.0f', missing))
              end
              local held = redis.call('HGET', h, 'held:' .. ARGV[1])
              if held and tonumber(held) > 0 then
                redis.call('HINCRBY', h, 'reserved', '-' .. held)
              end
              redis.call('HDEL', h, 'held:' .. ARGV[1])
              redis.call('ZREM', KEYS[2], 'held:' .. ARGV[1])
              redis.call('SREM', KEYS[3], ARGV[1])
              redis.call('HSET', h, 'unreconciled', redis.call('SCARD', KEYS[3]))
            end
            local v = redis.call('HMGET', h, 'spent', 'reserved')
            return {string.format('%.0f', added), v[1] or '0', v[2] or '0'}
            """;
}
