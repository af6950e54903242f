package dev.tokenwise.server.admin;

import dev.tokenwise.core.config.GatewayConfig;
import dev.tokenwise.core.config.RateLimits;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.ratelimit.RateLimiter;
import dev.tokenwise.core.spi.TeamStore;
import dev.tokenwise.core.spi.TeamStore.StoredRateLimits;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The rate limits of teams, keys and models, from the config file and the admin API, applied to a
 * {@link RateLimiter}. As with budgets, limits set through the admin API are stored and win over the config file
 * after a restart; models' limits come from the config file only. Blocking (the store): never on an event loop.
 */
public final class RateLimitDirectory {
    private static final Logger log = LoggerFactory.getLogger(RateLimitDirectory.class);

    private final TeamStore store;
    private final RateLimiter limiter;
    private final TeamDirectory teams;
    private final LongSupplier clockMillis;
    private final Object changeLock = new Object();
    /** Told of every change made here (cluster mode passes them on to the other instances). */
    private volatile ChangeListener changes = (kind, name, limits) -> { };

    /** Rate-limit changes made through this directory that the other instances of a cluster must also make. */
    @FunctionalInterface
    public interface ChangeListener {
        /**
         * @param kind {@link StoredRateLimits#TEAM} or {@link StoredRateLimits#KEY}
         */
        void changed(String kind, String name, RateLimits limits);
    }

    /** Sends every later change made here to {@code listener}. */
    public void onChange(ChangeListener listener) {
        this.changes = Objects.requireNonNull(listener, "listener");
    }

    /**
     * Makes here a change another instance of the cluster made, telling no listener: nothing when the team or key is
     * unknown here or already has these limits. Blocking (it writes the store).
     */
    public void applyRemote(String kind, String name, RateLimits limits) {
        boolean team = StoredRateLimits.TEAM.equals(kind);
        if (team ? teams.team(name).isEmpty() : teams.key(name).isEmpty()) {
            return;
        }
        if (limits.equals(team ? limiter.team(name) : limiter.key(name))) {
            return;
        }
        synchronized (changeLock) {
            store.saveRateLimits(new StoredRateLimits(kind, name, limits, clockMillis.getAsLong()));
            if (team) {
                limiter.setTeam(name, limits);
            } else {
                limiter.setKey(name, limits);
            }
        }
    }

    private RateLimitDirectory(TeamStore store, RateLimiter limiter, TeamDirectory teams, LongSupplier clockMillis) {
        this.store = store;
        this.limiter = limiter;
        this.teams = teams;
        this.clockMillis = clockMillis;
    }

    /** Applies the config file's limits, then the stored ones over them. */
    public static RateLimitDirectory load(GatewayConfig config, TeamStore store, RateLimiter limiter, TeamDirectory teams,
                                          LongSupplier clockMillis) {
        RateLimitDirectory directory = new RateLimitDirectory(Objects.requireNonNull(store, "store"),
                Objects.requireNonNull(limiter, "limiter"), Objects.requireNonNull(teams, "teams"),
                Objects.requireNonNull(clockMillis, "clockMillis"));
        config.rateLimits().models().forEach(limiter::setModel);
        Map<String, RateLimits> teamLimits = new HashMap<>(config.rateLimits().teams());
        Map<String, RateLimits> keyLimits = new HashMap<>(config.rateLimits().keys());
        for (StoredRateLimits stored : store.rateLimits()) {
            Map<String, RateLimits> target = StoredRateLimits.TEAM.equals(stored.kind()) ? teamLimits : keyLimits;
            RateLimits configured = target.put(stored.name(), stored.limits());
            if (configured != null && !configured.equals(stored.limits())) {
                log.info("{} {}: the rate limits set through the admin API ({}) win over the config file's ({})",
                        stored.kind(), stored.name(), describe(stored.limits()), describe(configured));
            }
        }
        teamLimits.forEach(limiter::setTeam);
        keyLimits.forEach(limiter::setKey);
        return directory;
    }

    /** A team's limits now. */
    public RateLimits team(String team) {
        requireTeam(team);
        return limiter.team(team);
    }

    /** A key's limits now. */
    public RateLimits key(String keyId) {
        requireKey(keyId);
        return limiter.key(keyId);
    }

    /** Replaces a team's limits ({@link RateLimits#NONE} removes them), stored and applied at once. */
    public RateLimits setTeam(String team, RateLimits limits) {
        requireTeam(team);
        synchronized (changeLock) {
            store.saveRateLimits(new StoredRateLimits(StoredRateLimits.TEAM, team, limits, clockMillis.getAsLong()));
            limiter.setTeam(team, limits);
        }
        changes.changed(StoredRateLimits.TEAM, team, limits);
        return limits;
    }

    /** Replaces a key's limits, inside its team's. */
    public RateLimits setKey(String keyId, RateLimits limits) {
        requireKey(keyId);
        synchronized (changeLock) {
            store.saveRateLimits(new StoredRateLimits(StoredRateLimits.KEY, keyId, limits, clockMillis.getAsLong()));
            limiter.setKey(keyId, limits);
        }
        changes.changed(StoredRateLimits.KEY, keyId, limits);
        return limits;
    }

    private void requireTeam(String team) {
        if (teams.team(team).isEmpty()) {
            throw new GatewayException(ErrorType.NOT_FOUND, "no team " + team);
        }
    }

    private void requireKey(String keyId) {
        if (teams.key(keyId).isEmpty()) {
            throw new GatewayException(ErrorType.NOT_FOUND, "no key " + keyId);
        }
    }

    static String describe(RateLimits limits) {
        if (limits.isNone()) {
            return "none";
        }
        StringBuilder s = new StringBuilder();
        if (limits.requestsPerMinute() > 0) {
            s.append(limits.requestsPerMinute()).append(" requests/min");
        }
        if (limits.tokensPerMinute() > 0) {
            s.append(s.isEmpty() ? "" : ", ").append(limits.tokensPerMinute()).append(" tokens/min");
        }
        if (limits.concurrentRequests() > 0) {
            s.append(s.isEmpty() ? "" : ", ").append(limits.concurrentRequests()).append(" concurrent");
        }
        return s.toString();
    }
}
