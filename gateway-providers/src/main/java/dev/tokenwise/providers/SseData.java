package dev.tokenwise.providers;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/** Reads the {@code data:} fields of one server-sent event, and JSON out of buffers, for response observers. */
public final class SseData {
    private static final ObjectMapper JSON = new ObjectMapper();

    private SseData() {
    }

    /** Receives one data field (a borrowed slice, without the {@code data:} prefix and its space). */
    @FunctionalInterface
    public interface Handler {
        /** @return {@code false} to ask that the event not be forwarded */
        boolean onData(ByteBuf data);
    }

    /**
     * Hands every non-empty {@code data:} line of {@code event} to {@code handler}; lines may end with
     * {@code \n} or {@code \r\n}. Returns {@code false} when any call returned {@code false}.
     */
    public static boolean forEach(ByteBuf event, Handler handler) {
        boolean forward = true;
        int end = event.writerIndex();
        int lineStart = event.readerIndex();
        while (lineStart < end) {
            int lineEnd = event.indexOf(lineStart, end, (byte) '\n');
            if (lineEnd < 0) {
                lineEnd = end;
            }
            int contentEnd = lineEnd > lineStart && event.getByte(lineEnd - 1) == '\r' ? lineEnd - 1 : lineEnd;
            if (startsWith(event, lineStart, contentEnd, "data:")) {
                int from = lineStart + 5;
                if (from < contentEnd && event.getByte(from) == ' ') {
                    from++;
                }
                if (from < contentEnd) {
                    forward &= handler.onData(event.slice(from, contentEnd - from));
                }
            }
            lineStart = lineEnd + 1;
        }
        return forward;
    }

    /** {@code true} for OpenAI's end-of-stream marker {@code [DONE]}. */
    public static boolean isDone(ByteBuf data) {
        return data.readableBytes() == 6 && startsWith(data, data.readerIndex(), data.writerIndex(), "[DONE]");
    }

    /** The JSON tree of the readable bytes of {@code bytes} (not consumed). */
    public static JsonNode json(ByteBuf bytes) {
        try (InputStream in = new ByteBufInputStream(bytes.duplicate())) {
            return JSON.readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException("not JSON: " + e.getMessage(), e);
        }
    }

    private static boolean startsWith(ByteBuf buf, int from, int to, String prefix) {
        if (to - from < prefix.length()) {
            return false;
        }
        for (int i = 0; i < prefix.length(); i++) {
            if (buf.getByte(from + i) != prefix.charAt(i)) {
                return false;
            }
        }
        return true;
    }
}
