package dev.tokenwise.core.proxy;

import dev.tokenwise.core.spi.UpstreamPoolStats;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoop;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.nio.channels.ClosedChannelException;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;

/**
 * Keep-alive upstream connections, per origin and per event loop.
 *
 * <p>Implementation note: a call's upstream channel is registered on the event loop of its client
 * channel, so a call never crosses threads. Each (origin, event loop) pair owns a plain
 * {@link ArrayDeque} of idle channels that only that event loop touches: {@link #acquire} and
 * {@link #release} must be called on the loop passed in, so no lock is needed. An idle channel that
 * the server closes removes itself from its deque (the close listener runs on the same loop).
 * Idle channels are closed after {@code idleTimeoutSeconds} without traffic.
 */
public final class UpstreamPool implements UpstreamPoolStats {
    private static final AttributeKey<ArrayDeque<Channel>> HOME = AttributeKey.valueOf("tokenwise.pool.home");
    static final AttributeKey<Boolean> REUSED = AttributeKey.valueOf("tokenwise.pool.reused");

    private final Transport transport;
    private final SslContext sslContext;
    private final int idleTimeoutSeconds;
    private final Map<Origin, Map<EventLoop, ArrayDeque<Channel>>> idle = new ConcurrentHashMap<>();
    private final LongAdder lostConnects = new LongAdder();

    public UpstreamPool(Transport transport, int idleTimeoutSeconds) {
        this.transport = transport;
        this.idleTimeoutSeconds = idleTimeoutSeconds;
        try {
            this.sslContext = SslContextBuilder.forClient().build();
        } catch (SSLException e) {
            throw new IllegalStateException("cannot create the TLS client context", e);
        }
    }

    /**
     * An open channel to {@code origin} on {@code loop}: an idle one when there is one, else a new
     * connection. Must be called on {@code loop}.
     *
     * <p>A connect that fails with {@link ClosedChannelException} was closed on our side, not refused: the
     * epoll transport keys ready events by file descriptor alone, so when a call closes a connection and
     * another opens one in the same batch of events, the new socket can take the old descriptor and get
     * its pending hang-up, on which Netty closes a channel that is not yet connected. Such a connect is
     * made once more at once; a refusal or a timeout fails the promise as it is.
     */
    public Future<Channel> acquire(Origin origin, EventLoop loop, int connectTimeoutMillis, boolean fresh) {
        ArrayDeque<Channel> deque = deque(origin, loop);
        if (!fresh) {
            Channel channel;
            while ((channel = deque.pollLast()) != null) {
                if (channel.isActive()) {
                    channel.attr(REUSED).set(Boolean.TRUE);
                    return loop.newSucceededFuture(channel);
                }
            }
        }
        Promise<Channel> promise = loop.newPromise();
        connect(origin, loop, connectTimeoutMillis, deque, promise, true);
        return promise;
    }

    private void connect(Origin origin, EventLoop loop, int connectTimeoutMillis, ArrayDeque<Channel> deque,
                         Promise<Channel> promise, boolean retryIfClosed) {
        Bootstrap bootstrap = new Bootstrap()
                .group(loop)
                .channel(transport.clientChannel())
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, connectTimeoutMillis)
                .option(ChannelOption.TCP_NODELAY, true)
                // The client side's allocator: a call's buffers come from one pool (and one thread cache).
                .option(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ChannelPipeline p = ch.pipeline();
                        if (origin.tls()) {
                            SslHandler ssl = sslContext.newHandler(ch.alloc(), origin.host(), origin.port());
                            SSLEngine engine = ssl.engine();
                            SSLParameters params = engine.getSSLParameters();
                            params.setEndpointIdentificationAlgorithm("HTTPS");
                            engine.setSSLParameters(params);
                            ssl.setHandshakeTimeoutMillis(connectTimeoutMillis);
                            p.addLast("tls", ssl);
                        }
                        // Requests are written as bytes (UpstreamRequests): only responses need a codec.
                        p.addLast("codec", new UpstreamResponseDecoder(64 * 1024, 64 * 1024));
                        p.addLast("idle", new IdleStateHandler(0, 0, idleTimeoutSeconds, TimeUnit.SECONDS));
                        p.addLast("backend", new UpstreamBackendHandler());
                    }
                });
        ChannelFuture connect = bootstrap.connect(origin.host(), origin.port());
        connect.addListener(f -> {
            if (!f.isSuccess()) {
                if (f.cause() instanceof ClosedChannelException && retryIfClosed) {
                    lostConnects.increment();
                    connect(origin, loop, connectTimeoutMillis, deque, promise, false);
                } else {
                    promise.tryFailure(f.cause());
                }
                return;
            }
            Channel ch = connect.channel();
            ch.attr(HOME).set(deque);
            ch.attr(REUSED).set(Boolean.FALSE);
            ch.closeFuture().addListener(c -> deque.remove(ch));
            SslHandler ssl = ch.pipeline().get(SslHandler.class);
            if (ssl == null) {
                promise.trySuccess(ch);
            } else {
                ssl.handshakeFuture().addListener(h -> {
                    if (h.isSuccess()) {
                        promise.trySuccess(ch);
                    } else {
                        ch.close();
                        promise.tryFailure(h.cause());
                    }
                });
            }
        });
    }

    /** Returns a channel whose exchange completed cleanly; closes it when the pool is full. Must be called on its loop. */
    public void release(Channel channel, int maxIdle) {
        ArrayDeque<Channel> deque = channel.attr(HOME).get();
        if (deque == null || !channel.isActive() || deque.size() >= maxIdle) {
            channel.close();
            return;
        }
        channel.config().setAutoRead(true);
        deque.addLast(channel);
    }

    /**
     * Connects closed by the transport before they completed and made again (see {@link #acquire}); a
     * racy sum, for tests and diagnosis.
     */
    @Override
    public long connectsLostBeforeCompleting() {
        return lostConnects.sum();
    }

    /** Idle channels across all loops (a racy sum, for meters and tests). */
    @Override
    public int idleCount() {
        int n = 0;
        for (Map<EventLoop, ArrayDeque<Channel>> byLoop : idle.values()) {
            for (ArrayDeque<Channel> d : byLoop.values()) {
                n += d.size();
            }
        }
        return n;
    }

    private ArrayDeque<Channel> deque(Origin origin, EventLoop loop) {
        return idle.computeIfAbsent(origin, o -> new ConcurrentHashMap<>())
                .computeIfAbsent(loop, l -> new ArrayDeque<>());
    }
}
