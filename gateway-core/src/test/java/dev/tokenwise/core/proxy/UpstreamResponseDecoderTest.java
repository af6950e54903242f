package dev.tokenwise.core.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpResponseDecoder;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

class UpstreamResponseDecoderTest {
    private static final int MAX_HEADER_BYTES = 1024;
    private static final int MAX_CHUNK = 64;
    private static final String JSON = "{\"id\":\"chatcmpl-1\",\"choices\":[]}";
    private static final String PLAIN = "HTTP/1.1 200 OK\r\n"
            + "Content-Type: application/json\r\n"
            + "openai-processing-ms: 12\r\n"
            + "Content-Length: " + JSON.length() + "\r\n"
            + "\r\n" + JSON;

    /** Responses of every shape the fast path must take, or must leave to Netty's decoder. */
    private static final List<String> RESPONSES = List.of(
            PLAIN,
            "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Length: 2\r\n\r\n{}",
            "HTTP/1.1 429 Slow Down\r\nContent-Length: 2\r\n\r\n{}",
            "HTTP/1.1 500 \r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 503\r\nContent-Length: 1\r\n\r\nx",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/event-stream\r\n\r\n"
                    + "c\r\ndata: {}\n\n\r\n\r\n7\r\ndata: \r\n0\r\n\r\n",
            "HTTP/1.1 204 No Content\r\n\r\n",
            "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
            "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}",
            "HTTP/1.1 200 OK\r\nContent-Length: " + (MAX_CHUNK + 6) + "\r\n\r\n" + "y".repeat(MAX_CHUNK + 6),
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
            "HTTP/1.1 200 OK\r\nContent-Length: two\r\n\r\n{}",
            "HTTP/1.1 200 OK\r\nX-Folded: a\r\n\tb\r\nContent-Length: 2\r\n\r\n{}",
            "HTTP/1.1 200 OK\r\nX-Latin: caf\u00e9\r\nContent-Length: 2\r\n\r\n{}",
            "HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\n{}",
            "HTTP/1.1 099 Odd\r\nContent-Length: 2\r\n\r\n{}",
            "HTTP/1.1 200 OK\nContent-Length: 2\n\n{}",
            "HTTP/1.1 200 OK\r\nBig: " + "x".repeat(MAX_HEADER_BYTES) + "\r\nContent-Length: 2\r\n\r\n{}",
            "garbage\r\n\r\n");

    @Test
    void aPlainResponseArrivesAsItsHeadAndOneLastContent() {
        EmbeddedChannel channel = new EmbeddedChannel(new UpstreamResponseDecoder(MAX_HEADER_BYTES, MAX_CHUNK));
        channel.writeInbound(bytes(PLAIN));
        DefaultHttpResponse head = assertInstanceOf(DefaultHttpResponse.class, channel.readInbound());
        assertSame(HttpResponseStatus.OK, head.status());
        assertEquals("12", head.headers().get("OpenAI-Processing-Ms"));
        LastHttpContent body = assertInstanceOf(LastHttpContent.class, channel.readInbound());
        assertEquals(JSON, body.content().toString(StandardCharsets.UTF_8));
        body.release();
        assertNull(channel.readInbound());
        channel.finishAndReleaseAll();
    }

    @Test
    void everyResponseDecodesAsNettysDecoderDecodesIt() {
        for (String response : RESPONSES) {
            assertEquals(decode(UpstreamResponseDecoderTest::nettys, response, response.length()),
                    decode(UpstreamResponseDecoderTest::ours, response, response.length()), response);
        }
    }

    @Test
    void aResponseSplitAtAnyByteDecodesAsTheWholeOne() {
        for (String response : RESPONSES) {
            String whole = decode(UpstreamResponseDecoderTest::nettys, response, response.length());
            for (int piece = 1; piece < Math.min(response.length(), 40); piece++) {
                assertEquals(whole, decode(UpstreamResponseDecoderTest::ours, response, piece),
                        piece + " bytes a read: " + response);
            }
        }
    }

