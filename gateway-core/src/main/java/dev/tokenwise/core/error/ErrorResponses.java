package dev.tokenwise.core.error;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;

/** Maps {@link ErrorType}s to HTTP responses with the body {@code {"error":{"message","type","code"}}}. */
public final class ErrorResponses {
    private static final JsonFactory JSON = new JsonFactory();

    private ErrorResponses() {
    }

    /** A complete JSON error response; the caller sets connection headers and the request id. */
    public static FullHttpResponse response(ByteBufAllocator alloc, ErrorType type, String message) {
        ByteBuf body = alloc.buffer(128 + message.length());
        try (OutputStream out = new ByteBufOutputStream(body)) {
            write(out, type, message);
        } catch (IOException | RuntimeException e) {
            body.release();
            throw e instanceof IOException io ? new UncheckedIOException(io) : (RuntimeException) e;
        }
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                HttpResponseStatus.valueOf(type.status()), body);
        response.headers()
                .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                .setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
        return response;
    }

    public static FullHttpResponse response(ByteBufAllocator alloc, GatewayException e) {
        return response(alloc, e.type(), e.getMessage());
    }

    /** The JSON body alone, for local APIs. */
    public static byte[] body(ErrorType type, String message) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(128 + message.length());
        try {
            write(out, type, message);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private static void write(OutputStream out, ErrorType type, String message) throws IOException {
        try (JsonGenerator g = JSON.createGenerator(out)) {
            g.writeStartObject();
            g.writeObjectFieldStart("error");
            g.writeStringField("message", message);
            g.writeStringField("type", type.type());
            g.writeStringField("code", type.code());
            g.writeEndObject();
            g.writeEndObject();
        }
    }
}
