package dev.tokenwise.core.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandler;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

class ClientHttpCodecTest {
    private static final int MAX_HEADER_BYTES = 1024;
    private static final int MAX_BODY = 4096;
    private static final String BODY = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    private static final String PLAIN = "POST /v1/chat/completions HTTP/1.1\r\n"
            + "Host: gateway\r\n"
            + "Authorization: Bearer tw-key\r\n"
            + "Content-Type: application/json\r\n"
            + "X-Custom-Thing:  spaced value\t \r\n"
            + "content-length: " + BODY.length() + "\r\n"
            + "\r\n" + BODY;

    /** Requests of every shape the fast path must take, or must leave to Netty's decoder. */
    private static final List<String> REQUESTS = List.of(
            PLAIN,
            "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET /v1/models?x=1&y=%20 HTTP/1.1\r\n\r\n",
            "DELETE /v1/x HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
            "PUT /p HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
            "PATCH /p HTTP/1.1\r\nContent-Length: 2\r\nA: \r\n\r\nab",
            "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
            "HEAD /healthz HTTP/1.1\r\nHost: a\r\n\r\n",
            "POST /v1/chat/completions HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}",
            "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
            "POST /c HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n{}",
            "POST /c HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
            "POST /c HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
            "POST /c HTTP/1.1\r\nContent-Length: +2\r\n\r\n{}",
            "POST /c HTTP/1.1\r\nContent-Length: " + (MAX_BODY + 1) + "\r\n\r\n{}",
            "POST /c HTTP/1.1\r\nFolded: one\r\n two\r\nContent-Length: 2\r\n\r\n{}",
            "POST /c HTTP/1.1\nContent-Length: 2\n\n{}",
            "POST /c HTTP/1.1\r\nBad Name: x\r\nContent-Length: 2\r\n\r\n{}",
            "POST /c HTTP/1.1\r\nLatin: caf\u00e9\r\nContent-Length: 2\r\n\r\n{}",
            "POST /c HTTP/1.1\r\nNul: a\u0000b\r\nContent-Length: 2\r\n\r\n{}",
            "POST /c HTTP/1.1\r\nDel: a long value then a\u007fb\r\nContent-Length: 2\r\n\r\n{}",
            "POST /c HTTP/1.1\r\nTabs: a\tlong\tvalue\twith tabs inside it\t\r\nContent-Length: 2\r\n\r\n{}",
            "POST /c HTTP/1.1\r\nBare-CR: a long value with a\rcarriage return\r\nContent-Length: 2\r\n\r\n{}",
            "POST /a b HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}",
            "post /c HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}",
            "BREW /pot HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}",
            "\r\nGET /after-a-blank-line HTTP/1.1\r\n\r\n",
            "GET /big HTTP/1.1\r\nBig: " + "x".repeat(MAX_HEADER_BYTES) + "\r\n\r\n",
            "GET /near HTTP/1.1\r\nNear: " + "x".repeat(MAX_HEADER_BYTES - 40) + "\r\n\r\n",
            "GET /" + "u".repeat(9000) + " HTTP/1.1\r\n\r\n",
            "GARBAGE\r\n\r\n");

    @Test
    void aPlainPostArrivesAsOneFullRequestWithItsHeadersAsSent() {
        EmbeddedChannel channel = new EmbeddedChannel(new ClientHttpCodec(MAX_HEADER_BYTES, MAX_BODY));
        channel.writeInbound(bytes(PLAIN));
        FullHttpRequest request = assertInstanceOf(FullHttpRequest.class, channel.readInbound());
        try {
            assertTrue(request.decoderResult().isSuccess());
            assertEquals("POST", request.method().name());
            assertEquals("/v1/chat/completions", request.uri());
            assertEquals(HttpVersion.HTTP_1_1, request.protocolVersion());
            assertEquals("spaced value", request.headers().get("x-custom-thing"));
            assertEquals("Bearer tw-key", request.headers().get(HttpHeaderNames.AUTHORIZATION));
            List<String> names = new ArrayList<>(request.headers().names());
            assertTrue(names.contains("X-Custom-Thing"), "names keep their case: " + names);
            assertEquals(BODY, request.content().toString(StandardCharsets.UTF_8));
        } finally {
            request.release();
        }
        assertNull(channel.readInbound());
        assertFalse(channel.finish());
    }

    @Test
    void everyRequestDecodesAsNettysServerCodecAndAggregatorDecodeIt() {
        for (String request : REQUESTS) {
            String expected = decode(ClientHttpCodecTest::nettys, request, request.length());
            assertEquals(expected, decode(ClientHttpCodecTest::ours, request, request.length()), request);
        }
    }

    @Test
    void aRequestSplitAtAnyByteDecodesAsTheWholeOne() {
        for (String request : REQUESTS) {
            if (request.length() > 2000) {
                continue;
            }
            String whole = decode(ClientHttpCodecTest::nettys, request, request.length());
            for (int piece = 1; piece < Math.min(request.length(), 40); piece++) {
                assertEquals(whole, decode(ClientHttpCodecTest::ours, request, piece), piece + " bytes a read: " + request);
            }
        }
    }

