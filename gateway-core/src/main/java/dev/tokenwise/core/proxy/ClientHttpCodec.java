package dev.tokenwise.core.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.CombinedChannelDuplexHandler;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;
import java.util.List;

/**
 * The client connection's HTTP/1.1 codec: Netty's {@code HttpServerCodec}, with a fast path for the request
 * nearly every call sends.
 *
 * <p>A request whose head is {@linkplain PlainHead plain}, whose method is GET, POST, PUT, PATCH, DELETE or
 * OPTIONS, whose version is HTTP/1.1 and whose {@code Content-Length} body (at most {@code maxFastBody}
 * bytes) has arrived whole is decoded here straight into one {@code FullHttpRequest}, its body a slice of the
 * bytes read. That is the message the aggregator after this handler would have built from Netty's head and
 * content messages, and the aggregator lets a full request through untouched. (Without a
 * {@code Content-Length}, a request has no body, and gets {@code content-length: 0} as the aggregator would
 * set.)
 *
 * <p>Anything else (chunked bodies, {@code Expect: 100-continue}, HTTP/1.0, HEAD, a body above the limit, an
 * over-long or malformed head) goes to Netty's decoder, from the start of that request, and so gets exactly
 * the answers it got before: 400, 413, 431. The fast path takes over again after the first request that
 * Netty's decoder finished well, which leaves that decoder where it starts.
 *
 * <p>The rest is what {@code HttpServerCodec} does (a final class, so it cannot be extended): the methods of
 * pipelined requests are queued for the encoder, so that the response to a HEAD has no body, at most
 * {@value #MAX_PIPELINE_DEPTH} of them; and a request that had both {@code Transfer-Encoding} and
 * {@code Content-Length} closes the connection after its response.
 */
final class ClientHttpCodec extends CombinedChannelDuplexHandler<ClientHttpCodec.Decoder, ClientHttpCodec.Encoder> {
    /** The deepest queue of pipelined requests, as {@code HttpServerCodec}'s default. */
    static final int MAX_PIPELINE_DEPTH = 128;
    private static final int MAX_INITIAL_LINE = 8192;
    private static final byte[] GET = PlainHead.bytes("GET");
    private static final byte[] POST = PlainHead.bytes("POST");
    private static final byte[] PUT = PlainHead.bytes("PUT");
    private static final byte[] PATCH = PlainHead.bytes("PATCH");
    private static final byte[] DELETE = PlainHead.bytes("DELETE");
    private static final byte[] OPTIONS = PlainHead.bytes("OPTIONS");
    private static final byte[] HTTP_1_1 = PlainHead.bytes("HTTP/1.1");

    private final ArrayDeque<HttpMethod> methods = new ArrayDeque<>();
    private boolean mustCloseAfterResponse;

    /**
     * @param maxHeaderBytes Netty's limit on the header lines (431 above it)
     * @param maxFastBody the largest body the fast path takes; larger ones go through Netty's decoder and the
     *     aggregator, which enforces {@code server.max_request_bytes}
     */
    ClientHttpCodec(int maxHeaderBytes, int maxFastBody) {
        HttpDecoderConfig config = new HttpDecoderConfig()
                .setMaxInitialLineLength(MAX_INITIAL_LINE)
                .setMaxHeaderSize(maxHeaderBytes)
                .setMaxChunkSize(64 * 1024);
        init(new Decoder(config, maxHeaderBytes, maxFastBody), new Encoder());
    }

    /** Queues a request's method for its response; {@code false} when the pipeline is too deep. */
    private boolean enqueue(HttpMethod method) {
        if (methods.size() >= MAX_PIPELINE_DEPTH) {
            return false;
        }
        methods.add(method);
        return true;
    }

    final class Decoder extends HttpRequestDecoder implements PlainHead.Reader {
        private final int maxHeaderBytes;
        private final int maxFastBody;
        /** Whether the next request is tried on the fast path (Netty's decoder is between messages). */
        private boolean fast = true;
        private boolean discard;
        /** A request whose head was read on the fast path and whose body has not all arrived. */
        private HttpMethod waitingMethod;
        private String waitingUri;
        private HttpHeaders waitingHeaders;
        private int waitingHeadLength;
        private int waitingBodyLength;

        Decoder(HttpDecoderConfig config, int maxHeaderBytes, int maxFastBody) {
            super(config);
            this.maxHeaderBytes = maxHeaderBytes;
            this.maxFastBody = maxFastBody;
        }

        @Override
        protected void decode(ChannelHandlerContext ctx, ByteBuf buffer, List<Object> out) throws Exception {
            if (discard) {
                buffer.skipBytes(buffer.readableBytes());
                return;
            }
            int oldSize = out.size();
            if (fast && decodeFast(buffer, out)) {
                queueMethods(out, oldSize);
                return;
            }
            fast = false;
            super.decode(ctx, buffer, out);
            queueMethods(out, oldSize);
            fast = PlainHead.endedWell(out, oldSize);
        }

