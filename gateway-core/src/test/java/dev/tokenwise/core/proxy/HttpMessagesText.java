package dev.tokenwise.core.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/** HTTP messages written out as text, every field that a decoder sets, for comparing two decoders. */
final class HttpMessagesText {
    private HttpMessagesText() {
    }

    static ByteBuf bytes(String text) {
        return Unpooled.copiedBuffer(text, StandardCharsets.ISO_8859_1);
    }

    /** Writes {@code text} into {@code channel} {@code piece} bytes a read, while the channel stays open. */
    static void feed(EmbeddedChannel channel, String text, int piece) {
        ByteBuf all = bytes(text);
        try {
            for (int i = 0; i < all.readableBytes() && channel.isOpen(); i += piece) {
                channel.writeInbound(all.retainedSlice(i, Math.min(piece, all.readableBytes() - i)));
            }
        } finally {
            all.release();
        }
    }

    static String describe(Object message) {
        StringBuilder text = new StringBuilder();
        if (message instanceof HttpRequest request) {
            text.append("request ").append(request.protocolVersion()).append(' ').append(request.method())
                    .append(' ').append(request.uri());
        }
        if (message instanceof HttpResponse response) {
            text.append("response ").append(response.protocolVersion()).append(' ').append(response.status().code())
                    .append(" '").append(response.status().reasonPhrase()).append('\'');
        }
        if (message instanceof HttpMessage head) {
            text.append(' ').append(result(head.decoderResult())).append(' ').append(headers(head.headers()));
        }
        if (message instanceof HttpContent content) {
            text.append(message instanceof LastHttpContent ? " last" : " content").append(" [")
                    .append(content.content().toString(StandardCharsets.ISO_8859_1)).append(']');
            if (!(message instanceof HttpMessage)) {
                text.append(' ').append(result(content.decoderResult()));
            }
            if (content instanceof LastHttpContent last && !last.trailingHeaders().isEmpty()) {
                text.append(" trailers ").append(headers(last.trailingHeaders()));
            }
        }
        if (message instanceof ByteBuf bytes) {
            text.append("bytes [").append(bytes.toString(StandardCharsets.ISO_8859_1)).append(']');
        }
        return text.length() > 0 ? text.toString() : message.getClass().getName();
    }

    private static String result(DecoderResult result) {
        return result.isSuccess() ? "ok" : result.isFailure() ? "failed " + result.cause() : "unfinished";
    }

    private static String headers(HttpHeaders headers) {
        StringBuilder text = new StringBuilder("{");
        for (Map.Entry<String, String> header : headers) {
            text.append(header.getKey()).append('=').append(header.getValue()).append(';');
        }
        return text.append('}').toString();
    }
}
