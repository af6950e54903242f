package dev.tokenwise.core.proxy;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.FullHttpRequest;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * {@code server.request_read_timeout_ms} on a client connection, in two senses. A request must arrive whole
 * within it, counted from the read that brought its first byte: a client that trickles a request a byte at
 * a time (slowloris) is not saved by never falling silent, as it would be with Netty's
 * {@code IdleStateHandler}, which only measures the silence between reads. And a connection with nothing to
 * read for that long is idle.
 *
 * <p>This handler sits first in the pipeline, where it sees every read; {@link #requestEnd()} sits after the
 * aggregator and marks each whole request. Each event ({@link Event}) travels down the pipeline to the
 * frontend, which decides: a 408 for the incomplete request, a close for an idle connection unless a response
 * is still being written. One timer per connection, rescheduled to the next deadline: a request costs two
 * clock reads and no timer of its own. (Bytes of a pipelined request that came in the same read as the end of
 * the request before it start their clock at the next read.)
 */
final class ClientReadTimeout extends ChannelInboundHandlerAdapter implements Runnable {
    /** What the timeout found. */
    enum Event {
        /** A request began more than the timeout ago and has not arrived whole. */
        REQUEST_INCOMPLETE,
        /** Nothing was read for the timeout (a response may still be in progress). */
        IDLE
    }

    private final long timeoutNanos;
    private ChannelHandlerContext ctx;
    private ScheduledFuture<?> timer;
    private boolean inRequest;
    private long requestStartNanos;
    private long lastReadNanos;

    ClientReadTimeout(Duration timeout) {
        this.timeoutNanos = timeout.toNanos();
    }

    /** The handler that marks a whole request; add it after the aggregator. */
    ChannelInboundHandlerAdapter requestEnd() {
        return new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (msg instanceof FullHttpRequest) {
                    inRequest = false;
                }
                ctx.fireChannelRead(msg);
            }
        };
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        if (ctx.channel().isActive()) {
            start();
        }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        start();
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!inRequest) {
            inRequest = true;
            requestStartNanos = System.nanoTime();
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        lastReadNanos = System.nanoTime();
        ctx.fireChannelReadComplete();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        stop();
        ctx.fireChannelInactive();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        stop();
    }

    private void start() {
        if (timer == null) {
            lastReadNanos = System.nanoTime();
            timer = ctx.executor().schedule(this, timeoutNanos, TimeUnit.NANOSECONDS);
        }
    }

    private void stop() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    /** The timer: fires what is due, then waits for the next deadline. */
    @Override
    public void run() {
        if (timer == null || !ctx.channel().isOpen()) {
            return;
        }
        long now = System.nanoTime();
        // A request's first read is never later than the last read, so while one is incomplete its deadline
        // comes first.
        long deadline = (inRequest ? requestStartNanos : lastReadNanos) + timeoutNanos;
        long wait = deadline - now;
        if (wait <= 0) {
            Event event = inRequest ? Event.REQUEST_INCOMPLETE : Event.IDLE;
            inRequest = false;
            lastReadNanos = now;
            wait = timeoutNanos;
            ctx.fireUserEventTriggered(event);
        }
        if (timer != null && ctx.channel().isOpen()) {
            timer = ctx.executor().schedule(this, wait, TimeUnit.NANOSECONDS);
        }
    }
}
