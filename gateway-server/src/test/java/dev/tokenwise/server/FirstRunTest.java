package dev.tokenwise.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A newcomer's first start, as {@code bin/gateway} runs it (its own JVM, {@code Main}): with no admin key in the
 * config the gateway makes one, keeps it owner-only beside the ledger and uses it from then on, never logs it, and ends
 * its start-up with a block a person reads.
 */
class FirstRunTest {
    @TempDir
    Path dir;

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    private record Running(Process process, int port, Path log) {
        void stop() throws InterruptedException {
            process.destroy();
            process.waitFor(15, TimeUnit.SECONDS);
        }
    }

    private Running start(String admin) throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Path catalog = Path.of("..", "config", "prices.yaml").toAbsolutePath().normalize();
        Path config = dir.resolve("gateway.yaml");
        Files.writeString(config, """
                server: {host: 127.0.0.1, port: %d}
                %s
                storage: {path: "%s"}
                pricing: {catalog: "%s"}
                providers:
                  sim: {type: simulator, chunk_delay_ms: 1}
                models:
                  - {name: sim-small, provider: sim}
                teams:
                  - name: demo
                    keys: [{key: tw-demo-key, name: demo-key}]
                """.formatted(port, admin, dir.resolve("data/tokenwise.db"), catalog));
        Path log = dir.resolve("gateway-" + System.nanoTime() + ".log");
        return new Running(GatewayProcess.start(config, log, URI.create("http://127.0.0.1:" + port)), port, log);
    }

    private int get(Running gateway, String path, String key) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gateway.port() + path))
                .timeout(Duration.ofSeconds(10)).header("Authorization", "Bearer " + key).GET().build(),
                HttpResponse.BodyHandlers.ofString()).statusCode();
    }

    private static String waitForLog(Path log, String text) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        String content = Files.readString(log);
        while (!content.contains(text) && System.nanoTime() < deadline) {
            Thread.sleep(50);
            content = Files.readString(log);
        }
        return content;
    }

    @Test
    void makesAnAdminKeyOnTheFirstStartKeepsItOwnerOnlyAndUsesItFromThenOn() throws Exception {
        Running first = start("");
        Path keyFile = dir.resolve("data/admin.key");
        String key;
        try {
            assertTrue(Files.exists(keyFile), "the key is kept beside the ledger");
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(keyFile)));
            key = Files.readString(keyFile).strip();
            assertTrue(key.matches("tw-admin-[0-9A-Za-z]{40}"), key);
            assertEquals(200, get(first, "/api/v1/teams", key), "the admin API takes it");
            assertEquals(403, get(first, "/api/v1/teams", "tw-demo-key"), "a team key is not the admin key");

            String log = waitForLog(first.log(), "Tokenwise is ready.");
            assertFalse(log.contains(key), "the key itself is never logged");
            assertTrue(log.contains("Tokenwise is ready."), log);
            assertTrue(log.contains("Dashboard:  http://127.0.0.1:" + first.port() + "/dashboard"), log);
            assertTrue(log.contains("cat " + keyFile.toAbsolutePath()), log);
            assertTrue(log.contains("Demo key:   tw-demo-key  (team demo)"), log);
            assertTrue(log.contains("Try:        curl -s http://127.0.0.1:" + first.port() + "/v1/chat/completions"), log);
            assertTrue(log.contains("sim-small are answered by the built-in SIMULATOR"), log);
        } finally {
            first.stop();
        }

        Running again = start("");
        try {
            assertEquals(key, Files.readString(keyFile).strip(), "the same key on every later start");
            assertEquals(200, get(again, "/api/v1/teams", key));
            assertTrue(waitForLog(again.log(), "read from").contains("Admin key read from " + keyFile.toAbsolutePath()));
        } finally {
            again.stop();
        }

        Running configured = start("admin: {key: tw-admin-chosen-in-the-config}");
        try {
            assertEquals(200, get(configured, "/api/v1/teams", "tw-admin-chosen-in-the-config"), "the config wins");
            assertEquals(401, get(configured, "/api/v1/teams", key));
        } finally {
            configured.stop();
        }
    }

    @Test
    void makesNoKeyAndKeepsTheAdminApiOffWhenTheConfigSaysOff() throws Exception {
        Running off = start("admin: {key: off}");
        try {
            assertFalse(Files.exists(dir.resolve("data/admin.key")));
            assertEquals(403, get(off, "/api/v1/teams", "off"), "'off' is no key");
            assertTrue(waitForLog(off.log(), "Dashboard:")
                    .contains("Dashboard:  http://127.0.0.1:" + off.port() + "/dashboard  (team keys only: admin.key is off)"));
        } finally {
            off.stop();
        }
    }
}
