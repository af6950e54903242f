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

/**
 * Maps {@link ErrorType}s to HTTP responses, with the body {@code {"error":{"message","type","code"}}} or, on the
 * routes of another API, that API's own shape ({@link ErrorShape}).
 */
public final class ErrorResponses {
    private static final JsonFactory JSON = new JsonFactory();

    private ErrorResponses() {
    }

    /** A complete JSON error response; the caller sets connection headers and the request id. */
    public static FullHttpResponse response(ByteBufAllocator alloc, ErrorType type, String message) {
        return response(alloc, ErrorShape.OPENAI, type, message);
    }

    /** A complete error response in {@code shape}; the caller sets connection headers and the request id. */
    public static FullHttpResponse response(ByteBufAllocator alloc, ErrorShape shape, ErrorType type, String message) {
        ByteBuf body = alloc.buffer(128 + message.length());
        try (OutputStream out = new ByteBufOutputStream(body)) {
            write(out, shape, type, message);
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
        return response(alloc, ErrorShape.OPENAI, e.type(), e.getMessage());
    }

    public static FullHttpResponse response(ByteBufAllocator alloc, ErrorShape shape, GatewayException e) {
        return response(alloc, shape, e.type(), e.getMessage());
    }

    /** The JSON body alone, for local APIs. */
    public static byte[] body(ErrorType type, String message) {
        return body(ErrorShape.OPENAI, type, message);
    }

    /** The JSON body alone, in {@code shape}. */
    public static byte[] body(ErrorShape shape, ErrorType type, String message) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(128 + message.length());
        try {
            write(out, shape, type, message);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private static void write(OutputStream out, ErrorShape shape, ErrorType type, String message) throws IOException {
        try (JsonGenerator g = JSON.createGenerator(out)) {
            g.writeStartObject();
            switch (shape) {
                case OPENAI -> {
                    g.writeObjectFieldStart("error");
                    g.writeStringField("message", message);
                    g.writeStringField("type", type.type());
                    g.writeStringField("code", type.code());
                    g.writeEndObject();
                }
                case ANTHROPIC -> {
                    g.writeStringField("type", "error");
                    g.writeObjectFieldStart("error");
                    g.writeStringField("type", ErrorShape.anthropicType(type.status()));
                    g.writeStringField("message", message);
                    g.writeStringField("code", type.code());
                    g.writeEndObject();
                }
                case GOOGLE -> {
                    g.writeObjectFieldStart("error");
                    g.writeNumberField("code", type.status());
                    g.writeStringField("message", message);
                    g.writeStringField("status", ErrorShape.googleStatus(type.status()));
                    g.writeArrayFieldStart("details");
                    g.writeStartObject();
                    g.writeStringField("@type", "type.googleapis.com/google.rpc.ErrorInfo");
                    g.writeStringField("reason", type.code().toUpperCase(java.util.Locale.ROOT));
                    g.writeStringField("domain", "tokenwise");
                    g.writeEndObject();
                    g.writeEndArray();
                    g.writeEndObject();
                }
            }
            g.writeEndObject();
        }
    }
}
