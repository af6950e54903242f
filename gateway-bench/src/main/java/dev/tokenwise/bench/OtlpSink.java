package dev.tokenwise.bench;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * A receiver of OTLP/HTTP exports for {@code compare --otel sink}: on one event loop thread of its own, it reads every
 * {@code POST} (counting its bytes as they come, never gathering them) and answers {@code 200} with an empty body (an empty {@code ExportTraceServiceResponse}: all
 * accepted), as a collector that keeps up does. It counts the exports and their bytes, so that a run says how many
 * bytes each call's span cost on the wire; it does not decode them (the gateway's tests do).
 */
final class OtlpSink implements AutoCloseable {
    private final EventLoopGroup group;
    private final Channel channel;
    private final LongAdder exports;
    private final LongAdder bytes;

    private OtlpSink(EventLoopGroup group, Channel channel, LongAdder exports, LongAdder bytes) {
        this.group = group;
        this.channel = channel;
        this.exports = exports;
        this.bytes = bytes;
    }

    /** Binds a free loopback port and starts receiving; the sink must be {@link #close() closed}. */
    static OtlpSink start() throws InterruptedException {
        LongAdder exports = new LongAdder();
        LongAdder bytes = new LongAdder();
        EventLoopGroup group = Transport.newGroup(1, "otlp-sink");
        try {
            Channel channel = new ServerBootstrap()
                    .group(group)
                    .channel(Transport.serverChannel())
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(new HttpServerCodec(), new Receiver(exports, bytes));
                        }
                    })
                    .bind("127.0.0.1", 0).sync().channel();
            return new OtlpSink(group, channel, exports, bytes);
        } catch (InterruptedException | RuntimeException e) {
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            throw e;
        }
    }

    /** The endpoint to give {@code telemetry.otlp_endpoint}, e.g. {@code http://127.0.0.1:41234}. */
    String endpoint() {
        return "http://127.0.0.1:" + ((InetSocketAddress) channel.localAddress()).getPort();
    }

    /** Export requests received so far. */
    long exports() {
        return exports.sum();
    }

    /** Bytes of export bodies received so far. */
    long bytes() {
        return bytes.sum();
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /**
     * Counts each export's bytes as they arrive and answers once its last part did, without gathering the body: a
     * collector on another machine costs this one nothing, so the sink should cost as little as it can.
     */
    private static final class Receiver extends SimpleChannelInboundHandler<HttpObject> {
        private final LongAdder exports;
        private final LongAdder bytes;
        private boolean post;
        private boolean keepAlive;

        Receiver(LongAdder exports, LongAdder bytes) {
            this.exports = exports;
            this.bytes = bytes;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, HttpObject message) {
            if (message instanceof HttpRequest request) {
                post = request.method().equals(HttpMethod.POST);
                keepAlive = HttpUtil.isKeepAlive(request);
            }
            if (message instanceof HttpContent content && post) {
                bytes.add(content.content().readableBytes());
            }
            if (!(message instanceof LastHttpContent)) {
                return;
            }
            if (post) {
                exports.increment();
            }
            FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                    post ? HttpResponseStatus.OK : HttpResponseStatus.METHOD_NOT_ALLOWED, Unpooled.EMPTY_BUFFER);
            response.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/x-protobuf");
            HttpUtil.setContentLength(response, 0);
            HttpUtil.setKeepAlive(response, keepAlive);
            var written = ctx.writeAndFlush(response);
            if (!keepAlive) {
                written.addListener(ChannelFutureListener.CLOSE);
            }
        }
    }
}