    @Test
    void pipelinedRequestsOfBothPathsComeOutInOrder() {
        String chunked = "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n";
        String all = PLAIN + chunked + PLAIN + "GET /last HTTP/1.1\r\n\r\n";
        assertEquals(decode(ClientHttpCodecTest::nettys, all, all.length()),
                decode(ClientHttpCodecTest::ours, all, all.length()));
        assertEquals(decode(ClientHttpCodecTest::nettys, all, all.length()), decode(ClientHttpCodecTest::ours, all, 7));
    }

    @Test
    void theResponseToAHeadRequestHasNoBodyEvenBehindAFastPathRequest() {
        EmbeddedChannel channel = new EmbeddedChannel(new ClientHttpCodec(MAX_HEADER_BYTES, MAX_BODY));
        channel.writeInbound(bytes(PLAIN + "HEAD /healthz HTTP/1.1\r\n\r\n"));
        ReferenceCountUtil.release(channel.readInbound());
        ReferenceCountUtil.release(channel.readInbound()); // the HEAD request, then its LastHttpContent
        ReferenceCountUtil.release(channel.readInbound());
        channel.writeOutbound(response("first"), response("second"));
        String wire = outbound(channel);
        assertTrue(wire.contains("first"), wire);
        assertFalse(wire.contains("second"), "the HEAD response carries no body: " + wire);
        assertEquals(2, wire.split("HTTP/1.1 200 OK").length - 1, wire);
        channel.finishAndReleaseAll();
    }

    @Test
    void theLargestHeaderLimitStillDecodesAPlainRequestOnTheFastPath() {
        EmbeddedChannel channel = new EmbeddedChannel(new ClientHttpCodec(Integer.MAX_VALUE, Integer.MAX_VALUE));
        channel.writeInbound(bytes(PLAIN));
        FullHttpRequest request = assertInstanceOf(FullHttpRequest.class, channel.readInbound());
        assertEquals(BODY, request.content().toString(StandardCharsets.UTF_8));
        request.release();
        assertFalse(channel.finish());
    }

    @Test
    void aClientThatClosesMidRequestLeavesNoRequestAndNoBufferBehind() {
        EmbeddedChannel channel = new EmbeddedChannel(new ClientHttpCodec(MAX_HEADER_BYTES, MAX_BODY));
        ByteBuf partial = bytes(PLAIN.substring(0, PLAIN.length() - 5));
        channel.writeInbound(partial);
        assertNull(channel.readInbound());
        channel.finishAndReleaseAll();
        assertEquals(0, partial.refCnt());
    }

    private static DefaultFullHttpResponse response(String body) {
        DefaultFullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                Unpooled.copiedBuffer(body, StandardCharsets.US_ASCII));
        response.headers().set(HttpHeaderNames.CONTENT_LENGTH, body.length());
        return response;
    }

    private static String outbound(EmbeddedChannel channel) {
        StringBuilder wire = new StringBuilder();
        for (Object o; (o = channel.readOutbound()) != null; ) {
            ByteBuf b = (ByteBuf) o;
            wire.append(b.toString(StandardCharsets.ISO_8859_1));
            b.release();
        }
        return wire.toString();
    }

    private static ChannelHandler[] nettys() {
        return new ChannelHandler[] {new HttpServerCodec(8192, MAX_HEADER_BYTES, 64 * 1024),
            new HttpObjectAggregator(MAX_BODY)};
    }

    private static ChannelHandler[] ours() {
        return new ChannelHandler[] {new ClientHttpCodec(MAX_HEADER_BYTES, MAX_BODY), new HttpObjectAggregator(MAX_BODY)};
    }

    /** What a pipeline makes of {@code text} fed {@code piece} bytes a read, written out as text. */
    private static String decode(Supplier<ChannelHandler[]> handlers, String text, int piece) {
        EmbeddedChannel channel = new EmbeddedChannel(handlers.get());
        try {
            HttpMessagesText.feed(channel, text, piece);
        } catch (RuntimeException e) {
            return "thrown " + e;
        }
        StringBuilder out = new StringBuilder();
        for (Object o; (o = channel.readInbound()) != null; ) {
            out.append(HttpMessagesText.describe(o)).append('\n');
            ReferenceCountUtil.release(o);
        }
        // what a 413 (from the aggregator) would have answered
        for (Object o; (o = channel.readOutbound()) != null; ) {
            out.append("out ").append(HttpMessagesText.describe(o)).append('\n');
            ReferenceCountUtil.release(o);
        }
        channel.finishAndReleaseAll();
        return out.toString();
    }

    private static ByteBuf bytes(String text) {
        return HttpMessagesText.bytes(text);
    }
}
