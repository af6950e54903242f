package dev.tokenwise.core.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.sun.net.httpserver.HttpServer;
import dev.tokenwise.core.accounting.AccountingCore;
import dev.tokenwise.core.auth.KeyRegistry;
import dev.tokenwise.core.budget.BudgetBook;
import dev.tokenwise.core.config.GatewayConfig;
import dev.tokenwise.core.config.ModelConfig;
import dev.tokenwise.core.config.ProviderConfig;
import dev.tokenwise.core.config.ServerConfig;
import dev.tokenwise.core.model.CallStatus;
import dev.tokenwise.core.model.ModelPrice;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.testing.LeakDetectingExtension;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.ZoneId;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The upstream read timeout measures the provider's silence, not the gateway's own. */
@ExtendWith(LeakDetectingExtension.class)
class UpstreamSilenceTest {
    private static final long READ_TIMEOUT_MILLIS = 400;

    private HttpServer upstream;
    private GatewayServer gateway;
    private AccountingCore accounting;
    private BudgetBook budgets;
    private final List<UsageRecord> records = new CopyOnWriteArrayList<>();

    @AfterEach
    void stop() {
        if (gateway != null) {
            gateway.close();
        }
        accounting.close();
        budgets.close();
        upstream.stop(0);
    }

    @Test
    void doesNotTimeOutAnUpstreamWhoseNextEventWaitedWhileTheEventLoopWasStalled() throws Exception {
        // The second event is sent 150 ms after the first; the event loop is stalled for twice the read
        // timeout while it reads the first (as a long GC pause or a starved CPU would). When it comes back,
        // the second event is waiting in the socket: the provider was not silent, the gateway was.
        AtomicBoolean stalled = new AtomicBoolean();
        start(() -> {
            if (stalled.compareAndSet(false, true)) {
                sleep(2 * READ_TIMEOUT_MILLIS);
            }
        }, out -> {
            send(out, "data: hello\n\n");
            sleep(150);
            send(out, "data: world\n\ndata: usage 7 2\n\n");
        });

        Streamed response = call();

        assertEquals(200, response.status());
        assertEquals(false, response.cut(), "the stream was cut after " + response.body());
        assertEquals("data: {\"delta\":\"hello\"}\n\ndata: {\"delta\":\"world\"}\n\ndata: [DONE]\n\n", response.body());
        assertEquals(CallStatus.OK, awaitRecord().status());
    }

    @Test
    void stillTimesOutAnUpstreamThatFallsSilentAfterTheEventLoopStalled() throws Exception {
        AtomicBoolean stalled = new AtomicBoolean();
        start(() -> {
            if (stalled.compareAndSet(false, true)) {
                sleep(2 * READ_TIMEOUT_MILLIS);
            }
        }, out -> {
            send(out, "data: hello\n\n");
            sleep(6 * READ_TIMEOUT_MILLIS);
            send(out, "data: world\n\ndata: usage 7 2\n\n");
        });

        long start = System.nanoTime();
        Streamed response = call();
        long elapsedMillis = (System.nanoTime() - start) / 1_000_000;

        assertEquals(200, response.status());
        assertEquals(true, response.cut(), "the stream ended cleanly: " + response.body());
        assertEquals(CallStatus.UPSTREAM_TIMEOUT, awaitRecord().status());
        assertEquals(true, elapsedMillis < 5 * READ_TIMEOUT_MILLIS, "gave up after " + elapsedMillis + " ms");
    }

    private interface Script {
        void write(OutputStream out) throws Exception;
    }

    private void start(Runnable beforeEachEvent, Script script) throws Exception {
        upstream = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        upstream.createContext("/native", exchange -> {
            exchange.getRequestBody().readAllBytes();
            exchange.getResponseHeaders().set("Content-Type", "text/event-stream");
            exchange.sendResponseHeaders(200, 0);
            try (OutputStream out = exchange.getResponseBody()) {
                script.write(out);
            } catch (Exception e) {
                // the gateway gave up on the call and closed the connection
            }
            exchange.close();
        });
        upstream.start();
        ProviderConfig provider = new ProviderConfig("native", "test",
                URI.create("http://127.0.0.1:" + upstream.getAddress().getPort()), null, null,
                Duration.ofSeconds(2), Duration.ofMillis(READ_TIMEOUT_MILLIS), 8, Map.of());
        ModelConfig model = new ModelConfig("m", "native", "m-native", ModelPrice.of(1_000_000_000L, 2_000_000_000L));
        ServerConfig defaults = ServerConfig.defaults();
        GatewayConfig config = new GatewayConfig(new ServerConfig("127.0.0.1", 0, 65_536, 8192, 1, 1,
                defaults.requestReadTimeout()), null, "unused", Map.of("native", provider), Map.of("m", model), List.of());
        KeyRegistry keys = new KeyRegistry();
        keys.register("tw-key", "k", "team", List.of());
        accounting = new AccountingCore(List.of(records::add), 64, 100);
        budgets = new BudgetBook(ZoneId.of("UTC"), 80, System::currentTimeMillis, 0);
        gateway = GatewayServer.start(config, Map.of("native", new TranslatingRelayTest.TranslatingAdapter(beforeEachEvent)),
                new TranslatingRelayTest.WordCounter(), accounting, budgets, keys, List.of(), null, null);
    }

    /** What a streamed call returned: its status, the events that arrived, and whether the stream was cut. */
    private record Streamed(int status, String body, boolean cut) {
    }

    private Streamed call() throws Exception {
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        HttpResponse<InputStream> response = http.send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + gateway.port() + "/v1/chat/completions"))
                .header("Authorization", "Bearer tw-key")
                .POST(HttpRequest.BodyPublishers.ofString(
                        "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi there\"}]}"))
                .build(), HttpResponse.BodyHandlers.ofInputStream());
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        boolean cut = false;
        try (InputStream in = response.body()) {
            in.transferTo(body);
        } catch (IOException e) {
            cut = true;
        }
        return new Streamed(response.statusCode(), body.toString(StandardCharsets.UTF_8), cut);
    }

    private static void send(OutputStream out, String text) throws Exception {
        out.write(text.getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private UsageRecord awaitRecord() throws InterruptedException {
        for (int i = 0; i < 500 && records.isEmpty(); i++) {
            Thread.sleep(10);
        }
        assertEquals(1, records.size());
        return records.get(0);
    }
}
