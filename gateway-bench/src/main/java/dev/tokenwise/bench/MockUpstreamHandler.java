package dev.tokenwise.bench;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * Answers one connection of the {@link MockUpstream} with precomputed {@link MockResponses}.
 *
 * <p>Responses leave in request order: a request that arrives while the previous answer is still being
 * written (a delay is pending) waits in a small queue. Delays are scheduled on the channel's event loop,
 * never slept. Whether a request asks for streaming is found by scanning the body for the
 * {@code "stream"} key rather than parsing it, which keeps 15 KB bodies cheap.
 */
final class MockUpstreamHandler extends ChannelInboundHandlerAdapter {
    private static final byte[] STREAM_KEY = "\"stream\"".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] INCLUDE_USAGE_KEY = "\"include_usage\"".getBytes(StandardCharsets.US_ASCII);

    private enum Kind { COMPLETION, STREAM, STREAM_WITH_USAGE, HEALTHY, NOT_FOUND }

    private record Reply(Kind kind, boolean keepAlive) {
    }

    private final MockResponses responses;
    private final long responseDelayNanos;
    private final long chunkDelayNanos;
    private final LongAdder served;
    private final ArrayDeque<Reply> queued = new ArrayDeque<>(2);
    private boolean replying;

    MockUpstreamHandler(MockResponses responses, long responseDelayNanos, long chunkDelayNanos, LongAdder served) {
        this.responses = responses;
        this.responseDelayNanos = responseDelayNanos;
        this.chunkDelayNanos = chunkDelayNanos;
        this.served = served;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof FullHttpRequest request)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        try {
            if (request.decoderResult().isFailure()) {
                ctx.close();
                return;
            }
            Reply reply = new Reply(classify(request), HttpUtil.isKeepAlive(request));
            if (replying) {
                queued.add(reply);
            } else {
                start(ctx, reply);
            }
        } finally {
            request.release();
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // Resets from clients that stop mid-run are expected; the mock has nobody to tell.
        ctx.close();
    }

    private static Kind classify(FullHttpRequest request) {
        String uri = request.uri();
        int query = uri.indexOf('?');
        String path = query < 0 ? uri : uri.substring(0, query);
        if (HttpMethod.POST.equals(request.method()) && path.endsWith("/chat/completions")) {
            if (!isTrue(request.content(), STREAM_KEY)) {
                return Kind.COMPLETION;
            }
            return isTrue(request.content(), INCLUDE_USAGE_KEY) ? Kind.STREAM_WITH_USAGE : Kind.STREAM;
        }
        if (HttpMethod.GET.equals(request.method()) && (path.equals("/healthz") || path.equals("/"))) {
            return Kind.HEALTHY;
        }
        return Kind.NOT_FOUND;
    }

    /**
     * Whether {@code json} holds {@code "key": true} outside a string. A key inside string content is
     * preceded by a backslash-escaped quote, so a match preceded by a backslash is skipped.
     */
    static boolean isTrue(ByteBuf json, byte[] quotedKey) {
        int from = json.readerIndex();
        int end = json.writerIndex();
        while (true) {
            int at = indexOf(json, quotedKey, from, end);
            if (at < 0) {
                return false;
            }
            from = at + quotedKey.length;
            if (at > json.readerIndex() && json.getByte(at - 1) == '\\') {
                continue;
            }
            int i = skipSpaces(json, from, end);
            if (i >= end || json.getByte(i) != ':') {
                continue;
            }
            i = skipSpaces(json, i + 1, end);
            return i + 4 <= end && json.getByte(i) == 't' && json.getByte(i + 1) == 'r'
                    && json.getByte(i + 2) == 'u' && json.getByte(i + 3) == 'e';
        }
    }

    /** The index of the first {@code needle} in {@code haystack[from, end)}, -1 if none. */
    static int indexOf(ByteBuf haystack, byte[] needle, int from, int end) {
        int last = end - needle.length;
        for (int i = haystack.indexOf(from, end, needle[0]); i >= 0 && i <= last;
                i = haystack.indexOf(i + 1, end, needle[0])) {
            int j = 1;
            while (j < needle.length && haystack.getByte(i + j) == needle[j]) {
                j++;
            }
            if (j == needle.length) {
                return i;
            }
        }
        return -1;
    }

    private static int skipSpaces(ByteBuf buf, int from, int end) {
        int i = from;
        while (i < end) {
            byte b = buf.getByte(i);
            if (b != ' ' && b != '\t' && b != '\r' && b != '\n') {
                break;
            }
            i++;
        }
        return i;
    }

    private void start(ChannelHandlerContext ctx, Reply reply) {
        replying = true;
        served.increment();
        if (responseDelayNanos > 0) {
            ctx.executor().schedule(() -> send(ctx, reply), responseDelayNanos, TimeUnit.NANOSECONDS);
        } else {
            send(ctx, reply);
        }
    }

    private void send(ChannelHandlerContext ctx, Reply reply) {
        if (!ctx.channel().isActive()) {
            return;
        }
        switch (reply.kind()) {
            case COMPLETION -> finish(ctx, responses.completion.retainedDuplicate(), reply);
            case HEALTHY -> finish(ctx, responses.healthy.retainedDuplicate(), reply);
            case NOT_FOUND -> finish(ctx, responses.notFound.retainedDuplicate(), reply);
            case STREAM, STREAM_WITH_USAGE -> {
                boolean usage = reply.kind() == Kind.STREAM_WITH_USAGE;
                if (chunkDelayNanos == 0) {
                    finish(ctx, (usage ? responses.wholeStreamWithUsage : responses.wholeStream).retainedDuplicate(), reply);
                } else {
                    ctx.write(responses.streamHead.retainedDuplicate());
                    sendEvent(ctx, usage ? responses.streamEventsWithUsage : responses.streamEvents, 0, reply);
                }
            }
            default -> throw new IllegalStateException("unknown reply: " + reply.kind());
        }
    }

    /** A paced event, stamped with the time it leaves (see {@link MockResponses#stamped}). */
    private void sendEvent(ChannelHandlerContext ctx, MockResponses.Events events, int index, Reply reply) {
        if (!ctx.channel().isActive()) {
            return;
        }
        ctx.writeAndFlush(events.sendable(index, ctx.alloc()));
        if (index + 1 < events.size()) {
            ctx.executor().schedule(() -> sendEvent(ctx, events, index + 1, reply), chunkDelayNanos, TimeUnit.NANOSECONDS);
        } else {
            finish(ctx, responses.lastChunk.retainedDuplicate(), reply);
        }
    }

    private void finish(ChannelHandlerContext ctx, ByteBuf last, Reply reply) {
        if (!reply.keepAlive()) {
            queued.clear();
            ctx.writeAndFlush(last).addListener(ChannelFutureListener.CLOSE);
            return;
        }
        ctx.writeAndFlush(last);
        replying = false;
        Reply next = queued.poll();
        if (next != null) {
            start(ctx, next);
        }
    }
}
