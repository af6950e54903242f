package dev.tokenwise.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenwise.core.testing.LeakDetectingExtension;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(LeakDetectingExtension.class)
class LoadGeneratorTest {
    private static MockUpstream mock;

    @BeforeAll
    static void start() throws InterruptedException {
        mock = MockUpstream.start(MockUpstream.Options.defaults().withPort(0));
    }

    @AfterAll
    static void stop() {
        mock.close();
    }

    @Test
    void closedLoopCountsEveryCompletedRequestInTheWindow() throws Exception {
        long servedBefore = mock.requestsServed();
        LoadResult result = new LoadGenerator(LoadGenerator.Options.closedLoop(completions(), ChatBodies.REALISTIC.body(), 4,
                Duration.ofMillis(200), Duration.ofMillis(500))).run("direct");
        assertEquals(0, result.errors());
        assertTrue(result.succeeded() > 100, result::summary);
        assertEquals(result.succeeded(), result.latencyMicros().getTotalCount());
        // Warmup and in-flight requests reached the mock too, but nothing was counted that it did not serve.
        assertTrue(mock.requestsServed() - servedBefore >= result.succeeded());
    }

    @Test
    void openLoopHoldsTheRequestedRate() throws Exception {
        LoadGenerator.Options options = new LoadGenerator.Options(completions(), "POST",
                List.of(Map.entry("content-type", "application/json")), ChatBodies.SHORT.body(), 4,
                Duration.ofMillis(300), Duration.ofSeconds(1), 400, Duration.ofSeconds(5), 1);
        LoadResult result = new LoadGenerator(options).run("direct");
        assertEquals(0, result.errors());
        assertTrue(Math.abs(result.succeeded() - 400) <= 8, result::summary);
    }

    @Test
    void countsNon2xxSeparatelyFromSuccesses() throws Exception {
        LoadResult result = new LoadGenerator(LoadGenerator.Options.closedLoop(URI.create(mock.baseUrl() + "/nowhere"),
                ChatBodies.SHORT.body(), 2, Duration.ZERO, Duration.ofMillis(200))).run("direct");
        assertEquals(0, result.succeeded());
        assertTrue(result.non2xx() > 0);
        assertEquals(0, result.connectionErrors() + result.timeouts());
    }

    @Test
    void realisticBodiesAreValidJsonAndDifferPerRequest() throws Exception {
        RequestBody body = ChatBodies.REALISTIC.body();
        ObjectMapper json = new ObjectMapper();
        JsonNode first = json.readTree(body.sample(0, 0));
        JsonNode other = json.readTree(body.sample(3, 17));
        assertEquals(10, first.get("messages").size());
        assertNotEquals(first, other);
        assertTrue(body.typicalLength() > 12_000 && body.typicalLength() < 18_000, () -> "length " + body.typicalLength());
        assertEquals(first.get("messages").get(8), other.get("messages").get(8));
    }

    @Test
    void measuresHowLongEachEventOfAPacedStreamTookFromTheMock() throws Exception {
        MockUpstream paced = MockUpstream.start(new MockUpstream.Options("127.0.0.1", 0, 1, 5, Duration.ZERO,
                Duration.ofMillis(1)));
        try {
            LoadResult result = new LoadGenerator(LoadGenerator.Options.closedLoop(
                    URI.create(paced.baseUrl() + "/chat/completions"), ChatBodies.STREAM.body(), 2, Duration.ofMillis(100),
                    Duration.ofMillis(500))).run("direct");
            assertEquals(0, result.errors());
            assertTrue(result.succeeded() > 10, result::summary);
            // A role delta, 5 content deltas, a finish delta and the usage event carry the send time; [DONE] does not.
            // Streams that straddle the window's edges add or miss a few events.
            long events = result.eventDelayMicros().getTotalCount();
            assertTrue(events >= 8 * (result.succeeded() - 2) && events <= 8 * (result.succeeded() + 2), result::summary);
            assertTrue(result.eventDelayPercentileMillis(50) < 50, result::summary);
        } finally {
            paced.close();
        }
    }

    @Test
    void recordsNoEventDelayWhenTheMockSendsTheWholeStreamAtOnce() throws Exception {
        LoadResult result = new LoadGenerator(LoadGenerator.Options.closedLoop(completions(), ChatBodies.STREAM.body(), 2,
                Duration.ofMillis(100), Duration.ofMillis(300))).run("direct");
        assertTrue(result.succeeded() > 10, result::summary);
        assertEquals(0, result.eventDelayMicros().getTotalCount());
    }

    private static URI completions() {
        return URI.create(mock.baseUrl() + "/chat/completions");
    }
}
