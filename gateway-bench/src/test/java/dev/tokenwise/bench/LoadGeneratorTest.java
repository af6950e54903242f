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

    @Test
    void countsTheAnswersAGatewayServedFromItsResponseCache() throws Exception {
        // A stand-in for a gateway: every other answer says it came from the response cache.
        io.netty.channel.EventLoopGroup group = new io.netty.channel.nio.NioEventLoopGroup(1);
        try {
            java.util.concurrent.atomic.AtomicLong answered = new java.util.concurrent.atomic.AtomicLong();
            io.netty.channel.Channel server = new io.netty.bootstrap.ServerBootstrap().group(group)
                    .channel(io.netty.channel.socket.nio.NioServerSocketChannel.class)
                    .childHandler(new io.netty.channel.ChannelInitializer<io.netty.channel.socket.SocketChannel>() {
                        @Override
                        protected void initChannel(io.netty.channel.socket.SocketChannel ch) {
                            ch.pipeline().addLast(new io.netty.handler.codec.http.HttpServerCodec(),
                                    new io.netty.handler.codec.http.HttpObjectAggregator(1 << 20),
                                    new io.netty.channel.SimpleChannelInboundHandler<io.netty.handler.codec.http.FullHttpRequest>() {
                                        @Override
                                        protected void channelRead0(io.netty.channel.ChannelHandlerContext ctx,
                                                                    io.netty.handler.codec.http.FullHttpRequest request) {
                                            var response = new io.netty.handler.codec.http.DefaultFullHttpResponse(
                                                    io.netty.handler.codec.http.HttpVersion.HTTP_1_1,
                                                    io.netty.handler.codec.http.HttpResponseStatus.OK,
                                                    io.netty.buffer.Unpooled.wrappedBuffer("{}".getBytes()));
                                            response.headers().set("content-length", 2).set("x-tokenwise-cache",
                                                    answered.getAndIncrement() % 2 == 0 ? "hit" : "miss");
                                            ctx.writeAndFlush(response);
                                        }
                                    });
                        }
                    }).bind("127.0.0.1", 0).sync().channel();
            int port = ((java.net.InetSocketAddress) server.localAddress()).getPort();
            LoadResult result = new LoadGenerator(LoadGenerator.Options.closedLoop(
                    URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"), ChatBodies.CACHE_HIT.body(), 1,
                    Duration.ZERO, Duration.ofMillis(300))).run("gateway");
            server.close().sync();
            assertTrue(result.succeeded() > 10, result::summary);
            assertTrue(Math.abs(result.succeeded() - 2 * result.cacheHits()) <= 2, result::summary);
            assertTrue(result.summary().contains("cache hits " + result.cacheHits()), result::summary);
        } finally {
            group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).sync();
        }
    }

    @Test
    void theCacheHitBodyAsksTheSameDeterministicQuestionEveryTime() throws Exception {
        RequestBody body = ChatBodies.CACHE_HIT.body();
        JsonNode json = new ObjectMapper().readTree(body.sample(1, 0));
        assertEquals(0, json.get("temperature").asInt());
        assertTrue(json.get("stream") == null);
        assertEquals(body.sample(1, 0), body.sample(7, 42), "the same bytes every time");
        assertEquals(ChatBodies.CACHE_HIT, ChatBodies.parse("cache-hit"));
        assertEquals("cache-hit", ChatBodies.CACHE_HIT.label());
    }

    private static URI completions() {
        return URI.create(mock.baseUrl() + "/chat/completions");
    }
}
