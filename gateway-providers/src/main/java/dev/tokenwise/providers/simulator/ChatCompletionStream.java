package dev.tokenwise.providers.simulator;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Streams one {@link SimulatedCompletion} as OpenAI's server-sent {@code chat.completion.chunk} events: a
 * role delta, the content deltas, an empty delta with the finish reason, the usage chunk when the client
 * asked for it, then {@code data: [DONE]}.
 *
 * <p>Each step runs as a task on the channel's event loop, scheduled {@code firstTokenDelay} after the role
 * delta and {@code chunkDelay} apart afterwards; nothing sleeps. When a step finds the channel unwritable
 * the stream pauses until {@link #writabilityChanged()}; when it finds the channel closed (a failed write
 * closes it) the stream ends and schedules nothing more. All fields are confined to the event loop.
 */
final class ChatCompletionStream implements Runnable {

    private final ChannelHandlerContext ctx;
    private final String id;
    private final long created;
    private final String model;
    private final SimulatedCompletion completion;
    private final boolean includeUsage;
    private final SimulatorSettings settings;
    private final StreamStats stats;
    private final Runnable onComplete;

    private int nextPiece;
    private ScheduledFuture<?> pending;
    private boolean paused;
    private boolean finishing;
    private boolean ended;

    /**
     * @param onComplete runs on the event loop once {@code [DONE]} has been written; not when the stream is
     *     cut short
     */
    ChatCompletionStream(ChannelHandlerContext ctx, String id, long created, String model,
                         SimulatedCompletion completion, boolean includeUsage, SimulatorSettings settings,
                         StreamStats stats, Runnable onComplete) {
        this.ctx = ctx;
        this.id = id;
        this.created = created;
        this.model = model;
        this.completion = completion;
        this.includeUsage = includeUsage;
        this.settings = settings;
        this.stats = stats;
        this.onComplete = onComplete;
    }

    /** Writes the response head and the role delta, and schedules the content. */
    void start(HttpResponse head) {
        stats.active.incrementAndGet();
        ctx.write(head).addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
        writeEvent(SimulatorJson.roleDelta(), null);
        schedule(settings.firstTokenDelay());
    }

    @Override
    public void run() {
        pending = null;
        if (ended || finishing) {
            return;
        }
        if (!ctx.channel().isActive()) {
            abort();
            return;
        }
        if (!ctx.channel().isWritable()) {
            // The client reads slower than we write: wait for the outbound buffer to drain.
            paused = true;
            stats.backpressurePauses.increment();
            return;
        }
        List<String> pieces = completion.pieces();
        if (nextPiece < pieces.size()) {
            int end = Math.min(pieces.size(), nextPiece + settings.wordsPerChunk());
            StringBuilder content = new StringBuilder();
            for (int i = nextPiece; i < end; i++) {
                content.append(pieces.get(i));
            }
            nextPiece = end;
            writeEvent(SimulatorJson.contentDelta(content.toString()), null);
            schedule(settings.chunkDelay());
        } else {
            finish();
        }
    }

    /** Resumes a paused stream once the channel drained. */
    void writabilityChanged() {
        if (paused && !ended && ctx.channel().isWritable()) {
            paused = false;
            run();
        }
    }

    /** Stops the stream without completing it, e.g. because the client went away. */
    void abort() {
        if (pending != null) {
            pending.cancel(false);
            pending = null;
        }
        end();
    }

    private void finish() {
        finishing = true;
        writeEvent(SimulatorJson.emptyDelta(), completion.finishReason());
        if (includeUsage) {
            ObjectNode usageChunk = SimulatorJson.chunk(id, created, model, null, null, true,
                    SimulatorJson.chatUsage(completion));
            ctx.write(new DefaultHttpContent(SimulatorJson.event(ctx.alloc(), usageChunk)))
                    .addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
        }
        ByteBuf done = SimulatorJson.done(ctx.alloc().buffer(16));
        ctx.writeAndFlush(new DefaultLastHttpContent(done)).addListener((ChannelFutureListener) f -> {
            if (!f.isSuccess()) {
                f.channel().close();
            } else if (end()) {
                onComplete.run();
            }
        });
    }

    private void writeEvent(ObjectNode delta, String finishReason) {
        ObjectNode chunk = SimulatorJson.chunk(id, created, model, delta, finishReason, includeUsage, null);
        ctx.writeAndFlush(new DefaultHttpContent(SimulatorJson.event(ctx.alloc(), chunk)))
                .addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
    }

    private void schedule(Duration delay) {
        pending = ctx.executor().schedule(this, delay.toNanos(), TimeUnit.NANOSECONDS);
    }

    /** @return {@code true} the first time, when this call ended the stream */
    private boolean end() {
        if (ended) {
            return false;
        }
        ended = true;
        stats.active.decrementAndGet();
        return true;
    }
}
