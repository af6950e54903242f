package dev.tokenwise.server.cluster;

import dev.tokenwise.core.config.ClusterConfig;
import dev.tokenwise.core.health.PeriodicTask;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.metrics.CommandLatencyRecorder;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.Delay;
import io.lettuce.core.resource.DefaultClientResources;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This instance's connection to the cluster's Redis (Lettuce, asynchronous, on its own small Netty event loop): one
 * multiplexed connection, commands that fail at once while it is down (never queued behind a dead socket) and time
 * out after {@link #COMMAND_TIMEOUT}, reconnection every {@link #RECONNECT_DELAY}. A watcher thread notices when
 * Redis goes away or comes back, logs it once each way and runs what was registered for "back"
 * ({@link #onUp}) and for every tick ({@link #onTick}).
 */
public final class RedisLink implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RedisLink.class);
    /**
     * A command not answered in this time fails (503 for the call that waits on it): inside 2 s. While the connection
     * is known to be down, commands fail at once instead.
     */
    public static final Duration COMMAND_TIMEOUT = Duration.ofMillis(1_500);
    static final Duration CONNECT_TIMEOUT = Duration.ofMillis(1_000);
    static final Duration RECONNECT_DELAY = Duration.ofMillis(500);
    static final long TICK_MILLIS = 250;

    private final ClusterConfig config;
    private final ClientResources resources;
    private final RedisClient client;
    private final ScheduledExecutorService watcher;
    private PeriodicTask watcherTask;
    private final List<Runnable> onUp = new CopyOnWriteArrayList<>();
    private final List<Runnable> onTick = new CopyOnWriteArrayList<>();
    private volatile StatefulRedisConnection<String, String> connection;
    private volatile String lastError;
    private volatile boolean wasUp;
    private volatile boolean closed;

    private RedisLink(ClusterConfig config) {
        this.config = config;
        // No per-command latency histograms: Lettuce records them whenever LatencyUtils is on the classpath, nothing
        // reads them, and recording costs CPU on every script run.
        this.resources = DefaultClientResources.builder().ioThreadPoolSize(1).computationThreadPoolSize(1)
                .commandLatencyRecorder(CommandLatencyRecorder.disabled())
                .reconnectDelay(Delay.constant(RECONNECT_DELAY)).build();
        RedisURI uri = RedisURI.create(config.redisUrl());
        uri.setTimeout(COMMAND_TIMEOUT);
        this.client = RedisClient.create(resources, uri);
        client.setOptions(ClientOptions.builder()
                .autoReconnect(true)
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                .socketOptions(SocketOptions.builder().connectTimeout(CONNECT_TIMEOUT).keepAlive(true).build())
                .timeoutOptions(TimeoutOptions.enabled(COMMAND_TIMEOUT))
                .build());
        this.watcher = Executors.newSingleThreadScheduledExecutor(new DefaultThreadFactory("tokenwise-redis", true));
    }

    /**
     * Connects to {@code config.redisUrl()}. When Redis cannot be reached now the gateway starts all the same
     * (degraded: calls with a budget get 503 until it can) and keeps trying.
     */
    public static RedisLink open(ClusterConfig config) {
        RedisLink link = new RedisLink(config);
        link.tryConnect();
        link.wasUp = link.up();
        if (link.wasUp) {
            log.info("Cluster mode: instance {} shares budgets on Redis {}", config.instanceId(),
                    ClusterConfig.redact(config.redisUrl()));
        } else {
            log.warn("Cluster mode: Redis {} is unreachable ({}); instance {} refuses calls with a budget until it is"
                    + " back", ClusterConfig.redact(config.redisUrl()), link.lastError, config.instanceId());
        }
        link.watcherTask = PeriodicTask.every(link.watcher, TICK_MILLIS, "redis-watcher", link::tick);
        return link;
    }

    private void tryConnect() {
        try {
            connection = client.connect(StringCodec.UTF8);
        } catch (RuntimeException e) {
            lastError = e.getCause() != null ? e.getCause().toString() : e.toString();
        }
    }

    /**
     * One tick of the watcher: connects when never connected, notices Redis going and coming back, and runs the
     * periodic actions (slice renewals, the admin feed). An action that throws does not keep the others from running;
     * the tick then fails as a whole, which {@link #watcher()} reports to {@code /healthz}.
     */
    private void tick() {
        if (closed) {
            return;
        }
        if (connection == null) {
            tryConnect(); // never connected yet: Lettuce reconnects by itself only once it has
        }
        boolean up = up();
        List<RuntimeException> failed = new ArrayList<>(0);
        if (up != wasUp) {
            wasUp = up;
            if (up) {
                log.warn("Cluster mode: Redis {} is reachable again; shared budgets are enforced again",
                        ClusterConfig.redact(config.redisUrl()));
                lastError = null;
                onUp.forEach(action -> run(action, failed));
            } else {
                log.warn("Cluster mode: Redis {} is unreachable ({}); calls with a budget are refused (503"
                        + " budget_unavailable) until it is back", ClusterConfig.redact(config.redisUrl()),
                        lastError == null ? "connection lost" : lastError);
            }
        }
        if (up) {
            onTick.forEach(action -> run(action, failed));
        }
        if (!failed.isEmpty()) {
            IllegalStateException e = new IllegalStateException(failed.size() + " cluster task(s) failed: "
                    + failed.get(0), failed.get(0));
            failed.stream().skip(1).forEach(e::addSuppressed);
            throw e;
        }
    }

    private static void run(Runnable action, List<RuntimeException> failed) {
        try {
            action.run();
        } catch (RuntimeException e) {
            failed.add(e);
        }
    }

    /** The watcher's periodic task: its {@link PeriodicTask#failure()} is the last tick's, reported by {@code /healthz}. */
    public PeriodicTask watcher() {
        return watcherTask;
    }

    /** Runs {@code action} (on the watcher thread, without blocking) each time Redis is reachable again. */
    public void onUp(Runnable action) {
        onUp.add(action);
    }

    /** Runs {@code action} (on the watcher thread, without blocking) every tick while Redis is reachable. */
    public void onTick(Runnable action) {
        onTick.add(action);
    }

    /** The asynchronous commands, or {@code null} before the first connection. */
    RedisAsyncCommands<String, String> commands() {
        StatefulRedisConnection<String, String> c = connection;
        return c == null ? null : c.async();
    }

    /** {@code true} while the connection to Redis is open. */
    public boolean up() {
        StatefulRedisConnection<String, String> c = connection;
        return c != null && c.isOpen();
    }

    /** Why Redis was last unreachable, or {@code null}. */
    public String lastError() {
        return lastError;
    }

    /** A command failed: remembered for {@code /healthz}. */
    void failed(Throwable cause) {
        lastError = cause.toString();
    }

    ClientResources resources() {
        return resources;
    }

    public ClusterConfig config() {
        return config;
    }

    @Override
    public void close() {
        closed = true;
        watcher.shutdownNow();
        StatefulRedisConnection<String, String> c = connection;
        if (c != null) {
            c.close();
        }
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        resources.shutdown(0, 2, TimeUnit.SECONDS);
    }
}
