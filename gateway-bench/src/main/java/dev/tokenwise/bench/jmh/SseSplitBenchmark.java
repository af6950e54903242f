package dev.tokenwise.bench.jmh;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.spi.ProviderAdapter;
import dev.tokenwise.core.spi.ResponseObserver;
import dev.tokenwise.core.sse.SseEventSplitter;
import dev.tokenwise.providers.openai.OpenAiAdapter;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The streaming response path per server-sent event: {@link SseEventSplitter} cutting an upstream byte
 * stream into whole events, and the OpenAI {@link ResponseObserver} reading each event (a Jackson tree per
 * {@code data:} line) for usage, text and finish reason. The observer is reached through
 * {@link OpenAiAdapter#observer}, as the proxy reaches it.
 *
 * <p>One operation is one stream of {@value #EVENTS} events as OpenAI sends a chat completion with
 * {@code stream_options.include_usage}: a role delta, 20 content deltas, a finish delta (all with
 * {@code "usage": null}), the usage event and {@code data: [DONE]}, 7.3 KB. Scores are per event
 * ({@link OperationsPerInvocation}). {@code chunking} is how the upstream bytes arrive: one read per event
 * (what providers nearly always send), fixed-size reads of 64, 512 or 4096 bytes that cut events anywhere,
 * or the whole stream in one read. Buffers are direct, the splitter allocates from the pooled allocator,
 * as in the gateway.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@OperationsPerInvocation(SseSplitBenchmark.EVENTS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
public class SseSplitBenchmark {
    static final int CONTENT_EVENTS = 20;
    /** Role delta, content deltas, finish delta, usage event, [DONE]. */
    static final int EVENTS = CONTENT_EVENTS + 4;

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String ANSWER = "Reserve the worst case before forwarding, then settle with the usage the"
            + " provider reports, so that no burst of concurrent calls can spend past the limit.";

    @Param({"event", "64", "512", "4096", "whole"})
    public String chunking;

    private final ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
    private final ProviderAdapter adapter = new OpenAiAdapter(null);
    private List<ByteBuf> reads;
    private List<ByteBuf> events;
    private SseEventSplitter splitter;
    private ResponseObserver observer;
    private int seen;
    private final Consumer<ByteBuf> count = event -> {
        seen++;
        event.release();
    };
    private final Consumer<ByteBuf> observe = event -> {
        try {
            if (observer.onEvent(event)) {
                seen++;
            }
        } finally {
            event.release();
        }
    };

    @Setup(Level.Trial)
    public void setUp() {
        List<byte[]> eventBytes = stream();
        ByteArrayOutputStream whole = new ByteArrayOutputStream();
        eventBytes.forEach(whole::writeBytes);
        byte[] all = whole.toByteArray();
        events = new ArrayList<>();
        for (byte[] e : eventBytes) {
            events.add(direct(e, 0, e.length));
        }
        reads = new ArrayList<>();
        switch (chunking) {
            case "event" -> eventBytes.forEach(e -> reads.add(direct(e, 0, e.length)));
            case "whole" -> reads.add(direct(all, 0, all.length));
            default -> {
                int size = Integer.parseInt(chunking);
                for (int at = 0; at < all.length; at += size) {
                    reads.add(direct(all, at, Math.min(size, all.length - at)));
                }
            }
        }
        splitter = new SseEventSplitter(alloc);
        // Checks: every event comes out whole, and the observer finds text, finish reason and usage.
        if (split() != EVENTS || splitAndObserve() != EVENTS || !ANSWER.equals(observer.outputText())
                || !"stop".equals(observer.finishReason()) || observer.usage() == null
                || observer.usage().outputTokens() != CONTENT_EVENTS) {
            throw new IllegalStateException("the stream was not split or observed as expected");
        }
        System.out.printf("%nstream: %,d bytes, %d events, %d reads of up to %s bytes%n", all.length, EVENTS,
                reads.size(), chunking);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        splitter.release();
        reads.forEach(ByteBuf::release);
        events.forEach(ByteBuf::release);
    }

    /** Cutting one stream into events; each event slice released at once. */
    @Benchmark
    public int split() {
        seen = 0;
        for (ByteBuf read : reads) {
            splitter.feed(read, count);
        }
        return seen;
    }

    /** Cutting one stream and reading every event with a new observer, as one call does. */
    @Benchmark
    public int splitAndObserve() {
        observer = adapter.observer(Endpoint.CHAT_COMPLETIONS, true, ProviderAdapter.Rewrite.UNCHANGED);
        seen = 0;
        for (ByteBuf read : reads) {
            splitter.feed(read, observe);
        }
        return seen;
    }

    /** The observer alone on events that are already whole (independent of {@code chunking}). */
    @Benchmark
    public ResponseObserver observe() {
        ResponseObserver o = adapter.observer(Endpoint.CHAT_COMPLETIONS, true, ProviderAdapter.Rewrite.UNCHANGED);
        for (ByteBuf event : events) {
            o.onEvent(event);
        }
        return o;
    }

    /** The events of a streamed chat completion with usage, as OpenAI sends them. */
    static List<byte[]> stream() {
        String[] words = ANSWER.split(" ");
        if (words.length < CONTENT_EVENTS) {
            throw new IllegalStateException("answer too short");
        }
        List<String> pieces = new ArrayList<>();
        // 20 deltas: the first 19 words one by one, the rest in the last delta.
        for (int i = 0; i < CONTENT_EVENTS - 1; i++) {
            pieces.add((i == 0 ? "" : " ") + words[i]);
        }
        pieces.add(" " + String.join(" ", List.of(words).subList(CONTENT_EVENTS - 1, words.length)));

        List<byte[]> events = new ArrayList<>();
        ObjectNode first = chunk(true);
        ObjectNode roleDelta = choice(first, null);
        roleDelta.put("role", "assistant");
        roleDelta.put("content", "");
        roleDelta.putNull("refusal");
        events.add(sse(first));
        for (String piece : pieces) {
            ObjectNode event = chunk(true);
            choice(event, null).put("content", piece);
            events.add(sse(event));
        }
        ObjectNode finish = chunk(true);
        choice(finish, "stop");
        events.add(sse(finish));
        ObjectNode usageEvent = chunk(false);
        usageEvent.putArray("choices");
        ObjectNode usage = usageEvent.putObject("usage");
        usage.put("prompt_tokens", 27);
        usage.put("completion_tokens", CONTENT_EVENTS);
        usage.put("total_tokens", 27 + CONTENT_EVENTS);
        usage.putObject("prompt_tokens_details").put("cached_tokens", 0).put("audio_tokens", 0);
        usage.putObject("completion_tokens_details").put("reasoning_tokens", 0).put("audio_tokens", 0)
                .put("accepted_prediction_tokens", 0).put("rejected_prediction_tokens", 0);
        events.add(sse(usageEvent));
        events.add("data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII));
        return events;
    }

    private static ObjectNode chunk(boolean usageNull) {
        ObjectNode chunk = JSON.createObjectNode();
        chunk.put("id", "chatcmpl-BnchMockUpstream0000000000001");
        chunk.put("object", "chat.completion.chunk");
        chunk.put("created", 1_741_569_952L);
        chunk.put("model", "gpt-4o-mini-2024-07-18");
        chunk.put("service_tier", "default");
        chunk.put("system_fingerprint", "fp_06737a9306");
        chunk.putArray("choices");
        if (usageNull) {
            chunk.putNull("usage");
        }
        return chunk;
    }

    private static ObjectNode choice(ObjectNode chunk, String finishReason) {
        ObjectNode choice = ((ArrayNode) chunk.get("choices")).addObject();
        choice.put("index", 0);
        ObjectNode delta = choice.putObject("delta");
        choice.putNull("logprobs");
        if (finishReason == null) {
            choice.putNull("finish_reason");
        } else {
            choice.put("finish_reason", finishReason);
        }
        return delta;
    }

    private static byte[] sse(ObjectNode event) {
        try {
            return ("data: " + JSON.writeValueAsString(event) + "\n\n").getBytes(StandardCharsets.UTF_8);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static ByteBuf direct(byte[] bytes, int from, int length) {
        return Unpooled.directBuffer(length).writeBytes(bytes, from, length);
    }
}
