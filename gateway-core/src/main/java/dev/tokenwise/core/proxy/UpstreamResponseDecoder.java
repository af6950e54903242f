package dev.tokenwise.core.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseDecoder;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.util.List;

/**
 * The upstream connection's response decoder: Netty's {@link HttpResponseDecoder}, with a fast path for a
 * whole response of known length.
 *
 * <p>A response whose head is {@linkplain PlainHead plain}, whose version is HTTP/1.1, whose status is 200 to
 * 599 but not 204 or 304, and whose {@code Content-Length} body (at most the decoder's chunk size) has arrived
 * whole is decoded here into the two messages Netty's decoder would have produced for it: the
 * {@code HttpResponse}, then one {@code LastHttpContent} holding a slice of the bytes read. Everything else (a
 * streamed, chunked answer; a body read until close; a 1xx; a malformed head) goes to Netty's decoder from the
 * start of that response, and the fast path takes over again once Netty's decoder has finished a response
 * well.
 *
 * <p>When the connection ends while the fast path waits for the rest of a body, it hands on what arrived as
 * Netty's decoder would have: the head, then the part of the body (not as the last content), so the call sees an
 * answer cut short, not a connection that closed before answering. A head cut short is handed to Netty's decoder,
 * which reports it as an invalid message. {@link #bytesRead} counts every byte the connection delivered, so its
 * user can tell a connection that sent nothing from one that began an answer.
 */
final class UpstreamResponseDecoder extends HttpResponseDecoder implements PlainHead.Reader {
    private static final int MAX_INITIAL_LINE = 4096;
    private static final byte[] HTTP_1_1_SPACE = PlainHead.bytes("HTTP/1.1 ");

    private final int maxHeaderBytes;
    private final int maxChunk;
    private boolean fast = true;
    /** The status of the head last read on the fast path. */
    private HttpResponseStatus status;
    /** Bytes this connection delivered, in all. */
    private long bytesRead;

    UpstreamResponseDecoder(int maxHeaderBytes, int maxChunk) {
        super(new HttpDecoderConfig()
                .setMaxInitialLineLength(MAX_INITIAL_LINE)
                .setMaxHeaderSize(maxHeaderBytes)
                .setMaxChunkSize(maxChunk));
        this.maxHeaderBytes = maxHeaderBytes;
        this.maxChunk = maxChunk;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (msg instanceof ByteBuf bytes) {
            bytesRead += bytes.readableBytes();
        }
        super.channelRead(ctx, msg);
    }

    /** Bytes the connection delivered so far, heads and bodies of every response on it. */
    long bytesRead() {
        return bytesRead;
    }

    @Override
    protected void decodeLast(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
        if (fast && in.isReadable() && decodeCutShort(in, out)) {
            return;
        }
        fast = false; // what is left (a head cut short) is Netty's decoder's to report
        super.decodeLast(ctx, in, out);
    }

    /**
     * At the end of the connection: a whole head and part of its body, waiting on the fast path, become the head
     * and one content that is not the last; {@code false} (consuming nothing) for anything else.
     */
    private boolean decodeCutShort(ByteBuf buffer, List<Object> out) {
        PlainHead head = PlainHead.current();
        int end = head.read(buffer, PlainHead.headLimit(MAX_INITIAL_LINE, maxHeaderBytes), this);
        if (end < 0 || head.contentLength < 0 || head.contentLength > maxChunk) {
            return false;
        }
        out.add(new DefaultHttpResponse(HttpVersion.HTTP_1_1, status, head.headers));
        buffer.skipBytes(end);
        if (buffer.isReadable()) {
            out.add(new DefaultHttpContent(buffer.readRetainedSlice(buffer.readableBytes())));
        }
        status = null;
        return true;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf buffer, List<Object> out) throws Exception {
        if (fast && decodeFast(buffer, out)) {
            return;
        }
        fast = false;
        int oldSize = out.size();
        super.decode(ctx, buffer, out);
        for (int i = oldSize; i < out.size(); i++) {
            if (out.get(i) instanceof HttpResponse head && head.status().code() == 101) {
                return; // switching protocols: Netty's decoder passes the rest through, and so must stay
            }
        }
        fast = PlainHead.endedWell(out, oldSize);
    }

    /** Decodes one whole response, or waits for more; {@code false} (consuming nothing) to let Netty's decoder. */
    private boolean decodeFast(ByteBuf buffer, List<Object> out) {
        // Unlike a request's, the head is read again on each read while the body arrives: an answer of known
        // length mostly arrives in one read, and one that does not is at most maxChunk bytes.
        PlainHead head = PlainHead.current();
        int end = head.read(buffer, PlainHead.headLimit(MAX_INITIAL_LINE, maxHeaderBytes), this);
        if (end == PlainHead.NEED_MORE) {
            return true;
        }
        if (end == PlainHead.DECLINE || head.contentLength < 0 || head.contentLength > maxChunk) {
            return false;
        }
        int length = (int) head.contentLength;
        if (buffer.readableBytes() - end < length) {
            return true;
        }
        out.add(new DefaultHttpResponse(HttpVersion.HTTP_1_1, status, head.headers));
        buffer.skipBytes(end);
        out.add(new DefaultLastHttpContent(buffer.readRetainedSlice(length)));
        status = null;
        return true;
    }

    /** Reads a status line and the fields after it; sets {@link #status}. */
    @Override
    public int read(PlainHead head) {
        int lineEnd = head.startLineEnd(MAX_INITIAL_LINE);
        if (lineEnd < 0) {
            return lineEnd;
        }
        byte[] b = head.bytes();
        long code = lineEnd >= 12 && head.same(0, 9, HTTP_1_1_SPACE) ? head.digits(9, 12) : -1;
        if (code < 200 || code > 599 || code == 204 || code == 304 || (lineEnd > 12 && b[12] != ' ')) {
            return PlainHead.DECLINE;
        }
        HttpResponseStatus known = HttpResponseStatus.valueOf((int) code);
        int reasonStart = Math.min(13, lineEnd);
        status = head.same(reasonStart, lineEnd, known.reasonPhrase()) ? known
                : new HttpResponseStatus((int) code, head.text(reasonStart, lineEnd));
        return head.fields(lineEnd + 2, maxHeaderBytes);
    }
}
