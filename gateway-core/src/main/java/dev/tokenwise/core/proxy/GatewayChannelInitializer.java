package dev.tokenwise.core.proxy;

import dev.tokenwise.core.error.ErrorResponses;
import dev.tokenwise.core.error.ErrorType;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.TooLongHttpContentException;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.DecoderResult;
import io.netty.buffer.Unpooled;

/**
 * The client pipeline: read timeout (a deadline per request and for idle connections), HTTP codec, bounded
 * aggregation (JSON 413 above the limit), the end-of-request mark of the read timeout, the frontend.
 */
final class GatewayChannelInitializer extends ChannelInitializer<SocketChannel> {
    /** The largest body the codec's fast path takes whole; a larger one is aggregated from Netty's pieces. */
    static final int MAX_FAST_BODY = 1 << 20;
    private final ProxyContext proxy;

    GatewayChannelInitializer(ProxyContext proxy) {
        this.proxy = proxy;
    }

    @Override
    protected void initChannel(SocketChannel ch) {
        var server = proxy.config().server();
        ChannelPipeline p = ch.pipeline();
        ClientReadTimeout readTimeout = new ClientReadTimeout(server.requestReadTimeout());
        p.addLast("read-timeout", readTimeout);
        p.addLast("codec", new ClientHttpCodec(server.maxHeaderBytes(),
                (int) Math.min(server.maxRequestBytes(), MAX_FAST_BODY)));
        p.addLast("aggregator", new JsonErrorAggregator((int) server.maxRequestBytes()));
        p.addLast("request-end", readTimeout.requestEnd());
        p.addLast("frontend", new ClientFrontendHandler(proxy));
    }

    /** {@link HttpObjectAggregator} whose 413 (decided from Content-Length, before the body is read) is a JSON error. */
    private static final class JsonErrorAggregator extends HttpObjectAggregator {
        private final int maxContentLength;

        JsonErrorAggregator(int maxContentLength) {
            super(maxContentLength, true);
            this.maxContentLength = maxContentLength;
        }

        @Override
        protected Object newContinueResponse(HttpMessage start, int maxContentLength, ChannelPipeline pipeline) {
            Object answer = super.newContinueResponse(start, maxContentLength, pipeline);
            if (answer instanceof FullHttpResponse plain && plain.status().code() == 413) {
                // Expect: 100-continue with a Content-Length above the limit: refuse with the JSON error.
                plain.release();
                FullHttpResponse response = ErrorResponses.response(pipeline.channel().alloc(),
                        ErrorType.REQUEST_TOO_LARGE, tooLarge());
                response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
                return response;
            }
            return answer;
        }

        private String tooLarge() {
            return "request body exceeds " + maxContentLength + " bytes (server.max_request_bytes)";
        }

        @Override
        protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
            // Not answered here: the frontend answers requests in order, so a pipelined oversized request
            // must wait for the responses before it. It gets a marker request that fails decoding; the
            // aggregator releases the oversized message itself and discards its body.
            if (oversized instanceof HttpRequest request) {
                FullHttpRequest marker = new DefaultFullHttpRequest(request.protocolVersion(), request.method(),
                        request.uri(), Unpooled.EMPTY_BUFFER);
                marker.setDecoderResult(DecoderResult.failure(new TooLongHttpContentException(tooLarge())));
                ctx.fireChannelRead(marker);
            } else {
                ctx.close();
            }
        }
    }
}
