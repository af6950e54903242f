package dev.tokenwise.core.ratelimit;

import dev.tokenwise.core.config.RateLimits;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.spi.AdmissionStage;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Per-team, per-key and per-model rate limits, as the admission stage every call passes before its budget is
 * reserved. A call takes one request, its token bound (input bound plus output cap) and one slot from each holder
 * that has such a limit; the first limit that does not fit refuses it with 429 {@code rate_limit_exceeded} and a
 * {@code Retry-After}, and what was already taken is given back. An admitted call's response carries OpenAI's
 * {@code x-ratelimit-*} headers for the tightest request and token limit; when it ends, its tokens are settled to
 * what it really used (so a limit is exceeded by at most what one call bills beyond its reservation) and its slot
 * freed. A call that never went upstream gives everything back; one answered from the response cache keeps its
 * request and gives back all its tokens.
 *
 * <pre>{@code
 * RateLimiter limits = new RateLimiter(System::nanoTime);
 * limits.setTeam("gamma", new RateLimits(5, 300_000, 20));
 * GatewayServer.start(..., List.of(limits));
 * }</pre>
 */
public final class RateLimiter implements AdmissionStage {
    static final AsciiString LIMIT_REQUESTS = AsciiString.cached("x-ratelimit-limit-requests");
    static final AsciiString REMAINING_REQUESTS = AsciiString.cached("x-ratelimit-remaining-requests");
    static final AsciiString RESET_REQUESTS = AsciiString.cached("x-ratelimit-reset-requests");
    static final AsciiString LIMIT_TOKENS = AsciiString.cached("x-ratelimit-limit-tokens");
    static final AsciiString REMAINING_TOKENS = AsciiString.cached("x-ratelimit-remaining-tokens");
    static final AsciiString RESET_TOKENS = AsciiString.cached("x-ratelimit-reset-tokens");

    private final LongSupplier clockNanos;
    private final Map<String, HolderLimits> teams = new ConcurrentHashMap<>();
    private final Map<String, HolderLimits> keys = new ConcurrentHashMap<>();
    private final Map<String, HolderLimits> models = new ConcurrentHashMap<>();

    public RateLimiter(LongSupplier clockNanos) {
        this.clockNanos = clockNanos;
    }

    /** Sets (or, with {@link RateLimits#NONE} or {@code null}, removes) a team's limits. */
    public void setTeam(String team, RateLimits limits) {
        set(teams, "team", team, limits);
    }

    /** Sets or removes the limits of a key, by its id. */
    public void setKey(String keyId, RateLimits limits) {
        set(keys, "key", keyId, limits);
    }

    /** Sets or removes the limits of a model (all teams together). */
    public void setModel(String model, RateLimits limits) {
        set(models, "model", model, limits);
    }

    /** The limits of a team, {@link RateLimits#NONE} when it has none. */
    public RateLimits team(String team) {
        HolderLimits h = teams.get(team);
        return h == null ? RateLimits.NONE : h.limits;
    }

    /** The limits of a key, {@link RateLimits#NONE} when it has none. */
    public RateLimits key(String keyId) {
        HolderLimits h = keys.get(keyId);
        return h == null ? RateLimits.NONE : h.limits;
    }

    /** The limits of a model (all teams together), {@link RateLimits#NONE} when it has none. */
    public RateLimits model(String model) {
        HolderLimits h = models.get(model);
        return h == null ? RateLimits.NONE : h.limits;
    }

    /** {@code true} when no limit is set anywhere: the stage then costs three map lookups a call. */
    public boolean isEmpty() {
        return teams.isEmpty() && keys.isEmpty() && models.isEmpty();
    }

    private static void set(Map<String, HolderLimits> map, String kind, String name, RateLimits limits) {
        if (limits == null || limits.isNone()) {
            map.remove(name);
        } else {
            map.put(name, new HolderLimits(kind, name, limits));
        }
    }

    @Override
    public Lease admit(Call call) {
        HolderLimits team = teams.get(call.team());
        HolderLimits key = keys.get(call.keyId());
        HolderLimits model = models.get(call.model());
        if (team == null && key == null && model == null) {
            return Lease.NONE;
        }
        long now = clockNanos.getAsLong();
        long tokens = Math.max(0, call.inputTokensBound()) + Math.max(0, call.outputTokensBound());
        Taken taken = new Taken(tokens, now);
        try {
            // Keys first: the narrowest limit names itself in the refusal.
            taken.take(key, call);
            taken.take(team, call);
            taken.take(model, call);
        } catch (GatewayException refused) {
            taken.abort();
            throw refused;
        }
        return taken;
    }

