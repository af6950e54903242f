package dev.tokenwise.core.proxy;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenwise.core.accounting.AccountingCore;
import dev.tokenwise.core.auth.KeyRegistry;
import dev.tokenwise.core.budget.BudgetBook;
import dev.tokenwise.core.config.GatewayConfig;
import dev.tokenwise.core.config.ModelConfig;
import dev.tokenwise.core.config.ProviderConfig;
import dev.tokenwise.core.spi.AdmissionStage;
import dev.tokenwise.core.spi.ModelRouter;
import dev.tokenwise.core.spi.ApiRoute;
import dev.tokenwise.core.spi.DurabilityGate;
import dev.tokenwise.core.spi.TokenCalibration;
import dev.tokenwise.core.spi.ProviderAdapter;
import dev.tokenwise.core.spi.TokenCounter;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Netty server: binds the listener and wires the proxy's shared parts into each connection.
 *
 * <pre>{@code
 * GatewayServer server = GatewayServer.start(config, adapters, counter, accounting, budgets, keys, routes, null, null);
 * int port = server.port();
 * ...
 * server.close();
 * }</pre>
 */
public final class GatewayServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(GatewayServer.class);

    private final EventLoopGroup group;
    private final Channel listener;
    private final ProxyContext proxy;

    private GatewayServer(EventLoopGroup group, Channel listener, ProxyContext proxy) {
        this.group = group;
        this.listener = listener;
        this.proxy = proxy;
    }

    /**
     * Starts the server.
     *
     * @param adapters the adapter of each enabled provider, by provider name
     * @param routes local endpoints (usage API, admin API, metrics, dashboard), tried in order
     * @param durability when not {@code null}, the final bytes of each response wait for its record to be durable
     * @param calibration scales local estimates of inexactly tokenized models when a provider reports no usage
     */
    public static GatewayServer start(GatewayConfig config, Map<String, ProviderAdapter> adapters,
                                      TokenCounter counter, AccountingCore accounting, BudgetBook budgets,
                                      KeyRegistry keys, List<ApiRoute> routes, DurabilityGate durability,
                                      TokenCalibration calibration) throws InterruptedException {
        return start(config, adapters, counter, accounting, budgets, keys, routes, durability, calibration, List.of());
    }

    /**
     * Starts the server with admission stages (rate limits, cache lookups, shared budgets) that every call passes,
     * in order, before its budget is reserved.
     */
    public static GatewayServer start(GatewayConfig config, Map<String, ProviderAdapter> adapters,
                                      TokenCounter counter, AccountingCore accounting, BudgetBook budgets,
                                      KeyRegistry keys, List<ApiRoute> routes, DurabilityGate durability,
                                      TokenCalibration calibration, List<AdmissionStage> stages)
            throws InterruptedException {
        return start(config, adapters, counter, accounting, budgets, keys, routes, durability, calibration, stages,
                ModelRouter.NONE);
    }

    /** Starts the server with admission stages and the {@link ModelRouter} of the config's efficiency routes. */
    public static GatewayServer start(GatewayConfig config, Map<String, ProviderAdapter> adapters,
                                      TokenCounter counter, AccountingCore accounting, BudgetBook budgets,
                                      KeyRegistry keys, List<ApiRoute> routes, DurabilityGate durability,
                                      TokenCalibration calibration, List<AdmissionStage> stages, ModelRouter router)
            throws InterruptedException {
        Map<String, Deployment> deployments = new LinkedHashMap<>();
        for (ModelConfig model : config.models().values()) {
            ProviderConfig provider = config.providers().get(model.provider());
            ProviderAdapter adapter = adapters.get(provider.name());
            if (provider.enabled() && adapter == null) {
                throw new IllegalArgumentException("no adapter for enabled provider " + provider.name());
            }
            Origin origin = provider.baseUrl() == null ? null : Origin.of(provider.baseUrl());
            deployments.put(model.name(), new Deployment(model, provider, adapter, origin));
        }
        Map<String, ProviderHealth> health = new LinkedHashMap<>();
        for (ProviderConfig provider : config.providers().values()) {
            health.put(provider.name(), new ProviderHealth(provider.name(), provider.resilience(), System::nanoTime));
        }
        Transport transport = Transport.best();
        int threads = config.server().ioThreads() > 0 ? config.server().ioThreads()
                : Runtime.getRuntime().availableProcessors();
        EventLoopGroup group = transport.newGroup(threads, new DefaultThreadFactory("tokenwise-io", true));
        ProxyContext proxy = new ProxyContext(config, java.util.Collections.unmodifiableMap(deployments), keys, counter, accounting, budgets,
                new UpstreamPool(transport, 60), List.copyOf(routes), new ObjectMapper(), durability,
                java.util.Collections.unmodifiableMap(health), calibration == null ? TokenCalibration.NONE : calibration,
                List.copyOf(stages), router == null ? ModelRouter.NONE : router);
        try {
            Channel listener = new ServerBootstrap()
                    .group(group)
                    .channel(transport.serverChannel())
                    .option(ChannelOption.SO_BACKLOG, 1024)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childOption(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
                    .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(32 * 1024, 256 * 1024))
                    .childHandler(new GatewayChannelInitializer(proxy))
                    .bind(config.server().host(), config.server().port())
                    .sync()
                    .channel();
            GatewayServer server = new GatewayServer(group, listener, proxy);
            log.info("Tokenwise gateway listening on http://{}:{} ({} transport, {} event loops)",
                    config.server().host(), server.port(), transport.name().toLowerCase(java.util.Locale.ROOT), threads);
            return server;
        } catch (InterruptedException | RuntimeException e) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            throw e;
        }
    }

    public int port() {
        return ((InetSocketAddress) listener.localAddress()).getPort();
    }

    /** Each provider's circuit breaker and retry budget, by provider name. */
    public Map<String, ProviderHealth> providerHealth() {
        return proxy.health();
    }

    /** Idle pooled upstream connections (for tests). */
    public int idleUpstreamConnections() {
        return proxy.pool().idleCount();
    }

    /** The pool of upstream connections, for its meters. */
    public UpstreamPool upstreamPool() {
        return proxy.pool();
    }

    /** Stops accepting, waits up to {@code graceMillis} for in-flight calls, then closes every connection. */
    public void shutdown(long graceMillis) {
        listener.close().syncUninterruptibly();
        long deadline = System.currentTimeMillis() + graceMillis;
        while (proxy.accounting().inFlightCount() > 0 && System.currentTimeMillis() < deadline) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @Override
    public void close() {
        shutdown(0);
    }
}
