package dev.tokenwise.server;

import static dev.tokenwise.server.StreamFaultTest.SSE_HEAD;
import static dev.tokenwise.server.StreamFaultTest.chunk;
import static dev.tokenwise.server.StreamFaultTest.event;
import static dev.tokenwise.server.StreamFaultTest.json200;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tokenwise.server.StreamFaultTest.FakeUpstream;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile sizes on a small heap: the gateway's {@code Main} in a JVM of its own with {@code -Xmx256m}, requests of
 * 8 MB that are a single word, and answers of 10 MB that are a single word, sent several at once. Every call is
 * answered and booked in the ledger, {@code /healthz} stays ok, and the process never runs out of memory (its
 * background threads, which book the calls, would be the first to die of it).
 */
@Timeout(120)
class BoundedHeapTest {
    private static final int BODY_CHARS = 8 * 1024 * 1024;
    private static final int ANSWER_CHARS = 10 * 1024 * 1024;
    private static final int SSE_EVENT_CHARS = 256 * 1024;
    private static final int SIMULTANEOUS_BODIES = 4;

    @TempDir
    static Path dir;
    static FakeUpstream upstream;
    static Process gateway;
    static URI base;
    static Path log;
    static final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    @BeforeAll
    static void start() throws Exception {
        String hugeAnswer = "a".repeat(ANSWER_CHARS);
        String jsonAnswer = completion(hugeAnswer);
        StringBuilder streamed = new StringBuilder(SSE_HEAD);
        for (int sent = 0; sent < ANSWER_CHARS; sent += SSE_EVENT_CHARS) {
            streamed.append(chunk(event(hugeAnswer.substring(sent, Math.min(ANSWER_CHARS, sent + SSE_EVENT_CHARS)))));
        }
        String streamedAnswer = streamed.append(chunk("data: [DONE]\n\n")).append("0\r\n\r\n").toString();
        upstream = new FakeUpstream(c -> {
            for (String body = c.readRequest(); body != null; body = c.readRequest()) {
                if (body.contains("\"user\":\"huge-json-answer\"")) {
                    c.write(json200(jsonAnswer, "keep-alive"));
                } else if (body.contains("\"user\":\"huge-streamed-answer\"")) {
                    c.write(streamedAnswer);
                } else {
                    c.write(json200(completion("Hello!"), "keep-alive"));
                }
            }
        });
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Path config = dir.resolve("gateway.yaml");
        Files.writeString(config, """
                server: {host: 127.0.0.1, port: %d, max_request_bytes: 16777216}
                admin: {key: %s}
                storage: {path: "%s"}
                pricing: {catalog: "%s"}
                providers:
                  openai: {type: openai, base_url: "http://127.0.0.1:%d/v1", api_key: sk-up, max_retries: 0,
                           read_timeout_ms: 20000, first_byte_timeout_ms: 20000, total_timeout_ms: 60000}
                models:
                  - {name: gpt-4o-mini, provider: openai}
                teams:
                  - name: words
                    keys: [{key: tw-words-key, name: words-key}]
                  - name: answers
                    keys: [{key: tw-answers-key, name: answers-key}]
                """.formatted(port, TestGateway.ADMIN_KEY, dir.resolve("ledger.db").toAbsolutePath(),
                Path.of("..", "config", "prices.yaml").toAbsolutePath().normalize(), upstream.port()));
        base = URI.create("http://127.0.0.1:" + port);
        log = dir.resolve("gateway.log");
        gateway = GatewayProcess.start(config, log, base, List.of("-Xmx256m"));
    }

    @AfterAll
    static void stop() throws Exception {
        if (gateway != null) {
            gateway.destroy();
            if (!gateway.waitFor(20, TimeUnit.SECONDS)) {
                gateway.destroyForcibly();
            }
        }
        if (upstream != null) {
            upstream.close();
        }
        if (log != null && Files.exists(log)) {
            // Kept beside the test reports: the temporary directory goes with the test.
            Files.copy(log, Path.of("target", "BoundedHeapTest-gateway.log"), StandardCopyOption.REPLACE_EXISTING);
        }
    }

    @Test
    void booksSeveralSimultaneousEightMegabyteSingleWordBodies() throws Exception {
        String word = "a".repeat(BODY_CHARS);
        String body = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"" + word + "\"}]}";
        List<CompletableFuture<HttpResponse<Void>>> calls = new ArrayList<>();
        for (int i = 0; i < SIMULTANEOUS_BODIES; i++) {
            calls.add(http.sendAsync(chat("tw-words-key", body), HttpResponse.BodyHandlers.discarding()));
        }
        List<String> ids = answeredIds(calls);

        for (String id : ids) {
            JsonNode record = record(id);
            assertEquals("ok", record.get("status").asText(), record.toString());
            assertEquals("local", record.get("usage_source").asText(), "the stand-in reports no usage: " + record);
            // One 8 MiB word is about a million tokens: counted by a bound that is never below that, and said so.
            assertTrue(record.get("input_tokens").asLong() >= BODY_CHARS / 8, record.toString());
            assertTrue(record.get("local_estimated").asBoolean(), record.toString());
            assertTrue(record.get("flags").toString().contains("\"count_bounded\""), record.toString());
        }
        assertBookedInTheLedger("words", ids.size());
        assertHealthyAndNeverOutOfMemory();
    }