    /** What one call took from each holder, and the tightest figures for its response headers. */
    private final class Taken implements Lease {
        private final long tokens;
        private final long admittedNanos;
        private final List<HolderLimits> holders = new ArrayList<>(3);
        private HolderLimits tightestRequests;
        private long remainingRequests = Long.MAX_VALUE;
        private HolderLimits tightestTokens;
        private long remainingTokens = Long.MAX_VALUE;
        private boolean ended;

        Taken(long tokens, long admittedNanos) {
            this.tokens = tokens;
            this.admittedNanos = admittedNanos;
        }

        void take(HolderLimits h, Call call) {
            if (h == null) {
                return;
            }
            long requestsLeft = h.requests == null ? Long.MAX_VALUE : h.requests.take(1, admittedNanos);
            if (requestsLeft < 0) {
                throw refusal(h, h.limits.requestsPerMinute() + " requests per minute", -requestsLeft);
            }
            long tokensLeft = Long.MAX_VALUE;
            if (h.tokens != null) {
                tokensLeft = h.tokens.take(tokens, admittedNanos);
                if (tokensLeft < 0) {
                    if (h.requests != null) {
                        h.requests.giveBack(1);
                    }
                    if (tokensLeft == Gcra.NEVER) {
                        throw RateLimitRefusal.tooLarge(h.holder(), h.limits.tokensPerMinute(), tokens);
                    }
                    throw refusal(h, h.limits.tokensPerMinute() + " tokens per minute (this call may use up to "
                            + tokens + ")", -tokensLeft);
                }
            }
            if (h.inFlight != null && !h.takeSlot()) {
                if (h.requests != null) {
                    h.requests.giveBack(1);
                }
                if (h.tokens != null) {
                    h.tokens.giveBack(tokens);
                }
                throw RateLimitRefusal.concurrent(h.holder(), h.limits.concurrentRequests());
            }
            holders.add(h);
            if (h.requests != null && requestsLeft < remainingRequests) {
                remainingRequests = requestsLeft;
                tightestRequests = h;
            }
            if (h.tokens != null && tokensLeft < remainingTokens) {
                remainingTokens = tokensLeft;
                tightestTokens = h;
            }
        }

        private GatewayException refusal(HolderLimits h, String limit, long waitNanos) {
            return RateLimitRefusal.rate(h.holder(), limit, waitNanos);
        }

        @Override
        public void decorate(HttpHeaders headers) {
            if (tightestRequests != null) {
                headers.set(LIMIT_REQUESTS, tightestRequests.limits.requestsPerMinute());
                headers.set(REMAINING_REQUESTS, remainingRequests);
                headers.set(RESET_REQUESTS, duration(tightestRequests.requests.resetNanos(admittedNanos)));
            }
            if (tightestTokens != null) {
                headers.set(LIMIT_TOKENS, tightestTokens.limits.tokensPerMinute());
                headers.set(REMAINING_TOKENS, remainingTokens);
                headers.set(RESET_TOKENS, duration(tightestTokens.tokens.resetNanos(admittedNanos)));
            }
        }

        @Override
        public void settle(UsageRecord record) {
            end(tokens - tokensUsed(record, tokens), false);
        }

        @Override
        public void abort() {
            end(tokens, true);
        }

        void end(long unusedTokens, boolean requestToo) {
            if (ended) {
                return;
            }
            ended = true;
            for (HolderLimits h : holders) {
                if (requestToo && h.requests != null) {
                    h.requests.giveBack(1);
                }
                if (h.tokens != null && unusedTokens != 0) {
                    h.tokens.giveBack(unusedTokens);
                }
                if (h.inFlight != null) {
                    h.inFlight.decrementAndGet();
                }
            }
        }
    }

    /** OpenAI's form: {@code 250ms}, {@code 12s}, {@code 1m30s}. */
    static String duration(long nanos) {
        long millis = TimeUnit.NANOSECONDS.toMillis(nanos + 999_999);
        if (millis < 1000) {
            return millis + "ms";
        }
        long seconds = (millis + 999) / 1000;
        return seconds < 60 ? seconds + "s" : seconds / 60 + "m" + seconds % 60 + "s";
    }

    /**
     * The tokens a settled call used against a tokens-per-minute limit, of the {@code reserved} it was admitted with:
     * its billed input and output; none for a call answered from the response cache (it counts as a request, but used
     * no provider's tokens); all it reserved when the record has no usage.
     */
    public static long tokensUsed(UsageRecord record, long reserved) {
        if (record == null || record.usage() == null) {
            return reserved;
        }
        return record.cacheHit() ? 0 : record.usage().inputTokens() + record.usage().outputTokens();
    }
}
