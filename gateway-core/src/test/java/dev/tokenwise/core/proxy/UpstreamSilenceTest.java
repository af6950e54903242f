package dev.tokenwise.core.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.sun.net.httpserver.HttpServer;
import dev.tokenwise.core.model.CallStatus;
import dev.tokenwise.core.testing.LeakDetectingExtension;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The upstream read timeout measures the provider's silence, not the gateway's own. */
@ExtendWith(LeakDetectingExtension.class)
class UpstreamSilenceTest {
    private static final long READ_TIMEOUT_MILLIS = 400;

    private HttpServer upstream;
    private RelayFixture relay;

    @AfterEach
    void stop() {
        if (relay != null) {
            relay.close();
        }
        if (upstream != null) {
            upstream.stop(0);
        }
    }

    @Test
    void doesNotTimeOutAnUpstreamWhoseNextEventWaitedWhileTheEventLoopWasStalled() throws Exception {
        // The second event is sent 150 ms after the first; the event loop is stalled for twice the read
        // timeout while it reads the first (as a long GC pause or a starved CPU would). When it comes back,
        // the second event is waiting in the socket: the provider was not silent, the gateway was.
        start(stallOnTheFirstEvent(), out -> {
            send(out, "data: hello\n\n");
            sleep(150);
            send(out, "data: world\n\ndata: usage 7 2\n\n");
        });

        Streamed response = call();

        assertEquals(200, response.status());
        assertEquals(false, response.cut(), "the stream was cut after " + response.body());
        assertEquals("data: {\"delta\":\"hello\"}\n\ndata: {\"delta\":\"world\"}\n\ndata: [DONE]\n\n", response.body());
        assertEquals(CallStatus.OK, relay.awaitRecord().status());
    }

    @Test
    void stillTimesOutAnUpstreamThatFallsSilentAfterTheEventLoopStalled() throws Exception {
        start(stallOnTheFirstEvent(), out -> {
            send(out, "data: hello\n\n");
            sleep(6 * READ_TIMEOUT_MILLIS);
            send(out, "data: world\n\ndata: usage 7 2\n\n");
        });

        Streamed response = call();

        assertEquals(200, response.status());
        assertEquals(true, response.cut(), "the stream ended cleanly: " + response.body());
        assertEquals(CallStatus.UPSTREAM_TIMEOUT, relay.awaitRecord().status());
    }

    /** Holds the event loop for twice the read timeout while it reads the first event, as a long GC pause would. */
    private static Runnable stallOnTheFirstEvent() {
        AtomicBoolean stalled = new AtomicBoolean();
        return () -> {
            if (stalled.compareAndSet(false, true)) {
                sleep(2 * READ_TIMEOUT_MILLIS);
            }
        };
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
        relay = new RelayFixture(upstream.getAddress().getPort(), Duration.ofMillis(READ_TIMEOUT_MILLIS),
                new TranslatingRelayTest.TranslatingAdapter(beforeEachEvent));
    }

    /** What a streamed call returned: its status, the events that arrived, and whether the stream was cut. */
    private record Streamed(int status, String body, boolean cut) {
    }

    private Streamed call() throws Exception {
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        HttpResponse<InputStream> response = http.send(relay.chatRequest(true), HttpResponse.BodyHandlers.ofInputStream());
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
}
