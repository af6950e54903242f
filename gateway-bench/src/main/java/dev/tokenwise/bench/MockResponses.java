package dev.tokenwise.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The mock upstream's answers, encoded once into complete HTTP/1.1 response bytes (status line, headers,
 * body, chunk framing), so serving one costs a {@link ByteBuf#retainedDuplicate()} and a write.
 *
 * <p>The buffers are direct and owned by this object: every user takes a retained duplicate, which the
 * channel releases after writing; {@link #release()} drops the original reference when the server stops.
 */
public final class MockResponses {
    static final String MODEL = "gpt-4o-mini-2024-07-18";
    static final int PROMPT_TOKENS = 27;
    /** The {@code completion_tokens} a non-streamed completion reports. */
    public static final int COMPLETION_TOKENS = 64;

    /**
     * The start of every chunk's {@code id}; the 16 hex digits after it are the {@link System#nanoTime()} at which
     * a paced stream's event was sent (all zeros when the events go out at once), so a client on this machine
     * can tell how long each event took to reach it (see {@link #stamped}).
     */
    static final String SENT_MARKER = "chatcmpl-BnchMockSent";
    static final byte[] SENT_MARKER_BYTES = SENT_MARKER.getBytes(StandardCharsets.US_ASCII);
    static final int SENT_DIGITS = 16;
    private static final String ID = SENT_MARKER + "0".repeat(SENT_DIGITS);
    private static final String COMPLETION_ID = "chatcmpl-BnchMockUpstream0000000000001";
    private static final long CREATED = 1_741_569_952L;
    private static final String FINGERPRINT = "fp_06737a9306";
    /** The answer of every completion, and split into words, of every stream. */
    public static final String ANSWER = "Token budgets work best when they are enforced before the call is forwarded:"
            + " reserve the worst case from the prompt size and max_tokens, forward the request, then settle the"
            + " reservation with the usage the provider reports. Teams that overspend get a clear 429 with the"
            + " remaining budget instead of a surprise on the invoice.";
    private static final ObjectMapper JSON = new ObjectMapper();

    final int chunkCount;
    /** Complete non-streaming response. */
    final ByteBuf completion;
    /** Head of a streaming response, announcing chunked transfer encoding. */
    final ByteBuf streamHead;
    /** One HTTP chunk per SSE event, without and with the {@code usage} field and trailing usage event. */
    final Events streamEvents;
    final Events streamEventsWithUsage;
    /** Head plus every event plus the terminating chunk, for the common case of no per-chunk delay. */
    final ByteBuf wholeStream;
    final ByteBuf wholeStreamWithUsage;
    final ByteBuf lastChunk;
    final ByteBuf notFound;
    final ByteBuf healthy;
    static final ByteBuf CONTINUE = directOf("HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.US_ASCII));

    MockResponses(int chunkCount) {
        if (chunkCount <= 0) {
            throw new IllegalArgumentException("chunks: " + chunkCount + " (expected: > 0)");
        }
        this.chunkCount = chunkCount;
        String[] words = ANSWER.split(" ");
        List<String> pieces = new ArrayList<>(chunkCount);
        for (int i = 0; i < chunkCount; i++) {
            pieces.add((i == 0 ? "" : " ") + words[i % words.length]);
        }
        completion = directOf(response("200 OK", "application/json", completionBody(ANSWER)));
        streamHead = directOf(("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
                + "cache-control: no-cache\r\nx-request-id: req_bench\r\ntransfer-encoding: chunked\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        streamEvents = Events.of(events(pieces, false));
        streamEventsWithUsage = Events.of(events(pieces, true));
        lastChunk = directOf("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        wholeStream = concat(streamHead, streamEvents.buffers(), lastChunk);
        wholeStreamWithUsage = concat(streamHead, streamEventsWithUsage.buffers(), lastChunk);
        notFound = directOf(response("404 Not Found", "application/json", ("{\"error\":{\"message\":\"mock upstream:"
                + " only POST .../chat/completions is served\",\"type\":\"invalid_request_error\",\"param\":null,"
                + "\"code\":\"unknown_url\"}}").getBytes(StandardCharsets.UTF_8)));
        healthy = directOf(response("200 OK", "text/plain", "ok\n".getBytes(StandardCharsets.US_ASCII)));
    }

    void release() {
        for (ByteBuf buf : List.of(completion, streamHead, lastChunk, wholeStream, wholeStreamWithUsage, notFound, healthy)) {
            buf.release();
        }
        streamEvents.buffers().forEach(ByteBuf::release);
        streamEventsWithUsage.buffers().forEach(ByteBuf::release);
    }

    /** The JSON body of a non-streamed chat completion answering {@code content}, as the mock sends it. */
    public static byte[] completionBody(String content) {
        ObjectNode root = JSON.createObjectNode();
        root.put("id", COMPLETION_ID);
        root.put("object", "chat.completion");
        root.put("created", CREATED);
        root.put("model", MODEL);
        ObjectNode choice = root.putArray("choices").addObject();
        choice.put("index", 0);
        ObjectNode message = choice.putObject("message");
        message.put("role", "assistant");
        message.put("content", content);
        message.putNull("refusal");
        message.putArray("annotations");
        choice.putNull("logprobs");
        choice.put("finish_reason", "stop");
        root.set("usage", usage(COMPLETION_TOKENS));
        root.put("service_tier", "default");
        root.put("system_fingerprint", FINGERPRINT);
        return bytes(root);
    }

    private static ObjectNode usage(int completionTokens) {
        ObjectNode usage = JSON.createObjectNode();
        usage.put("prompt_tokens", PROMPT_TOKENS);
        usage.put("completion_tokens", completionTokens);
        usage.put("total_tokens", PROMPT_TOKENS + completionTokens);
        ObjectNode promptDetails = usage.putObject("prompt_tokens_details");
        promptDetails.put("cached_tokens", 0);
        promptDetails.put("audio_tokens", 0);
        ObjectNode completionDetails = usage.putObject("completion_tokens_details");
        completionDetails.put("reasoning_tokens", 0);
        completionDetails.put("audio_tokens", 0);
        completionDetails.put("accepted_prediction_tokens", 0);
        completionDetails.put("rejected_prediction_tokens", 0);
        return usage;
    }

    /** The SSE events OpenAI sends: a role delta, one delta per piece, a finish delta, the optional usage event, [DONE]. */
    private static List<ByteBuf> events(List<String> pieces, boolean includeUsage) {
        List<ByteBuf> events = new ArrayList<>(pieces.size() + 4);
        ObjectNode first = chunk(includeUsage);
        ObjectNode roleDelta = choice(first);
        roleDelta.put("role", "assistant");
        roleDelta.put("content", "");
        roleDelta.putNull("refusal");
        events.add(sseChunk(first));
        for (String piece : pieces) {
            ObjectNode event = chunk(includeUsage);
            choice(event).put("content", piece);
            events.add(sseChunk(event));
        }
        ObjectNode finish = chunk(includeUsage);
        choice(finish);
        ((ObjectNode) finish.get("choices").get(0)).put("finish_reason", "stop");
        events.add(sseChunk(finish));
        if (includeUsage) {
            ObjectNode usageEvent = chunk(false);
            usageEvent.putArray("choices");
            usageEvent.set("usage", usage(pieces.size()));
            events.add(sseChunk(usageEvent));
        }
        events.add(directOf(httpChunk("data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII))));
        return List.copyOf(events);
    }

    /**
     * The events of a stream, each with the offset of its send-time digits from its reader index (-1 for an event
     * without them, {@code [DONE]}).
     */
    record Events(List<ByteBuf> buffers, int[] stampOffsets) {
        static Events of(List<ByteBuf> buffers) {
            int[] offsets = new int[buffers.size()];
            for (int i = 0; i < offsets.length; i++) {
                ByteBuf event = buffers.get(i);
                int at = MockUpstreamHandler.indexOf(event, SENT_MARKER_BYTES, event.readerIndex(), event.writerIndex());
                offsets[i] = at < 0 ? -1 : at - event.readerIndex() + SENT_MARKER_BYTES.length;
            }
            return new Events(buffers, offsets);
        }

        int size() {
            return buffers.size();
        }

        /** Event {@code index} to write now: stamped with this moment (see {@link #stamped}) when it has a stamp. */
        ByteBuf sendable(int index, ByteBufAllocator alloc) {
            ByteBuf event = buffers.get(index);
            int offset = stampOffsets[index];
            return offset < 0 ? event.retainedDuplicate() : stamped(alloc, event, offset, System.nanoTime());
        }
    }

    /** A copy of {@code event} whose send-time digits at {@code offset} say {@code sentNanos}. */
    static ByteBuf stamped(ByteBufAllocator alloc, ByteBuf event, int offset, long sentNanos) {
        ByteBuf copy = alloc.directBuffer(event.readableBytes());
        copy.writeBytes(event, event.readerIndex(), event.readableBytes());
        for (int i = 0; i < SENT_DIGITS; i++) {
            int digit = (int) (sentNanos >>> (4 * (SENT_DIGITS - 1 - i))) & 0xF;
            copy.setByte(offset + i, digit < 10 ? '0' + digit : 'a' + digit - 10);
        }
        return copy;
    }

    /**
     * The send time after the marker at {@code markerAt} in {@code buf}, 0 when the digits are zeros (an event
     * that was not paced), -1 when they are cut off at {@code end} or are not hex digits. A real stamp is positive:
     * on Linux {@link System#nanoTime()} is the monotonic clock, counted from boot.
     */
    static long sentNanosAt(ByteBuf buf, int markerAt, int end) {
        int from = markerAt + SENT_MARKER.length();
        if (from + SENT_DIGITS > end) {
            return -1;
        }
        long nanos = 0;
        for (int i = 0; i < SENT_DIGITS; i++) {
            int digit = Character.digit(buf.getByte(from + i), 16);
            if (digit < 0) {
                return -1;
            }
            nanos = nanos << 4 | digit;
        }
        return nanos;
    }

    private static ObjectNode chunk(boolean usageNull) {
        ObjectNode chunk = JSON.createObjectNode();
        chunk.put("id", ID);
        chunk.put("object", "chat.completion.chunk");
        chunk.put("created", CREATED);
        chunk.put("model", MODEL);
        chunk.put("service_tier", "default");
        chunk.put("system_fingerprint", FINGERPRINT);
        chunk.putArray("choices");
        if (usageNull) {
            // With stream_options.include_usage OpenAI sends "usage": null on every chunk but the last.
            chunk.putNull("usage");
        }
        return chunk;
    }

    /** Adds the single choice to {@code chunk} and returns its (empty) delta. */
    private static ObjectNode choice(ObjectNode chunk) {
        ArrayNode choices = (ArrayNode) chunk.get("choices");
        ObjectNode choice = choices.addObject();
        choice.put("index", 0);
        ObjectNode delta = choice.putObject("delta");
        choice.putNull("logprobs");
        choice.putNull("finish_reason");
        return delta;
    }

    private static ByteBuf sseChunk(ObjectNode event) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes("data: ".getBytes(StandardCharsets.US_ASCII));
        out.writeBytes(bytes(event));
        out.writeBytes("\n\n".getBytes(StandardCharsets.US_ASCII));
        return directOf(httpChunk(out.toByteArray()));
    }

    private static byte[] httpChunk(byte[] data) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(data.length + 16);
        out.writeBytes((Integer.toHexString(data.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.writeBytes(data);
        out.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
        return out.toByteArray();
    }

    private static byte[] response(String status, String contentType, byte[] body) {
        String head = "HTTP/1.1 " + status + "\r\ncontent-type: " + contentType + "\r\ncontent-length: " + body.length
                + "\r\nopenai-processing-ms: 1\r\nx-request-id: req_bench\r\n\r\n";
        ByteArrayOutputStream out = new ByteArrayOutputStream(head.length() + body.length);
        out.writeBytes(head.getBytes(StandardCharsets.US_ASCII));
        out.writeBytes(body);
        return out.toByteArray();
    }

    private static ByteBuf concat(ByteBuf head, List<ByteBuf> events, ByteBuf last) {
        int size = head.readableBytes() + last.readableBytes();
        for (ByteBuf event : events) {
            size += event.readableBytes();
        }
        ByteBuf whole = Unpooled.directBuffer(size);
        whole.writeBytes(head, head.readerIndex(), head.readableBytes());
        for (ByteBuf event : events) {
            whole.writeBytes(event, event.readerIndex(), event.readableBytes());
        }
        whole.writeBytes(last, last.readerIndex(), last.readableBytes());
        return whole;
    }

    private static byte[] bytes(ObjectNode node) {
        try {
            return JSON.writeValueAsBytes(node);
        } catch (java.io.IOException e) {
            throw new IllegalStateException("cannot encode mock response", e);
        }
    }

    private static ByteBuf directOf(byte[] bytes) {
        return Unpooled.directBuffer(bytes.length).writeBytes(bytes);
    }
}