    @Test
    void responsesOnOneConnectionDecodeInOrderAcrossBothPaths() {
        String stream = RESPONSES.get(5);
        String all = PLAIN + stream + PLAIN + RESPONSES.get(1) + "HTTP/1.1 200 OK\r\n\r\nuntil close";
        for (int piece : new int[] {all.length(), 1, 5, 33}) {
            assertEquals(decode(UpstreamResponseDecoderTest::nettys, all, all.length()),
                    decode(UpstreamResponseDecoderTest::ours, all, piece), piece + " bytes a read");
        }
    }

    @Test
    void aResponseCutShortAtAnyByteDecodesAsNettysDecoderDecodesIt() {
        for (String response : RESPONSES) {
            for (int cut = 1; cut < response.length(); cut++) {
                String part = response.substring(0, cut);
                assertEquals(decode(UpstreamResponseDecoderTest::nettys, part, part.length()),
                        decode(UpstreamResponseDecoderTest::ours, part, part.length()), "cut at " + cut + ": " + response);
            }
        }
    }

    @Test
    void handsOnTheHeadAndThePartOfABodyThatArrivedWhenTheConnectionEnds() {
        EmbeddedChannel channel = new EmbeddedChannel(new UpstreamResponseDecoder(MAX_HEADER_BYTES, MAX_CHUNK));
        String cut = PLAIN.substring(0, PLAIN.length() - 10);
        channel.writeInbound(bytes(cut));
        assertNull(channel.readInbound(), "the fast path waits for the whole body");
        channel.finish();
        assertInstanceOf(DefaultHttpResponse.class, channel.readInbound());
        HttpContent part = assertInstanceOf(HttpContent.class, channel.readInbound());
        assertFalse(part instanceof LastHttpContent, "not the end of the body");
        assertEquals(JSON.substring(0, JSON.length() - 10), part.content().toString(StandardCharsets.UTF_8));
        part.release();
        assertNull(channel.readInbound());
    }

    @Test
    void countsEveryByteTheConnectionDelivered() {
        UpstreamResponseDecoder decoder = new UpstreamResponseDecoder(MAX_HEADER_BYTES, MAX_CHUNK);
        EmbeddedChannel channel = new EmbeddedChannel(decoder);
        assertEquals(0, decoder.bytesRead());
        HttpMessagesText.feed(channel, PLAIN + "HTTP/1.1 2", 7);
        assertEquals(PLAIN.length() + 10, decoder.bytesRead());
        channel.finishAndReleaseAll();
    }

    private static ChannelHandler nettys() {
        return new HttpResponseDecoder(4096, MAX_HEADER_BYTES, MAX_CHUNK);
    }

    private static ChannelHandler ours() {
        return new UpstreamResponseDecoder(MAX_HEADER_BYTES, MAX_CHUNK);
    }

    /**
     * What a decoder makes of {@code text} fed {@code piece} bytes a read, then the end of the connection,
     * written out as text; consecutive pieces of content are joined, as how a body is cut depends on the reads.
     */
    private static String decode(Supplier<ChannelHandler> decoder, String text, int piece) {
        EmbeddedChannel channel = new EmbeddedChannel(decoder.get());
        HttpMessagesText.feed(channel, text, piece);
        channel.finish();
        StringBuilder out = new StringBuilder();
        StringBuilder content = new StringBuilder();
        for (Object o; (o = channel.readInbound()) != null; ) {
            String line = HttpMessagesText.describe(o);
            if (line.startsWith(" content [") && line.endsWith("] ok")) {
                content.append(line, " content [".length(), line.length() - "] ok".length());
            } else if (line.startsWith(" last [")) {
                out.append(" body [").append(content).append(line.substring(" last [".length())).append('\n');
                content.setLength(0);
            } else {
                out.append(line).append('\n');
            }
            ReferenceCountUtil.release(o);
        }
        return out.append(content.length() > 0 ? " unfinished body [" + content + "]" : "").toString();
    }

    private static ByteBuf bytes(String text) {
        return HttpMessagesText.bytes(text);
    }
}