    @Test
    void booksTenMegabyteSingleWordAnswersWholeAndStreamed() throws Exception {
        List<CompletableFuture<HttpResponse<Void>>> calls = new ArrayList<>();
        for (String kind : List.of("huge-json-answer", "huge-streamed-answer", "huge-json-answer", "huge-streamed-answer")) {
            String body = "{\"model\":\"gpt-4o-mini\",\"user\":\"" + kind + "\",\"stream\":" + kind.contains("streamed")
                    + ",\"messages\":[{\"role\":\"user\",\"content\":\"Say a long word.\"}]}";
            calls.add(http.sendAsync(chat("tw-answers-key", body), HttpResponse.BodyHandlers.discarding()));
        }
        List<String> ids = answeredIds(calls);

        for (String id : ids) {
            JsonNode record = record(id);
            assertEquals("ok", record.get("status").asText(), record.toString());
            assertTrue(record.get("output_tokens").asLong() >= ANSWER_CHARS / 8, record.toString());
            assertTrue(record.get("local_estimated").asBoolean(), record.toString());
            assertTrue(record.get("flags").toString().contains("\"count_bounded\""), record.toString());
        }
        assertBookedInTheLedger("answers", ids.size());
        assertHealthyAndNeverOutOfMemory();
    }

    private static HttpRequest chat(String key, String body) {
        return HttpRequest.newBuilder(base.resolve("/v1/chat/completions")).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json")
                .header("Authorization", "Bearer " + key)
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
    }

    private static List<String> answeredIds(List<CompletableFuture<HttpResponse<Void>>> calls) throws Exception {
        List<String> ids = new ArrayList<>();
        for (CompletableFuture<HttpResponse<Void>> call : calls) {
            HttpResponse<Void> response;
            try {
                response = call.get(60, TimeUnit.SECONDS);
            } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException e) {
                throw new AssertionError("a call was not answered: " + e + "\nupstream: " + upstream.requests
                        + " requests on " + upstream.connections + " connections\n" + tail() + "\n" + threads(), e);
            }
            assertEquals(200, response.statusCode(), "a call was not answered 200:\n" + tail());
            ids.add(response.headers().firstValue("x-request-id").orElseThrow());
        }
        return ids;
    }

    private static JsonNode record(String id) throws IOException, InterruptedException {
        HttpResponse<String> r = get("/api/v1/requests/" + id, TestGateway.ADMIN_KEY);
        assertEquals(200, r.statusCode(), "record " + id + ": " + r.body());
        return TestGateway.json(r.body());
    }

    /** Waits (up to 20 s) for the ledger to hold {@code calls} rows of {@code team}. */
    private static void assertBookedInTheLedger(String team, int calls) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        long booked = 0;
        while (System.nanoTime() < deadline) {
            HttpResponse<String> r = get("/api/v1/usage?group_by=team", TestGateway.ADMIN_KEY);
            assertEquals(200, r.statusCode(), r.body());
            booked = 0;
            for (JsonNode row : TestGateway.json(r.body()).get("data")) {
                if (team.equals(row.get("team").asText())) {
                    booked = row.get("requests").asLong();
                }
            }
            if (booked == calls) {
                return;
            }
            Thread.sleep(100);
        }
        fail("the ledger holds " + booked + " of the " + calls + " calls of team " + team + "\n" + tail());
    }

    private static void assertHealthyAndNeverOutOfMemory() throws Exception {
        HttpResponse<String> health = get("/healthz", TestGateway.ADMIN_KEY);
        assertEquals(200, health.statusCode(), health.body());
        assertEquals("ok", TestGateway.json(health.body()).get("status").asText(), health.body());
        assertTrue(gateway.isAlive(), "the gateway is still running");
        String output = Files.readString(log);
        assertFalse(output.contains("OutOfMemoryError"), "the gateway ran out of memory:\n" + tail());
    }

    private static HttpResponse<String> get(String path, String key) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(20)).GET();
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String completion(String content) {
        return "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"gpt-4o-mini\","
                + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"" + content
                + "\"},\"finish_reason\":\"stop\"}]}";
    }

    /** The gateway's threads and this JVM's, for failure messages. */
    private static String threads() {
        StringBuilder dump = new StringBuilder("gateway threads:\n");
        try {
            Process jstack = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                    Long.toString(gateway.pid()), "Thread.print").redirectErrorStream(true).start();
            dump.append(new String(jstack.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8));
        } catch (IOException e) {
            dump.append("(no thread dump: ").append(e).append(")\n");
        }
        dump.append("test threads:\n");
        Thread.getAllStackTraces().forEach((thread, stack) -> {
            dump.append(thread.getName()).append('\n');
            for (StackTraceElement frame : stack) {
                dump.append("    at ").append(frame).append('\n');
            }
        });
        return dump.toString();
    }

    /** The end of the gateway's log, for failure messages. */
    private static String tail() {
        try {
            String all = Files.readString(log);
            return all.length() <= 6_000 ? all : all.substring(all.length() - 6_000);
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }
}
