package dev.tokenwise.bench;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.HttpUtil;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * A stand-in for the OpenAI API: answers {@code POST .../chat/completions} with a fixed, realistic
 * {@code chat.completion}, or with an SSE stream of {@code chat.completion.chunk} events when the body
 * says {@code "stream": true} (plus a usage event when {@code stream_options.include_usage} is true).
 * {@code GET /healthz} answers 200; anything else 404. Connections are kept alive.
 *
 * <p>All response bytes are built once ({@link MockResponses}) and written without an HTTP encoder, so the
 * mock costs little next to what it is compared with.
 *
 * <pre>{@code
 * try (MockUpstream mock = MockUpstream.start(MockUpstream.Options.defaults())) {
 *     URI completions = URI.create(mock.baseUrl() + "/chat/completions");
 *     ...
 * }
 * }</pre>
 */
public final class MockUpstream implements AutoCloseable {

    /**
     * @param host address to bind
     * @param port TCP port, {@code 0} picks a free one
     * @param threads event loop threads
     * @param chunks content events in a streamed answer
     * @param responseDelay wait before the first byte of every response
     * @param chunkDelay wait between two events of a streamed response
     */
    public record Options(String host, int port, int threads, int chunks, Duration responseDelay, Duration chunkDelay) {
        public Options {
            Objects.requireNonNull(host, "host");
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port: " + port + " (expected: 0..65535)");
            }
            if (threads <= 0) {
                throw new IllegalArgumentException("threads: " + threads + " (expected: > 0)");
            }
            if (chunks <= 0) {
                throw new IllegalArgumentException("chunks: " + chunks + " (expected: > 0)");
            }
            if (responseDelay.isNegative()) {
                throw new IllegalArgumentException("responseDelay: " + responseDelay + " (expected: >= 0)");
            }
            if (chunkDelay.isNegative()) {
                throw new IllegalArgumentException("chunkDelay: " + chunkDelay + " (expected: >= 0)");
            }
        }

        /** Loopback, a free port, one thread, 20 chunks, no delays. */
        public static Options defaults() {
            return new Options("127.0.0.1", 0, 1, 20, Duration.ZERO, Duration.ZERO);
        }

        public Options withPort(int newPort) {
            return new Options(host, newPort, threads, chunks, responseDelay, chunkDelay);
        }
    }

    private final EventLoopGroup group;
    private final Channel serverChannel;
    private final MockResponses responses;
    private final LongAdder served;
    private final int port;

    private MockUpstream(EventLoopGroup group, Channel serverChannel, MockResponses responses, LongAdder served) {
        this.group = group;
        this.serverChannel = serverChannel;
        this.responses = responses;
        this.served = served;
        this.port = ((InetSocketAddress) serverChannel.localAddress()).getPort();
    }

    /** Binds and starts serving; the returned mock must be {@link #close() closed}. */
    public static MockUpstream start(Options options) throws InterruptedException {
        MockResponses responses = new MockResponses(options.chunks());
        LongAdder served = new LongAdder();
        long responseDelayNanos = options.responseDelay().toNanos();
        long chunkDelayNanos = options.chunkDelay().toNanos();
        EventLoopGroup group = Transport.newGroup(options.threads(), "mock-upstream");
        try {
            Channel channel = new ServerBootstrap()
                    .group(group)
                    .channel(Transport.serverChannel())
                    .option(ChannelOption.SO_BACKLOG, 1024)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(
                                    new HttpRequestDecoder(),
                                    ContinueResponder.INSTANCE,
                                    new HttpObjectAggregator(64 * 1024 * 1024),
                                    new MockUpstreamHandler(responses, responseDelayNanos, chunkDelayNanos, served));
                        }
                    })
                    .bind(options.host(), options.port()).sync().channel();
            return new MockUpstream(group, channel, responses, served);
        } catch (InterruptedException | RuntimeException e) {
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            responses.release();
            throw e;
        }
    }

    public int port() {
        return port;
    }

    /** The OpenAI-style base URL, e.g. {@code http://127.0.0.1:41234/v1}. */
    public String baseUrl() {
        return "http://127.0.0.1:" + port + "/v1";
    }

    /** Requests answered so far (any path). */
    public long requestsServed() {
        return served.sum();
    }

    /** Blocks until the server channel closes (the {@code mock} command runs until killed). */
    public void awaitClose() throws InterruptedException {
        serverChannel.closeFuture().sync();
    }

    @Override
    public void close() {
        serverChannel.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        responses.release();
    }

    /**
     * Answers {@code Expect: 100-continue} (curl sends it for bodies over 1 KB) with raw bytes: the
     * pipeline has no HTTP encoder, so the aggregator's own continue response could not be written.
     */
    @ChannelHandler.Sharable
    private static final class ContinueResponder extends ChannelInboundHandlerAdapter {
        static final ContinueResponder INSTANCE = new ContinueResponder();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof HttpRequest request && HttpUtil.is100ContinueExpected(request)) {
                request.headers().remove(HttpHeaderNames.EXPECT);
                ctx.writeAndFlush(MockResponses.CONTINUE.retainedDuplicate());
            }
            ctx.fireChannelRead(msg);
        }
    }
}
