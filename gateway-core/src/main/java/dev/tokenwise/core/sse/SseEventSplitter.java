package dev.tokenwise.core.sse;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.function.Consumer;

/**
 * Cuts a byte stream of server-sent events into whole events (each ending with its blank line),
 * so that each can be inspected and forwarded or dropped without ever parsing half an event.
 *
 * <p>Implementation note: bytes that do not yet end an event are kept in one cumulation buffer.
 * Whole events are handed out as retained slices of it; the cumulation is never compacted while
 * slices may be alive; when it is fully consumed it is released, and a partial tail is copied into
 * a fresh buffer. Upstreams send event-aligned chunks nearly always, so the common case copies once.
 * Line ends may be {@code \n} or {@code \r\n}. Used on one event loop only.
 */
public final class SseEventSplitter {
    private final ByteBufAllocator alloc;
    private ByteBuf cumulation;

    public SseEventSplitter(ByteBufAllocator alloc) {
        this.alloc = alloc;
    }

    /**
     * Adds {@code bytes} (borrowed, not released here) and hands each completed event to {@code sink},
     * which owns it.
     */
    public void feed(ByteBuf bytes, Consumer<ByteBuf> sink) {
        if (!bytes.isReadable()) {
            return;
        }
        if (cumulation == null) {
            cumulation = alloc.buffer(bytes.readableBytes());
        }
        cumulation.writeBytes(bytes, bytes.readerIndex(), bytes.readableBytes());
        int end;
        while ((end = eventEnd(cumulation)) >= 0) {
            sink.accept(cumulation.readRetainedSlice(end - cumulation.readerIndex()));
        }
        if (!cumulation.isReadable()) {
            cumulation.release();
            cumulation = null;
        } else if (cumulation.readerIndex() > 0) {
            ByteBuf tail = alloc.buffer(cumulation.readableBytes());
            tail.writeBytes(cumulation);
            cumulation.release();
            cumulation = tail;
        }
    }

    /** Whatever is left when the stream ends (an unterminated last event), or {@code null}. Ownership passes to the caller. */
    public ByteBuf drain() {
        ByteBuf rest = cumulation;
        cumulation = null;
        if (rest != null && !rest.isReadable()) {
            rest.release();
            return null;
        }
        return rest;
    }

    public void release() {
        if (cumulation != null) {
            cumulation.release();
            cumulation = null;
        }
    }

    /**
     * The index just past the blank line ending the first event, or -1. Jumps from line end to line end with
     * {@link ByteBuf#indexOf}, which scans a word at a time, rather than checking every byte.
     */
    private static int eventEnd(ByteBuf buf) {
        int to = buf.writerIndex();
        for (int i = buf.indexOf(buf.readerIndex(), to, (byte) '\n'); i >= 0; i = buf.indexOf(i + 1, to, (byte) '\n')) {
            // A line ended at i; the event ends if the next line is empty.
            if (i + 1 < to && buf.getByte(i + 1) == '\n') {
                return i + 2;
            }
            if (i + 2 < to && buf.getByte(i + 1) == '\r' && buf.getByte(i + 2) == '\n') {
                return i + 3;
            }
        }
        return -1;
    }
}
