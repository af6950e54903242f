package dev.tokenwise.providers.simulator;

import dev.tokenwise.core.spi.TokenCounter;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A local HTTP/1.1 server speaking the OpenAI API with simulated answers, so the gateway has an upstream to
 * proxy to when no provider key is configured. It serves {@code POST /v1/chat/completions} (plain and
 * streamed), {@code POST /v1/embeddings} and {@code GET /v1/models}; answers are deterministic per request
 * and every response carries {@code X-Tokenwise-Simulated: true}. It listens on 127.0.0.1 only. A model with a
 * {@link SimulatedSkill} answers tasks of the builtin eval suite right with its probability {@code accuracy}
 * (see {@link SimulatorSettings#skills()}).
 *
 * <pre>{@code
 * try (SimulatorServer sim = SimulatorServer.start(SimulatorSettings.defaults(), tokenCounter)) {
 *     ProviderConfig upstream = providerConfig.withBaseUrl(sim.baseUrl()); // http://127.0.0.1:PORT/v1
 *     ...
 * }
 * }</pre>
 */
public final class SimulatorServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(SimulatorServer.class);

    /** Largest request body accepted; larger ones get {@code 413}. */
    static final int MAX_REQUEST_BYTES = 32 * 1024 * 1024;

    private final EventLoopGroup group;
    private final Channel serverChannel;
    private final int port;
    private final StreamStats stats;

    private SimulatorServer(EventLoopGroup group, Channel serverChannel, StreamStats stats) {
        this.group = group;
        this.serverChannel = serverChannel;
        this.port = ((InetSocketAddress) serverChannel.localAddress()).getPort();
        this.stats = stats;
    }

    /**
     * Binds 127.0.0.1 on {@code settings.port()} and starts serving.
     *
     * @param counter counts prompt and completion tokens for the {@code usage} objects
     * @throws IllegalStateException when the port cannot be bound
     */
    public static SimulatorServer start(SimulatorSettings settings, TokenCounter counter) {
        Objects.requireNonNull(settings, "settings");
        Objects.requireNonNull(counter, "counter");
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(settings.ioThreads(),
                new DefaultThreadFactory("tokenwise-simulator", true), NioIoHandler.newFactory());
        StreamStats stats = new StreamStats();
        SkilledAnswers skilled = new SkilledAnswers(settings.skills(), System::nanoTime);
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                // Reads are requested by SimulatorHandler, one request at a time.
                .childOption(ChannelOption.AUTO_READ, false)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast("codec", new HttpServerCodec());
                        ch.pipeline().addLast("simulated-header", SimulatedHeaderHandler.INSTANCE);
                        ch.pipeline().addLast("aggregator", new HttpObjectAggregator(MAX_REQUEST_BYTES));
                        ch.pipeline().addLast("simulator", new SimulatorHandler(settings, counter, stats, skilled));
                    }
                });
        ChannelFuture bind = bootstrap.bind("127.0.0.1", settings.port()).awaitUninterruptibly();
        if (!bind.isSuccess()) {
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS).awaitUninterruptibly();
            throw new IllegalStateException("Simulator provider could not listen on 127.0.0.1:" + settings.port(),
                    bind.cause());
        }
        SimulatorServer server = new SimulatorServer(group, bind.channel(), stats);
        log.info("Simulator provider listening on {} (responses are SIMULATED, not from a real model)",
                server.baseUrl());
        return server;
    }

    /** The port bound, useful when the settings asked for {@code 0}. */
    public int port() {
        return port;
    }

    /** The API root to configure as the provider's base URL: {@code http://127.0.0.1:PORT/v1}. */
    public URI baseUrl() {
        return URI.create("http://127.0.0.1:" + port + "/v1");
    }

    /** Streams currently being written; for tests. */
    int activeStreams() {
        return stats.active.get();
    }

    /** Times a stream paused for a slow client; for tests. */
    long backpressurePauses() {
        return stats.backpressurePauses.sum();
    }

    /** Stops listening, closes open connections and waits until the event loop has terminated. */
    @Override
    public void close() {
        serverChannel.close().awaitUninterruptibly();
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly();
    }
}
