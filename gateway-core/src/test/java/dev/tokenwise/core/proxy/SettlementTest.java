package dev.tokenwise.core.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpServer;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.RecordFlag;
import dev.tokenwise.core.model.TokenCount;
import dev.tokenwise.core.model.TokenUsage;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.spi.ProviderAdapter;
import dev.tokenwise.core.spi.ResponseObserver;
import dev.tokenwise.core.spi.TokenCounter;
import dev.tokenwise.core.testing.LeakDetectingExtension;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpHeaders;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Settlement is total: whatever an observer does (throw from every method, report usage no provider can have
 * meant), the call is answered, booked exactly once and nothing stays in flight.
 */
@ExtendWith(LeakDetectingExtension.class)
class SettlementTest {
    private static final String ANSWER = "{\"answer\":\"hello world\"}";
    private HttpServer upstream;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @BeforeEach
    void start() throws Exception {
        upstream = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        upstream.createContext("/chat", exchange -> {
            exchange.getRequestBody().readAllBytes();
            byte[] answer = ANSWER.getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, answer.length);
            exchange.getResponseBody().write(answer);
            exchange.close();
        });
        upstream.start();
    }

    @AfterEach
    void stop() {
        upstream.stop(0);
    }

    @Test
    void booksTheCallOnceWhenItsObserverThrowsFromEveryMethod() throws Exception {
        try (RelayFixture relay = new RelayFixture(upstream.getAddress().getPort(), Duration.ofSeconds(5),
                new Adapter(Throwing::new))) {
            HttpResponse<String> response = http.send(relay.chatRequest(false), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, response.statusCode());
            assertEquals(ANSWER, response.body(), "the answer is relayed whole");

            UsageRecord record = relay.awaitRecord();
            assertTrue(record.has(RecordFlag.OBSERVER_ERROR), record.toString());
            assertFalse(record.usageFromProvider());
            assertTrue(record.usage().inputTokens() > 0, "billed on the local count: " + record);
            assertEquals(4, relay.gateway.providerHealth().get("native").observerErrors(),
                    "onBody, usage, finishReason and outputText each failed once");
            assertEquals(0, relay.inFlight());
        }
    }

    @Test
    void billsTheLocalCountWhenAnObserverReportsMoreTokensThanCanBe() throws Exception {
        try (RelayFixture relay = new RelayFixture(upstream.getAddress().getPort(), Duration.ofSeconds(5),
                new Adapter(() -> new Reporting(TokenUsage.of(1_000_000_000_000_000L, 1_000_000_000_000_000L))))) {
            HttpResponse<String> response = http.send(relay.chatRequest(false), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, response.statusCode());
            assertEquals(ANSWER, response.body());

            UsageRecord record = relay.awaitRecord();
            assertEquals(RecordFlag.USAGE_REJECTED.bit(), record.flags(), record.toString());
            assertFalse(record.usageFromProvider());
            assertEquals(TokenUsage.of(record.localInputTokens(), record.localOutputTokens()), record.usage());
            assertEquals(record.localInputTokens() * 1000 + record.localOutputTokens() * 2000, record.costNanos());
            assertEquals(0, relay.inFlight());
        }
    }

    @Test
    void keepsTheRequestedModelAttemptsAndPromptHashWhenTheOutputCannotBeCounted() throws Exception {
        try (RelayFixture relay = new RelayFixture(upstream.getAddress().getPort(), Duration.ofSeconds(5),
                new Adapter(() -> new Reporting(TokenUsage.of(3, 2))), new HashingCounter(false))) {
            HttpResponse<String> response = http.send(relay.chatRequest(false), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, response.statusCode());

            UsageRecord record = relay.awaitRecord();
            assertEquals("m", record.requestedModel());
            assertEquals(1, record.attempts());
            assertEquals(PROMPT_HASH, record.promptHash(), "the input was counted: its hash is known");
            assertEquals(7, record.localInputTokens());
            assertTrue(record.localEstimated(), "the output has no local count");
            assertEquals(TokenUsage.of(3, 2), record.usage(), "billed on the provider's usage");
            assertEquals(0, relay.inFlight());
        }
    }

    @Test
    void keepsTheRequestedModelAttemptsAndPromptHashWhenTheProviderCannotBeReached() throws Exception {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = socket.getLocalPort();
        }
        try (RelayFixture relay = new RelayFixture(closedPort, Duration.ofSeconds(5),
                new Adapter(() -> new Reporting(null)), new HashingCounter(true))) {
            HttpResponse<String> response = http.send(relay.chatRequest(false), HttpResponse.BodyHandlers.ofString());
            assertEquals(502, response.statusCode());

            UsageRecord record = relay.awaitRecord();
            assertEquals("m", record.requestedModel());
            assertEquals(3, record.attempts(), "the first attempt and the two retries of the default resilience");
            assertEquals(PROMPT_HASH, record.promptHash());
            assertEquals(TokenUsage.ZERO, record.usage(), "a provider never reached bills nothing");
            assertEquals(0, relay.inFlight());
        }
    }

    private static final long PROMPT_HASH = 0x5eed_cafeL;

    /** Counts every prompt as 7 tokens with hash {@link #PROMPT_HASH}; the output too, or fails to count it. */
    private record HashingCounter(boolean countsOutput) implements TokenCounter {
        @Override
        public CompletableFuture<TokenCount> countInput(String model, Endpoint endpoint, JsonNode body) {
            return CompletableFuture.completedFuture(new TokenCount(7, false, PROMPT_HASH));
        }

        @Override
        public CompletableFuture<TokenCount> countOutput(String model, String text) {
            return countsOutput ? CompletableFuture.completedFuture(new TokenCount(2, false))
                    : CompletableFuture.failedFuture(new IllegalStateException("tokenizer failed"));
        }

        @Override
        public boolean isExact(String model) {
            return true;
        }
    }

    /** Calls {@code /chat}; its observer comes from {@code observers}. */
    private record Adapter(Supplier<ResponseObserver> observers) implements ProviderAdapter {
        @Override
        public boolean supports(Endpoint endpoint) {
            return endpoint == Endpoint.CHAT_COMPLETIONS;
        }

        @Override
        public String upstreamPath(Endpoint endpoint, String upstreamModel) {
            return "/chat";
        }

        @Override
        public void authorize(HttpHeaders upstreamHeaders) {
        }

        @Override
        public Rewrite rewrite(Endpoint endpoint, ObjectNode body, String upstreamModel, boolean stream) {
            return Rewrite.UNCHANGED;
        }

        @Override
        public ResponseObserver observer(Endpoint endpoint, boolean stream, Rewrite rewrite) {
            return observers.get();
        }
    }

    /** An observer with a bug everywhere. */
    private static final class Throwing implements ResponseObserver {
        @Override
        public boolean onEvent(ByteBuf event) {
            throw new IllegalStateException("onEvent");
        }

        @Override
        public void onBody(ByteBuf body) {
            throw new IllegalStateException("onBody");
        }

        @Override
        public TokenUsage usage() {
            throw new ArithmeticException("usage");
        }

        @Override
        public String outputText() {
            throw new IllegalStateException("outputText");
        }

        @Override
        public String finishReason() {
            throw new IllegalStateException("finishReason");
        }
    }

    /** An observer that reports whatever usage it is given, believable or not. */
    private static final class Reporting implements ResponseObserver {
        private final TokenUsage usage;

        Reporting(TokenUsage usage) {
            this.usage = usage;
        }

        @Override
        public boolean onEvent(ByteBuf event) {
            return true;
        }

        @Override
        public void onBody(ByteBuf body) {
        }

        @Override
        public TokenUsage usage() {
            return usage;
        }

        @Override
        public String outputText() {
            return "hello world";
        }

        @Override
        public String finishReason() {
            return "stop";
        }
    }
}
