package dev.tokenwise.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The access log of a gateway in its own JVM: one line per call, as text by default or as JSON lines. */
class AccessLogEndToEndTest {
    static final String PROMPT = "Summarise the quarterly figures of project Bluebird";

    @TempDir
    Path dir;

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    /** Starts a gateway with {@code logging}, makes two calls (one refused upstream-side as unknown), returns its log. */
    private String runCalls(String logging) throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Path catalog = Path.of("..", "config", "prices.yaml").toAbsolutePath().normalize();
        Path config = dir.resolve("gateway.yaml");
        Files.writeString(config, """
                server: {host: 127.0.0.1, port: %d}
                admin: {key: tw-admin-secret}
                storage: {path: "%s"}
                pricing: {catalog: "%s"}
                providers:
                  sim: {type: simulator, chunk_delay_ms: 1}
                models:
                  - {name: sim-small, provider: sim}
                teams:
                  - name: demo
                    keys: [{key: tw-demo-key, name: demo-key}]
                %s
                """.formatted(port, dir.resolve("data/tokenwise.db"), catalog, logging));
        Path log = dir.resolve("gateway.log");
        Process process = GatewayProcess.start(config, log, URI.create("http://127.0.0.1:" + port));
        try {
            for (String stream : List.of("false", "true")) {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(
                                URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
                        .timeout(Duration.ofSeconds(10)).header("Authorization", "Bearer tw-demo-key")
                        .header("X-Task-Id", "task-1")
                        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"sim-small\",\"stream\":" + stream
                                + ",\"messages\":[{\"role\":\"user\",\"content\":\"" + PROMPT + "\"}]}")).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertEquals(200, r.statusCode(), r.body());
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (accessLines(Files.readString(log)).size() < 2 && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
        } finally {
            process.destroy();
            process.waitFor(15, TimeUnit.SECONDS);
        }
        return Files.readString(log);
    }

    private static List<String> accessLines(String log) {
        return log.lines().filter(l -> l.startsWith("{") || l.contains(" call req")).toList();
    }

    @Test
    void jsonFormatWritesOneParseableLinePerCallWithNeitherKeyNorPrompt() throws Exception {
        String log = runCalls("logging: {format: json}");
        List<String> lines = log.lines().filter(l -> l.startsWith("{")).toList();
        assertEquals(2, lines.size(), log);
        ObjectMapper json = new ObjectMapper();
        for (String line : lines) {
            JsonNode n = json.readTree(line);
            for (String field : List.of("time", "request_id", "team", "key_id", "model", "requested_model", "status",
                    "http_status", "input_tokens", "output_tokens", "cost_usd", "latency_ms", "cache", "attempts",
                    "instance_id", "flags")) {
                assertTrue(n.has(field), field + " missing from " + line);
            }
            assertEquals("demo", n.get("team").asText());
            assertEquals("sim-small", n.get("model").asText());
            assertEquals("ok", n.get("status").asText());
            assertEquals(200, n.get("http_status").asInt());
            assertTrue(n.get("input_tokens").asLong() > 0, line);
            assertTrue(n.get("output_tokens").asLong() > 0, line);
            assertTrue(n.get("cost_usd").isNumber(), line);
            assertTrue(n.get("latency_ms").isNumber(), line);
            assertTrue(n.get("request_id").asText().startsWith("req"), line);
            assertEquals("task-1", n.get("task_id").asText());
            assertTrue(n.get("flags").isArray(), line);
        }
        // The ready block shows the demo key on purpose; the access lines show no key, and nothing shows the prompt.
        for (String secret : List.of("tw-demo-key", "tw-admin-secret", "Bluebird", "quarterly")) {
            assertFalse(String.join("\n", lines).contains(secret), "the access log shows " + secret);
        }
        assertFalse(log.contains("Bluebird"), log);
        assertTrue(log.contains("Tokenwise is ready."), "the ready block stays readable text:\n" + log);
    }

    @Test
    void byDefaultEachCallIsOneHumanReadableLineAndStartUpOutputIsUnchanged() throws Exception {
        String log = runCalls("");
        List<String> lines = accessLines(log);
        assertEquals(2, lines.size(), log);
        for (String line : lines) {
            assertTrue(line.matches("\\d{4}-\\d\\d-\\d\\dT[0-9:.]+Z call req\\S* team=demo key=\\S+ model=sim-small"
                    + " status=ok http=200 in=\\d+ out=\\d+ cost=\\$[0-9.]+ latency_ms=\\d+\\.\\d cache=- attempts=1"
                    + " flags=\\S+"), line);
        }
        assertFalse(log.lines().anyMatch(l -> l.startsWith("{")), log);
        assertFalse(String.join("\n", lines).contains("tw-demo-key") || log.contains("Bluebird"), log);
        assertTrue(log.contains("Tokenwise is ready."), log);
    }
}
