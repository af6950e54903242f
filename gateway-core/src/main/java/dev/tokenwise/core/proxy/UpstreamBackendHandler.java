package dev.tokenwise.core.proxy;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import java.nio.channels.NotYetConnectedException;

/**
 * The upstream end of a proxied call: hands the response head and each piece of content to the
 * {@link ProxyCall} bound to this channel. While the channel sits idle in the pool nothing is bound;
 * anything that arrives then is discarded and the channel closed.
 *
 * <p>The call hears of the end of the connection once, from {@link #channelInactive}, with whether any byte of an
 * answer had arrived since it was bound (a request may be sent again only on a connection that delivered none). An
 * exception closes the channel and is passed on with that news, after the decoder has handed over what it held.
 */
final class UpstreamBackendHandler extends ChannelInboundHandlerAdapter {
    private ProxyCall call;
    private UpstreamResponseDecoder decoder;
    /** The decoder's {@link UpstreamResponseDecoder#bytesRead} when the call was bound. */
    private long bytesReadAtBind;
    /** What closed the channel, when an exception did. */
    private Throwable failure;

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        decoder = ctx.pipeline().get(UpstreamResponseDecoder.class);
    }

    void bind(ProxyCall call) {
        this.call = call;
        failure = null;
        bytesReadAtBind = decoder == null ? 0 : decoder.bytesRead();
    }

    /** Whether the connection delivered any byte since the call was bound. */
    private boolean answerBegan() {
        return decoder != null && decoder.bytesRead() > bytesReadAtBind;
    }

    void unbind() {
        this.call = null;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ProxyCall current = call;
        if (current == null) {
            ReferenceCountUtil.release(msg);
            ctx.close();
            return;
        }
        // The call takes ownership of msg (it forwards or releases it).
        if (msg instanceof HttpResponse head) {
            current.onResponseHead(head);
        }
        if (msg instanceof HttpContent content) {
            current.onResponseContent(content);
        } else if (!(msg instanceof HttpResponse)) {
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        ProxyCall current = call;
        if (current != null) {
            current.onUpstreamReadComplete();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        ProxyCall current = call;
        call = null;
        if (current != null) {
            current.onUpstreamClosed(failure, answerBegan());
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof NotYetConnectedException && !ctx.channel().isActive()) {
            // With epoll, a read event left over for a just-closed channel can reach a new channel that
            // reused its file descriptor before the new one connected. It is not this channel's failure:
            // its connect goes on.
            return;
        }
        // The bound call hears of it from channelInactive, after the decoder hands over an answer it held whole.
        failure = cause;
        ctx.close();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof IdleStateEvent && call == null) {
            ctx.close();
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }
}