        /**
         * Decodes one request on the fast path, or waits for the rest of it; {@code false} (consuming nothing)
         * when Netty's decoder must take it.
         */
        private boolean decodeFast(ByteBuf buffer, List<Object> out) {
            if (waitingMethod == null) {
                int end = PlainHead.current().read(buffer, PlainHead.headLimit(MAX_INITIAL_LINE, maxHeaderBytes), this);
                if (end == PlainHead.DECLINE) {
                    return false;
                }
                if (end == PlainHead.NEED_MORE) {
                    return true;
                }
            }
            if (buffer.readableBytes() - waitingHeadLength < waitingBodyLength) {
                return true; // waiting for the body
            }
            buffer.skipBytes(waitingHeadLength);
            ByteBuf content = waitingBodyLength == 0 ? Unpooled.EMPTY_BUFFER
                    : buffer.readRetainedSlice(waitingBodyLength);
            out.add(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, waitingMethod, waitingUri, content,
                    waitingHeaders, EmptyHttpHeaders.INSTANCE));
            waitingMethod = null;
            waitingUri = null;
            waitingHeaders = null;
            return true;
        }

        /** Reads a request head into the waiting fields (only when the whole head is plain and accepted). */
        @Override
        public int read(PlainHead head) {
            int lineEnd = head.startLineEnd(MAX_INITIAL_LINE);
            if (lineEnd < 0) {
                return lineEnd;
            }
            byte[] b = head.bytes();
            int space = 0;
            while (space < lineEnd && b[space] != ' ') {
                space++;
            }
            HttpMethod method = method(head, space);
            if (method == null) {
                return PlainHead.DECLINE;
            }
            int uriStart = space + 1;
            int uriEnd = uriStart;
            while (uriEnd < lineEnd && b[uriEnd] > ' ' && b[uriEnd] < 0x7f) {
                uriEnd++;
            }
            if (uriEnd == uriStart || uriEnd >= lineEnd || b[uriEnd] != ' '
                    || !head.same(uriEnd + 1, lineEnd - uriEnd - 1, HTTP_1_1)) {
                return PlainHead.DECLINE;
            }
            int end = head.fields(lineEnd + 2, maxHeaderBytes);
            if (end < 0) {
                return end;
            }
            long length = head.contentLength;
            if (length > maxFastBody) {
                return PlainHead.DECLINE;
            }
            if (length < 0) {
                head.headers.set(HttpHeaderNames.CONTENT_LENGTH, "0"); // as the aggregator sets it
                length = 0;
            }
            waitingMethod = method;
            waitingUri = head.text(uriStart, uriEnd);
            waitingHeaders = head.headers;
            waitingHeadLength = end;
            waitingBodyLength = (int) length;
            return end;
        }

        private HttpMethod method(PlainHead head, int length) {
            return switch (length) {
                case 3 -> head.same(0, 3, GET) ? HttpMethod.GET : head.same(0, 3, PUT) ? HttpMethod.PUT : null;
                case 4 -> head.same(0, 4, POST) ? HttpMethod.POST : null;
                case 5 -> head.same(0, 5, PATCH) ? HttpMethod.PATCH : null;
                case 6 -> head.same(0, 6, DELETE) ? HttpMethod.DELETE : null;
                case 7 -> head.same(0, 7, OPTIONS) ? HttpMethod.OPTIONS : null;
                default -> null;
            };
        }

        private void queueMethods(List<Object> out, int from) {
            int size = out.size();
            for (int i = from; i < size; i++) {
                if (out.get(i) instanceof HttpRequest request && !enqueue(request.method())) {
                    // Too deep: discard the rest, and close once the first response is written.
                    mustCloseAfterResponse = true;
                    discard = true;
                    for (int k = i; k < size; k++) {
                        ReferenceCountUtil.release(out.get(k));
                    }
                    out.subList(i, size).clear();
                    throw new IllegalStateException("maxPipelineDepth exceeded: " + MAX_PIPELINE_DEPTH);
                }
            }
        }

        @Override
        protected void handleTransferEncodingChunkedWithContentLength(HttpMessage message) {
            super.handleTransferEncodingChunkedWithContentLength(message);
            mustCloseAfterResponse = true;
        }
    }

    final class Encoder extends HttpResponseEncoder {
        private HttpMethod method;

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
            if (mustCloseAfterResponse && msg instanceof LastHttpContent) {
                mustCloseAfterResponse = false;
                promise = promise.unvoid().addListener(ChannelFutureListener.CLOSE);
            }
            super.write(ctx, msg, promise);
        }

        @Override
        protected void sanitizeHeadersBeforeEncode(HttpResponse msg, boolean isAlwaysEmpty) {
            if (!isAlwaysEmpty && HttpMethod.CONNECT.equals(method)
                    && msg.status().codeClass() == HttpStatusClass.SUCCESS) {
                msg.headers().remove(HttpHeaderNames.TRANSFER_ENCODING); // RFC 9110, 9.3.6
                return;
            }
            super.sanitizeHeadersBeforeEncode(msg, isAlwaysEmpty);
        }

        @Override
        protected boolean isContentAlwaysEmpty(HttpResponse msg) {
            if (msg.status().codeClass() == HttpStatusClass.INFORMATIONAL) {
                return super.isContentAlwaysEmpty(msg); // not the answer to a request in the queue
            }
            method = methods.poll();
            return HttpMethod.HEAD.equals(method) || super.isContentAlwaysEmpty(msg);
        }
    }
}
