package dev.tokenwise.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tokenwise.metrics.ledger.GroupBy;
import dev.tokenwise.metrics.ledger.Ledger;
import dev.tokenwise.metrics.ledger.SqliteLedger;
import dev.tokenwise.metrics.ledger.UsageRow;
import java.io.IOException;
import java.math.BigDecimal;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A gateway in a separate JVM, killed with SIGKILL under load: the ledger keeps every call settled before. */
class CrashDurabilityTest {
    private static final String CHAT = "{\"model\":\"sim-small\",\"max_tokens\":20,"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"Count to three.\"}]}";
    private static final long MARGIN_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    /**
     * Client threads. Two keep the gateway busy without starving its ledger writer of the machine's two
     * cores (the clients run in this JVM, on the same cores).
     */
    private static final int CLIENTS = 2;

    record Completed(String id, long atNanos) {
    }

    /**
     * {@code normal}: every call completed more than 100 ms before the kill is in the ledger;
     * {@code strict}: every call completed before the kill is (its last bytes waited for the commit).
     */
    @ParameterizedTest(name = "storage.sync {0}")
    @ValueSource(strings = {"normal", "strict"})
    @Timeout(90)
    void keepsEveryCallCompletedBeforeAKillNineInTheLedger(String sync, @TempDir Path dir) throws Exception {
        Path ledgerFile = dir.resolve("ledger.db").toAbsolutePath();
        killNineUnderLoad(sync, dir, "path: \"" + ledgerFile + "\"",
                () -> SqliteLedger.open(ledgerFile, SqliteLedger.Sync.NORMAL));
    }

    /**
     * Runs a gateway process on the ledger {@code storage} names (the YAML inside {@code storage: {...}}), kills it
     * with SIGKILL under load, checks that {@code openLedger} finds every call completed before the kill (100 ms
     * before with {@code sync: normal}), then restarts the gateway and checks that the team's spend is restored from
     * the ledger.
     */
    static void killNineUnderLoad(String sync, Path dir, String storage, Supplier<Ledger> openLedger) throws Exception {
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(2)).build();
        long marginNanos = "strict".equals(sync) ? 0 : MARGIN_NANOS;
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Path catalog = Path.of("..", "config", "prices.yaml").toAbsolutePath().normalize();
        assertTrue(Files.isRegularFile(catalog), "price catalog at " + catalog);
        Path config = dir.resolve("gateway.yaml");
        Files.writeString(config, """
                server: {host: 127.0.0.1, port: %d}
                admin: {key: %s}
                storage: {%s, sync: %s}
                pricing: {catalog: "%s"}
                providers:
                  sim: {type: simulator, chunk_delay_ms: 1, first_token_delay_ms: 1}
                models:
                  - {name: sim-small, provider: sim}
                teams:
                  - name: demo
                    budget: {limit_usd: 1000, period: daily}
                    keys: [{key: tw-test-key, name: demo-key}]
                """.formatted(port, TestGateway.ADMIN_KEY, storage, sync, catalog));
        URI base = URI.create("http://127.0.0.1:" + port);

