package dev.tokenwise.core.sse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.tokenwise.core.testing.LeakDetectingExtension;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(LeakDetectingExtension.class)
class SseEventSplitterTest {
    private final SseEventSplitter splitter = new SseEventSplitter(PooledByteBufAllocator.DEFAULT);
    private final List<String> events = new ArrayList<>();

    private void feed(String text) {
        ByteBuf in = Unpooled.copiedBuffer(text, StandardCharsets.UTF_8);
        try {
            splitter.feed(in, event -> {
                events.add(event.toString(StandardCharsets.UTF_8));
                event.release();
            });
        } finally {
            in.release();
        }
    }

    @Test
    void handsOutEachWholeEventWithItsBlankLine() {
        feed("data: {\"a\":1}\n\ndata: {\"b\":2}\n\n");
        assertEquals(List.of("data: {\"a\":1}\n\n", "data: {\"b\":2}\n\n"), events);
        assertNull(splitter.drain());
    }

    @Test
    void joinsAnEventSplitAcrossChunksAtAnyByte() {
        String stream = "event: x\ndata: {\"text\":\"héllo 世界 🙂\"}\n\ndata: [DONE]\n\n";
        byte[] bytes = stream.getBytes(StandardCharsets.UTF_8);
        for (int cut = 1; cut < bytes.length; cut++) {
            events.clear();
            ByteBuf first = Unpooled.wrappedBuffer(bytes, 0, cut);
            ByteBuf second = Unpooled.wrappedBuffer(bytes, cut, bytes.length - cut);
            splitter.feed(first, e -> { events.add(e.toString(StandardCharsets.UTF_8)); e.release(); });
            splitter.feed(second, e -> { events.add(e.toString(StandardCharsets.UTF_8)); e.release(); });
            assertEquals(List.of("event: x\ndata: {\"text\":\"héllo 世界 🙂\"}\n\n", "data: [DONE]\n\n"), events,
                    "cut at " + cut);
        }
    }

    @Test
    void acceptsCarriageReturnLineEnds() {
        feed("data: 1\r\n\r\ndata: 2\r\n\r\n");
        assertEquals(List.of("data: 1\r\n\r\n", "data: 2\r\n\r\n"), events);
    }

    @Test
    void keepsAnUnterminatedTailForDrain() {
        feed("data: 1\n\ndata: partial");
        assertEquals(List.of("data: 1\n\n"), events);
        ByteBuf rest = splitter.drain();
        assertEquals("data: partial", rest.toString(StandardCharsets.UTF_8));
        rest.release();
    }

    @Test
    void releasesItsBufferWhenAbandoned() {
        feed("data: never finished");
        splitter.release();
        assertNull(splitter.drain());
    }
}
