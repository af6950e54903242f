package dev.tokenwise.server;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.tokenwise.core.model.CallStatus;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.metrics.ledger.SqliteLedger;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGTERM to a gateway in a JVM of its own while streams run through it: it stops accepting at once,
 * lets the streams finish, books every one of them in the ledger and exits 0 within its 10 s grace.
 * The scenario runs once; each test checks one of those promises against what was observed.
 */
class GracefulShutdownTest {
    private static final int STREAMS = 6;
    /** {@code Main}'s grace for in-flight calls. */
    private static final long GRACE_MILLIS = 10_000;
    /** With {@code max_output_words: 200} this prompt gets a 150+ word answer: 1.5 s or more at 10 ms a word. */
    private static final String ESSAY = "{\"model\":\"sim-small\",\"stream\":true,"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"Write a long essay about tokens.\"}]}";

    @TempDir
    static Path dir;

    /** What one stream saw. */
    record Stream(String requestId, String body, IOException failure, long endedAtNanos) {
    }

    private static final Map<Integer, Stream> streams = new ConcurrentHashMap<>();
    private static long sigtermAtNanos;
    /** When a new connection was first refused after SIGTERM, or -1 if never within the probe window. */
    private static long refusedAtNanos = -1;
    /** What the probe got on a new connection while the listener still accepted. */
    private static final List<String> acceptedDuringShutdown = new ArrayList<>();
    private static boolean exited;
    private static int exitCode = Integer.MIN_VALUE;
    private static long exitedAtNanos;
    private static Path ledgerFile;
    private static Path log;
    private static Process gateway;

    @BeforeAll
    static void runTheScenario() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        ledgerFile = dir.resolve("ledger.db").toAbsolutePath();
        Path catalog = Path.of("..", "config", "prices.yaml").toAbsolutePath().normalize();
        Path config = dir.resolve("gateway.yaml");
        Files.writeString(config, """
                server: {host: 127.0.0.1, port: %d}
                admin: {key: %s}
                storage: {path: "%s", sync: normal}
                pricing: {catalog: "%s"}
                providers:
                  sim: {type: simulator, chunk_delay_ms: 10, first_token_delay_ms: 5, max_output_words: 200}
                models:
                  - {name: sim-small, provider: sim}
                teams:
                  - name: demo
                    budget: {limit_usd: 1000, period: daily}
                    keys: [{key: tw-test-key, name: demo-key}]
                """.formatted(port, TestGateway.ADMIN_KEY, ledgerFile, catalog));
        log = dir.resolve("gateway.log");
        gateway = GatewayProcess.start(config, log, URI.create("http://127.0.0.1:" + port));

        CountDownLatch streaming = new CountDownLatch(STREAMS);
        List<Thread> readers = new ArrayList<>();
        for (int i = 0; i < STREAMS; i++) {
            int index = i;
            Thread reader = new Thread(() -> stream(port, index, streaming), "shutdown-stream-" + i);
            reader.setDaemon(true);
            reader.start();
            readers.add(reader);
        }
        assertTrue(streaming.await(20, TimeUnit.SECONDS), "every stream started: " + streams);