        Process gateway = GatewayProcess.start(config, dir.resolve("gateway-1.log"), base);
        Process restarted = null;
        try {
            // Load from the client threads; kill -9 while it runs.
            ConcurrentLinkedQueue<Completed> completed = new ConcurrentLinkedQueue<>();
            ConcurrentLinkedQueue<String> unexpected = new ConcurrentLinkedQueue<>();
            AtomicBoolean stop = new AtomicBoolean();
            List<Thread> clients = new ArrayList<>();
            for (int t = 0; t < CLIENTS; t++) {
                Thread client = new Thread(() -> {
                    while (!stop.get()) {
                        try {
                            HttpResponse<String> r = http.send(HttpRequest.newBuilder(base.resolve("/v1/chat/completions"))
                                    .timeout(Duration.ofSeconds(5))
                                    .header("Content-Type", "application/json")
                                    .header("Authorization", "Bearer tw-test-key")
                                    .POST(HttpRequest.BodyPublishers.ofString(CHAT)).build(),
                                    HttpResponse.BodyHandlers.ofString());
                            long at = System.nanoTime();
                            if (r.statusCode() == 200) {
                                completed.add(new Completed(r.headers().firstValue("x-request-id").orElseThrow(), at));
                            } else if (unexpected.size() < 5) {
                                unexpected.add(r.statusCode() + " " + r.body());
                            }
                        } catch (IOException e) {
                            // Expected once the gateway is killed.
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                }, "crash-client-" + t);
                client.setDaemon(true);
                client.start();
                clients.add(client);
            }
            // Two seconds of load, longer (up to 30 s) until 200 calls have completed: a loaded machine is slow.
            Thread.sleep(2_000);
            long loadDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(28);
            while (completed.size() < 200 && System.nanoTime() < loadDeadline) {
                Thread.sleep(100);
            }
            long killedAt = System.nanoTime();
            gateway.toHandle().destroyForcibly();
            assertTrue(gateway.waitFor(10, TimeUnit.SECONDS), "the killed gateway exits");
            stop.set(true);
            for (Thread client : clients) {
                client.join(10_000);
            }
            assertTrue(unexpected.isEmpty(), "non-200 answers before the kill: " + unexpected);

            List<Completed> all = List.copyOf(completed);
            assertTrue(all.size() > 50, "enough calls completed under load: " + all.size());
            long expectedCost;
            int checked = 0;
            int laterFound = 0;
            int later = 0;
            List<String> missing = new ArrayList<>();
            try (Ledger ledger = openLedger.get()) {
                for (Completed c : all) {
                    boolean found = ledger.find(c.id()).isPresent();
                    if (killedAt - c.atNanos() > marginNanos) {
                        checked++;
                        if (!found) {
                            missing.add(c.id() + " (" + TimeUnit.NANOSECONDS.toMillis(killedAt - c.atNanos()) + " ms before the kill)");
                        }
                    } else {
                        later++;
                        if (found) {
                            laterFound++;
                        }
                    }
                }
                List<UsageRow> rows = ledger.usage(GroupBy.TEAM, 0, Long.MAX_VALUE, "demo");
                expectedCost = rows.isEmpty() ? 0 : rows.get(0).costNanos();
                assertEquals(expectedCost, ledger.totalCostNanos(), "only team demo spent");
                System.out.printf("CrashDurabilityTest (" + storage.substring(0, storage.indexOf(':')) + ", " + sync + "): %d calls completed, %d checked (>%d ms before the kill), "
                        + "%d missing; %d later calls, %d of them also in the ledger; ledger rows for demo: %d, cost %d nano-USD%n",
                        all.size(), checked, TimeUnit.NANOSECONDS.toMillis(marginNanos), missing.size(), later, laterFound,
                        rows.isEmpty() ? 0 : rows.get(0).requests(), expectedCost);
            }
            assertTrue(checked > 0, "some calls completed before the kill");
            assertTrue(missing.isEmpty(), missing.size() + " of " + checked
                    + " calls completed before the kill (margin " + TimeUnit.NANOSECONDS.toMillis(marginNanos)
                    + " ms) are not in the ledger, e.g. "
                    + missing.subList(0, Math.min(5, missing.size())));

            // Restart on the same ledger: the budget's spend comes back, with nothing reserved.
            restarted = GatewayProcess.start(config, dir.resolve("gateway-2.log"), base);
            HttpResponse<String> team = http.send(HttpRequest.newBuilder(base.resolve("/api/v1/teams/demo"))
                    .timeout(Duration.ofSeconds(5))
                    .header("Authorization", "Bearer " + TestGateway.ADMIN_KEY).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, team.statusCode(), team.body());
            JsonNode demo = TestGateway.json(team.body());
            assertTrue(demo.get("spent_usd").isNumber(), "spent_usd is a number: " + team.body());
            assertEquals(expectedCost, demo.get("spent_usd").decimalValue().movePointRight(9).longValueExact(),
                    "the period's spend is restored from the ledger: " + team.body());
            assertEquals(0, demo.get("reserved_usd").decimalValue().compareTo(BigDecimal.ZERO),
                    "no reservation leaked: " + team.body());
        } finally {
            gateway.destroyForcibly();
            if (restarted != null) {
                restarted.destroyForcibly();
                restarted.waitFor(10, TimeUnit.SECONDS);
            }
        }
    }
}
