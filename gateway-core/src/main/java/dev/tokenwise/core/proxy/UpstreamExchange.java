package dev.tokenwise.core.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One attempt of a {@link ProxyCall} on one upstream connection: acquires the connection from the {@link UpstreamPool},
 * binds it to the call, writes the request, keeps the attempt's time limits, and ends its hold on the connection once
 * ({@link #release}: back to the pool when it may carry another request, else closed). A retry, a fallback or a
 * reconnect after a stale keep-alive connection is a new exchange; the call decides whether there is one.
 *
 * <p>Threading: lives on the client channel's event loop, like its call; the pool hands out connections of that loop,
 * so every method and callback runs there. Buffer ownership: the call keeps the request; the exchange writes a
 * retained duplicate of it.
 */
final class UpstreamExchange {
    private static final Logger log = LoggerFactory.getLogger(UpstreamExchange.class);
    /** How long after a first sight of an upstream silence it is checked again, with a pass of I/O between. */
    private static final long SILENCE_CONFIRM_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

    private final ProxyCall call;
    private final ProxyContext proxy;
    private final ChannelHandlerContext client;
    private final Deployment deployment;
    private final String requestId;
    /** The connection, from its acquisition until {@link #release}. */
    private Channel channel;
    private boolean reused;
    private boolean released;
    /** Whether the provider keeps the connection alive after the answer (from the answer's head). */
    private boolean keepAlive;
    private long startNanos;
    private long lastActivityNanos;
    /** The {@code lastActivityNanos} at which the limit was last seen passed; new activity outdates it. */
    private long silenceSeenSince;
    /** Reading is paused for a slow client: the upstream's silence is ours, not its, and does not count. */
    private boolean paused;
    private ScheduledFuture<?> timeoutCheck;

    UpstreamExchange(ProxyCall call, ProxyContext proxy, ChannelHandlerContext client, Deployment deployment,
                     String requestId) {
        this.call = call;
        this.proxy = proxy;
        this.client = client;
        this.deployment = deployment;
        this.requestId = requestId;
    }

    /**
     * Acquires a connection ({@code fresh}: a new one, never an idle one of the pool) and writes {@code request} on it;
     * the call hears of a failure to connect from {@link ProxyCall#onAcquireFailed}.
     */
    void open(ByteBuf request, boolean fresh) {
        Future<Channel> acquired = proxy.pool().acquire(deployment.origin(), client.channel().eventLoop(),
                (int) deployment.provider().connectTimeout().toMillis(), fresh);
        if (acquired.isDone()) {
            onAcquired(acquired, request);
        } else {
            acquired.addListener(f -> onAcquired(acquired, request));
        }
    }

    private void onAcquired(Future<Channel> acquired, ByteBuf request) {
        if (released || call.ended()) {
            // The call ended (the client left) while we were connecting.
            if (acquired.isSuccess()) {
                acquired.getNow().close();
            }
            return;
        }
        if (!acquired.isSuccess()) {
            released = true;
            call.onAcquireFailed(acquired.cause());
            return;
        }
        channel = acquired.getNow();
        reused = Boolean.TRUE.equals(channel.attr(UpstreamPool.REUSED).get());
        channel.pipeline().get(UpstreamBackendHandler.class).bind(call);
        startNanos = System.nanoTime();
        lastActivityNanos = startNanos;
        call.onConnected(startNanos);
        Limits limits = limits();
        schedule(limits.totalNanos > 0 ? Math.min(limits.firstByteNanos, limits.totalNanos) : limits.firstByteNanos);
        channel.writeAndFlush(request.retainedDuplicate()).addListener(f -> {
            if (f.isSuccess()) {
                call.onRequestWritten();
            }
            // A failed write closes the channel; the call hears of it from onUpstreamClosed and decides about a retry.
        });
    }

    /** Whether the connection came from the pool (an idle keep-alive connection the server may have closed). */
    boolean reused() {
        return reused;
    }

    /** Something arrived from the provider: its silence starts again. Returns the time of it. */
    long touch() {
        lastActivityNanos = System.nanoTime();
        return lastActivityNanos;
    }

    /** The answer's head arrived: whether the provider keeps the connection alive decides {@link #releaseAfterAnswer}. */
    void answerHead(boolean providerKeepsAlive) {
        keepAlive = providerKeepsAlive;
    }

    /** The answer's framing broke: the connection is out of step and never goes back to the pool. */
    void outOfStep() {
        keepAlive = false;
    }

    /** Stops reading the provider until {@link #resumeReading}: the client is slower than the provider. */
    void pauseReading() {
        if (channel != null) {
            paused = true;
            channel.config().setAutoRead(false);
        }
    }

    /** Reads the provider again after {@link #pauseReading}; its read timeout starts again now. */
    void resumeReading() {
        if (channel != null && paused) {
            paused = false;
            lastActivityNanos = System.nanoTime();
            channel.config().setAutoRead(true);
        }
    }

    /** The answer was read to its end: the connection goes back to the pool if the provider keeps it alive. */
    void releaseAfterAnswer() {
        release(keepAlive);
    }

    /** Ends the attempt without reusing its connection (failure, timeout, client gone, or the connection closed). */
    void close() {
        release(false);
    }

    /**
     * The one end of the attempt's hold on its connection: its time limits stop, the connection is unbound from the call,
     * then back to the pool when it may carry another request ({@code reusable}), else closed. Idempotent.
     */
    private void release(boolean reusable) {
        released = true;
        if (timeoutCheck != null) {
            timeoutCheck.cancel(false);
            timeoutCheck = null;
        }
        Channel up = channel;
        channel = null;
        if (up != null) {
            up.pipeline().get(UpstreamBackendHandler.class).unbind();
            if (reusable) {
                proxy.pool().release(up, deployment.provider().maxIdlePerLoop());
            } else {
                up.close();
            }
        }
    }

    private void schedule(long delayNanos) {
        timeoutCheck = client.executor().schedule(this::checkTimeout, delayNanos, TimeUnit.NANOSECONDS);
    }

    /**
     * The upstream's time limits, checked by one rescheduled task per attempt: before the first byte the first-byte
     * timeout (default: the read timeout), after it the read timeout between pieces, and over everything the total
     * timeout when one is set. While reading is paused for a slow client, the upstream's silence does not count.
     */
    private void checkTimeout() {
        if (released || call.ended()) {
            return;
        }
        Limits limits = limits();
        long now = System.nanoTime();
        long silentNanos = now - lastActivityNanos;
        long silenceLimit = call.awaitingFirstByte() ? limits.firstByteNanos : limits.readNanos;
        boolean totalExceeded = limits.totalNanos > 0 && now - startNanos >= limits.totalNanos;
        if (!totalExceeded && (paused || silentNanos < silenceLimit)) {
            long next = paused ? silenceLimit : silenceLimit - silentNanos;
            if (limits.totalNanos > 0) {
                next = Math.min(next, limits.totalNanos - (now - startNanos));
            }
            schedule(Math.max(1, next));
            return;
        }
        if (!totalExceeded && silenceSeenSince != lastActivityNanos) {
            // This check runs among the loop's tasks, after its I/O. If the loop itself was held up (a GC
            // pause, a starved CPU), what the provider sent meanwhile is still unread in the socket. So a
            // silence counts only once it has outlasted one more pass of I/O.
            silenceSeenSince = lastActivityNanos;
            schedule(SILENCE_CONFIRM_NANOS);
            return;
        }
        String why = totalExceeded ? "took longer than its total limit of " + TimeUnit.NANOSECONDS.toMillis(limits.totalNanos) + " ms"
                : "sent nothing for " + TimeUnit.NANOSECONDS.toMillis(silentNanos) + " ms";
        log.warn("Upstream {} {} on {}; giving up", deployment.provider().name(), why, requestId);
        close();
        call.onUpstreamTimeout(why);
    }

    /** The deployment's time limits in nanoseconds. */
    private Limits limits() {
        var provider = deployment.provider();
        long read = provider.readTimeout().toNanos();
        var firstByte = provider.resilience().firstByteTimeout();
        return new Limits(read, firstByte == null ? read : firstByte.toNanos(), provider.resilience().totalTimeout().toNanos());
    }

    private record Limits(long readNanos, long firstByteNanos, long totalNanos) {
    }
}
