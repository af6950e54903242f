package dev.tokenwise.core.config;

import java.util.Locale;
import java.util.Objects;

/**
 * Cluster mode ({@code cluster:} and {@code instance_id}): several gateway instances share budgets on one Redis.
 *
 * @param redisUrl the Redis every instance shares ({@code redis://}, {@code rediss://}, with a password if need
 *     be); {@code null} on a single node, where budgets live in this process only
 * @param onRedisDown what a call that needs a shared decision gets while Redis is unreachable
 * @param instanceId this instance's name in logs and {@code /healthz}
 * @param leasePercent the share of a budget's free amount an instance leases as its slice, to admit calls without
 *     a Redis round trip ({@code cluster.lease_percent}, 1..50); {@code 0}: no slices, every call reserves in Redis
 * @param bookingDelayMillis the longest the actual costs of a slice's calls wait before one script books them in
 *     Redis ({@code cluster.booking_delay_ms}, 1..60000): longer books more calls per script run, and leaves Redis
 *     behind the ledger for longer (an instance killed meanwhile is reconciled from a shared ledger, docs/cluster.md)
 */
public record ClusterConfig(String redisUrl, OnRedisDown onRedisDown, String instanceId, int leasePercent,
                            long bookingDelayMillis) {
    /** A single node: no Redis. */
    public static final ClusterConfig NONE = new ClusterConfig(null, OnRedisDown.FAIL_CLOSED, defaultInstanceId());
    /** The share of a budget's free amount leased as a slice unless configured. */
    public static final int DEFAULT_LEASE_PERCENT = 10;
    /** The largest slice: half of what is free, so that a second instance still finds a half. */
    public static final int MAX_LEASE_PERCENT = 50;
    /** How long the costs of a slice's calls wait to be booked in Redis unless configured. */
    public static final long DEFAULT_BOOKING_DELAY_MILLIS = 5;
    /** The longest configurable booking delay. */
    public static final long MAX_BOOKING_DELAY_MILLIS = 60_000;

    /** Slices of the default size. */
    public ClusterConfig(String redisUrl, OnRedisDown onRedisDown, String instanceId) {
        this(redisUrl, onRedisDown, instanceId, DEFAULT_LEASE_PERCENT);
    }

    /** Bookings after the default delay. */
    public ClusterConfig(String redisUrl, OnRedisDown onRedisDown, String instanceId, int leasePercent) {
        this(redisUrl, onRedisDown, instanceId, leasePercent, DEFAULT_BOOKING_DELAY_MILLIS);
    }

    /** What a call that needs a shared decision gets while Redis is unreachable. */
    public enum OnRedisDown {
        /** 503 {@code budget_unavailable}: no call goes unchecked (the default). */
        FAIL_CLOSED,
        /**
         * Each instance keeps admitting against the budget slices it already holds, and nothing more: the
         * bounded-risk choice (the bound is the slices held, each at most {@code lease_percent} of what was free).
         */
        LOCAL_SHARE;

        public static OnRedisDown parse(String value, String key) {
            String v = value.trim().toLowerCase(Locale.ROOT);
            if (v.equals("fail_closed")) {
                return FAIL_CLOSED;
            }
            if (v.equals("local_share")) {
                return LOCAL_SHARE;
            }
            throw new ConfigException(key + ": '" + value + "' (expected: fail_closed or local_share)");
        }
    }

    public ClusterConfig {
        Objects.requireNonNull(onRedisDown, "cluster.on_redis_down");
        Checks.checkNotBlank(instanceId, "instance_id");
        if (leasePercent < 0 || leasePercent > MAX_LEASE_PERCENT) {
            throw new ConfigException("cluster.lease_percent: " + leasePercent + " (expected: 0..." + MAX_LEASE_PERCENT
                    + "; 0 turns slices off)");
        }
        if (bookingDelayMillis < 1 || bookingDelayMillis > MAX_BOOKING_DELAY_MILLIS) {
            throw new ConfigException("cluster.booking_delay_ms: " + bookingDelayMillis + " (expected: 1..."
                    + MAX_BOOKING_DELAY_MILLIS + ")");
        }
        if (redisUrl != null) {
            String url = redisUrl.trim();
            if (!url.startsWith("redis://") && !url.startsWith("rediss://")) {
                throw new ConfigException("cluster.redis_url: '" + redact(url)
                        + "' (expected: redis://[:password@]host:port[/db] or rediss://...)");
            }
            redisUrl = url;
        }
    }

    /** {@code true} when budgets are shared on Redis. */
    public boolean enabled() {
        return redisUrl != null;
    }

    /** The URL without its password, for logs and errors. */
    public static String redact(String url) {
        if (url == null) {
            return null;
        }
        int at = url.lastIndexOf('@');
        int scheme = url.indexOf("://");
        return at < 0 || scheme < 0 ? url : url.substring(0, scheme + 3) + "***" + url.substring(at);
    }

    /** The host name and process id, e.g. {@code gw-1-4711}. */
    public static String defaultInstanceId() {
        String host;
        try {
            host = java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException | RuntimeException e) {
            host = "localhost";
        }
        return host + "-" + ProcessHandle.current().pid();
    }
}