        sigtermAtNanos = System.nanoTime();
        gateway.destroy(); // SIGTERM on Linux
        probeTheListener(port);
        for (Thread reader : readers) {
            reader.join(GRACE_MILLIS + 5_000);
        }
        exited = gateway.waitFor(GRACE_MILLIS + 5_000 - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sigtermAtNanos),
                TimeUnit.MILLISECONDS);
        exitedAtNanos = System.nanoTime();
        if (exited) {
            exitCode = gateway.exitValue();
        }
        System.out.printf("GracefulShutdownTest: new connections refused %s ms after SIGTERM; streams ended %s ms after it;"
                        + " gateway %s %s ms after it%n",
                refusedAtNanos < 0 ? "never (within the probe)" : millisAfterSigterm(refusedAtNanos),
                streams.values().stream().map(s -> String.valueOf(millisAfterSigterm(s.endedAtNanos()))).toList(),
                exited ? "exited with " + exitCode : "still running", millisAfterSigterm(exitedAtNanos));
    }

    @AfterAll
    static void stop() throws InterruptedException {
        if (gateway != null && gateway.isAlive()) {
            gateway.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void stopsAcceptingNewConnectionsRightAfterSigterm() throws IOException {
        assertTrue(refusedAtNanos > 0, "a new connection was still accepted 3 s after SIGTERM: "
                + acceptedDuringShutdown + "\n" + logText());
        assertTrue(millisAfterSigterm(refusedAtNanos) < 1_000,
                "refused only " + millisAfterSigterm(refusedAtNanos) + " ms after SIGTERM");
        long firstStreamEnd = streams.values().stream().mapToLong(Stream::endedAtNanos).min().orElseThrow();
        assertTrue(refusedAtNanos < firstStreamEnd, "new connections were refused only after a stream in flight ended");
    }

    @Test
    void finishesEveryStreamInFlightWhenSigtermArrives() throws IOException {
        assertEquals(STREAMS, streams.size(), streams.toString());
        for (Stream s : streams.values()) {
            assertNull(s.failure(), "stream " + s.requestId() + " was cut: " + s.failure() + " after "
                    + s.body().length() + " chars\n" + logText());
            assertTrue(s.body().endsWith("data: [DONE]\n\n"), "stream " + s.requestId() + " ends: "
                    + s.body().substring(Math.max(0, s.body().length() - 200)));
            assertTrue(s.endedAtNanos() > sigtermAtNanos, "stream " + s.requestId() + " was still running at SIGTERM");
        }
    }

    @Test
    void exitsWithStatusZeroWithinTheGrace() throws IOException {
        assertTrue(exited, "the gateway still runs " + millisAfterSigterm(exitedAtNanos) + " ms after SIGTERM\n" + logText());
        assertTrue(millisAfterSigterm(exitedAtNanos) < GRACE_MILLIS, "exited " + millisAfterSigterm(exitedAtNanos)
                + " ms after SIGTERM");
        assertEquals(0, exitCode, "exit status after SIGTERM (143 = 128 + SIGTERM: the JVM's default for a signal)\n"
                + logText());
    }

    @Test
    void booksEveryCompletedCallInTheLedgerAsOk() throws IOException {
        assertTrue(exited, "the gateway must be gone before its ledger is read");
        try (SqliteLedger ledger = SqliteLedger.open(ledgerFile, SqliteLedger.Sync.NORMAL)) {
            for (Stream s : streams.values()) {
                if (s.failure() != null) {
                    continue; // reported by finishesEveryStreamInFlightWhenSigtermArrives
                }
                Optional<UsageRecord> record = ledger.find(s.requestId());
                assertTrue(record.isPresent(), "no ledger record for the completed stream " + s.requestId() + "\n" + logText());
                assertEquals(CallStatus.OK, record.get().status(), record.get().toString());
                assertTrue(record.get().stream(), record.get().toString());
                assertTrue(record.get().usage().outputTokens() > 100, record.get().toString());
                assertTrue(record.get().costNanos() > 0, record.get().toString());
            }
        }
    }

    // ---------------------------------------------------------------- the scenario's parts

    /** One streamed call on its own connection: counts down {@code streaming} once events flow, then reads to the end. */
    private static void stream(int port, int index, CountDownLatch streaming) {
        String requestId = null;
        StringBuilder body = new StringBuilder();
        boolean counted = false;
        try (StreamFaultTest.RawClient client = new StreamFaultTest.RawClient(port)) {
            client.send(StreamFaultTest.RawClient.post("/v1/chat/completions", ESSAY, "X-Task-Id: shutdown-" + index + "\r\n"));
            StreamFaultTest.RawClient.Head head = client.readHead();
            requestId = head.header("x-request-id");
            if (head.status() != 200) {
                throw new IOException("status " + head.status());
            }
            for (byte[] chunk = client.readChunk(); chunk != null; chunk = client.readChunk()) {
                body.append(new String(chunk, UTF_8));
                if (!counted && body.toString().split("data: ", -1).length > 3) {
                    counted = true;
                    streaming.countDown();
                }
            }
            streams.put(index, new Stream(requestId, body.toString(), null, System.nanoTime()));
        } catch (IOException e) {
            streams.put(index, new Stream(requestId, body.toString(), e, System.nanoTime()));
        } finally {
            if (!counted) {
                streaming.countDown();
            }
        }
    }

    /** Tries new connections every 10 ms for up to 3 s after SIGTERM until one is refused. */
    private static void probeTheListener(int port) {
        long deadline = sigtermAtNanos + TimeUnit.SECONDS.toNanos(3);
        while (System.nanoTime() < deadline) {
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress("127.0.0.1", port), 500);
                // Still accepting: see what a request on the new connection gets, then try again.
                socket.setSoTimeout(500);
                socket.getOutputStream().write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".getBytes(UTF_8));
                byte[] answer = socket.getInputStream().readNBytes(12);
                acceptedDuringShutdown.add(millisAfterSigterm(System.nanoTime()) + " ms: " + new String(answer, UTF_8));
            } catch (ConnectException e) {
                refusedAtNanos = System.nanoTime();
                return;
            } catch (IOException e) {
                acceptedDuringShutdown.add(millisAfterSigterm(System.nanoTime()) + " ms: " + e);
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private static long millisAfterSigterm(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(nanos - sigtermAtNanos);
    }

    private static String logText() throws IOException {
        return "--- gateway log ---\n" + Files.readString(log);
    }
}
