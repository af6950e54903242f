package dev.tokenwise.core.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpServer;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.TokenCount;
import dev.tokenwise.core.model.TokenUsage;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.spi.ProviderAdapter;
import dev.tokenwise.core.spi.ResponseObserver;
import dev.tokenwise.core.spi.TokenCounter;
import dev.tokenwise.core.testing.LeakDetectingExtension;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.HttpHeaders;
import java.net.InetSocketAddress;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Adapters that translate another provider's API: the proxy relays what their observer makes of each answer. */
@ExtendWith(LeakDetectingExtension.class)
class TranslatingRelayTest {
    private HttpServer upstream;
    private RelayFixture relay;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @BeforeEach
    void start() throws Exception {
        upstream = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        upstream.createContext("/native", exchange -> {
            String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            boolean stream = body.contains("\"native_stream\":true");
            byte[] answer = (stream ? "data: hello\n\ndata: world\n\ndata: usage 7 2\n\n" : "{\"native\":\"hello world\",\"in\":7,\"out\":2}")
                    .getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", stream ? "text/event-stream" : "application/json");
            exchange.sendResponseHeaders(200, answer.length);
            exchange.getResponseBody().write(answer);
            exchange.close();
        });
        upstream.start();
        relay = new RelayFixture(upstream.getAddress().getPort(), Duration.ofSeconds(5), new TranslatingAdapter());
    }

    @AfterEach
    void stop() {
        relay.close();
        upstream.stop(0);
    }

    private HttpResponse<String> call(boolean stream) throws Exception {
        return http.send(relay.chatRequest(stream), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void sendsTheTranslatedBodyOfANonStreamedAnswer() throws Exception {
        HttpResponse<String> response = call(false);
        assertEquals(200, response.statusCode());
        assertEquals("{\"choices\":[{\"message\":{\"content\":\"hello world\"}}]}", response.body());
        assertTrue(response.headers().firstValue("content-type").orElse("").startsWith("application/json"));
        UsageRecord record = relay.awaitRecord();
        assertEquals(TokenUsage.of(7, 2), record.usage());
        assertEquals(7 * 1000 + 2 * 2000, record.costNanos());
    }

    @Test
    void translatesAStreamEventByEvent() throws Exception {
        HttpResponse<String> response = call(true);
        assertEquals(200, response.statusCode());
        assertEquals("data: {\"delta\":\"hello\"}\n\ndata: {\"delta\":\"world\"}\n\ndata: [DONE]\n\n", response.body());
        UsageRecord record = relay.awaitRecord();
        assertEquals(TokenUsage.of(7, 2), record.usage());
        assertEquals(2, record.localOutputTokens(), "the observer's text was counted");
    }

    /** Speaks a made-up native API: {@code native_stream} instead of {@code stream}, its own body and events. */
    static final class TranslatingAdapter implements ProviderAdapter {
        private final Runnable beforeEachEvent;

        TranslatingAdapter() {
            this(() -> { });
        }

        /** @param beforeEachEvent runs on the event loop as each event arrives, before it is read */
        TranslatingAdapter(Runnable beforeEachEvent) {
            this.beforeEachEvent = beforeEachEvent;
        }

        @Override
        public boolean supports(Endpoint endpoint) {
            return endpoint == Endpoint.CHAT_COMPLETIONS;
        }

        @Override
        public String upstreamPath(Endpoint endpoint, String upstreamModel) {
            return "/native";
        }

        @Override
        public void authorize(HttpHeaders upstreamHeaders) {
        }

        @Override
        public Rewrite rewrite(Endpoint endpoint, ObjectNode body, String upstreamModel, boolean stream) {
            body.put("native_stream", stream);
            body.remove("stream");
            return new Rewrite(true, false);
        }

        @Override
        public ResponseObserver observer(Endpoint endpoint, boolean stream, Rewrite rewrite) {
            return new ResponseObserver() {
                private final StringBuilder text = new StringBuilder();
                private TokenUsage usage;

                @Override
                public boolean onEvent(ByteBuf event) {
                    beforeEachEvent.run();
                    String data = event.toString(StandardCharsets.UTF_8).trim().substring("data: ".length());
                    if (data.startsWith("usage ")) {
                        String[] n = data.split(" ");
                        usage = TokenUsage.of(Long.parseLong(n[1]), Long.parseLong(n[2]));
                    } else {
                        text.append(text.length() == 0 ? "" : " ").append(data);
                    }
                    return true;
                }

                @Override
                public ByteBuf translateEvent(ByteBuf event, ByteBufAllocator alloc) {
                    String data = event.toString(StandardCharsets.UTF_8).trim().substring("data: ".length());
                    String out = data.startsWith("usage ") ? "data: [DONE]\n\n" : "data: {\"delta\":\"" + data + "\"}\n\n";
                    return alloc.buffer().writeBytes(out.getBytes(StandardCharsets.UTF_8));
                }

                @Override
                public void onBody(ByteBuf body) {
                    try {
                        JsonNode node = new com.fasterxml.jackson.databind.ObjectMapper()
                                .readTree(body.toString(StandardCharsets.UTF_8));
                        text.append(node.get("native").asText());
                        usage = TokenUsage.of(node.get("in").asLong(), node.get("out").asLong());
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }

                @Override
                public boolean translatesBody() {
                    return true;
                }

                @Override
                public ByteBuf translateBody(ByteBuf body, ByteBufAllocator alloc) {
                    return alloc.buffer().writeBytes(("{\"choices\":[{\"message\":{\"content\":\"" + text + "\"}}]}")
                            .getBytes(StandardCharsets.UTF_8));
                }

                @Override
                public TokenUsage usage() {
                    return usage;
                }

                @Override
                public String outputText() {
                    return text.toString();
                }

                @Override
                public String finishReason() {
                    return "stop";
                }
            };
        }
    }

    /** Counts whitespace-separated words; enough to see that counting happened. */
    static final class WordCounter implements TokenCounter {
        @Override
        public CompletableFuture<TokenCount> countInput(String model, Endpoint endpoint, JsonNode body) {
            return CompletableFuture.completedFuture(new TokenCount(body.toString().split("\\s+").length, true));
        }

        @Override
        public CompletableFuture<TokenCount> countOutput(String model, String text) {
            return CompletableFuture.completedFuture(new TokenCount(text.isBlank() ? 0 : text.trim().split("\\s+").length, true));
        }

        @Override
        public boolean isExact(String model) {
            return false;
        }
    }
}
