package dev.tokenwise.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.budget.Periods;
import dev.tokenwise.core.config.BudgetPeriod;
import dev.tokenwise.core.testing.PostgresServer;
import dev.tokenwise.core.testing.RedisServer;
import dev.tokenwise.metrics.ledger.PostgresLedger;
import dev.tokenwise.metrics.ledger.SqliteLedger;
import java.math.BigDecimal;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Cluster mode end to end: real gateway processes (each with its own SQLite ledger and simulator) sharing one real
 * redis-server.
 */
class ClusterEndToEndTest {
    private static final String CHAT = "{\"model\":\"sim-small\",\"max_tokens\":20,"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"Count to three.\"}]}";
    private static final String SLOW_CHAT = "{\"model\":\"sim-small\",\"max_tokens\":20,\"stream\":true,"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"Count to three.\"}]}";
    /** About ten calls' worst case: each reserves about $0.000014 (20 output tokens at $0.60/Mtok, plus input). */
    private static final String TEN_CALLS_USD = "0.00014";

    private static RedisServer redis;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();
    private final List<Process> processes = new ArrayList<>();

    @BeforeAll
    static void startRedis() {
        redis = RedisServer.start();
    }

    @AfterAll
    static void stopRedis() {
        redis.close();
    }

    @AfterEach
    void stopGateways() throws InterruptedException {
        for (Process p : processes) {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
        if (!redis.running()) {
            redis.restart();
        }
        redis.command("FLUSHALL"); // each test is a cluster of its own: no budget change or revocation carries over
    }

    private record Instance(URI base, Path ledger, Process process) {
    }

    private Instance start(Path dir, String name, String team, String limitUsd, String simulatorOptions,
                           long reservationTimeoutMs) throws Exception {
        return start(dir, name, team, limitUsd, simulatorOptions, reservationTimeoutMs, "{}");
    }

    private Instance start(Path dir, String name, String team, String limitUsd, String simulatorOptions,
                           long reservationTimeoutMs, String teamRateLimits) throws Exception {
        return start(dir, name, team, limitUsd, simulatorOptions, reservationTimeoutMs, teamRateLimits, "");
    }

    private Instance start(Path dir, String name, String team, String limitUsd, String simulatorOptions,
                           long reservationTimeoutMs, String teamRateLimits, String clusterOptions) throws Exception {
        return start(dir, name, team, limitUsd, simulatorOptions, reservationTimeoutMs, teamRateLimits, clusterOptions,
                List.of());
    }

    private Instance start(Path dir, String name, String team, String limitUsd, String simulatorOptions,
                           long reservationTimeoutMs, String teamRateLimits, String clusterOptions, List<String> jvmArgs)
            throws Exception {
        return start(dir, name, team, limitUsd, simulatorOptions, reservationTimeoutMs, teamRateLimits, clusterOptions,
                jvmArgs, null);
    }

    /** With {@code storage} (e.g. {@code {url: "jdbc:postgresql:..."}}) instead of a SQLite file of its own. */
    private Instance start(Path dir, String name, String team, String limitUsd, String simulatorOptions,
                           long reservationTimeoutMs, String teamRateLimits, String clusterOptions, List<String> jvmArgs,
                           String storage) throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Path ledger = dir.resolve(name + ".db").toAbsolutePath();
        Path catalog = Path.of("..", "config", "prices.yaml").toAbsolutePath().normalize();
        Path config = dir.resolve(name + ".yaml");
        Files.writeString(config, """
                server: {host: 127.0.0.1, port: %d}
                admin: {key: %s}
                instance_id: %s
                cluster: {redis_url: "%s"%s}
                storage: %s
                pricing: {catalog: "%s"}
                budgets: {reservation_timeout_ms: %d}
                providers:
                  sim: {type: simulator, %s}
                models:
                  - {name: sim-small, provider: sim}
                teams:
                  - name: %s
                    budget: {limit_usd: %s, period: daily}
                    rate_limits: %s
                    keys: [{key: tw-test-key, name: demo-key}]
                """.formatted(port, TestGateway.ADMIN_KEY, name, redis.url(), clusterOptions,
                storage != null ? storage : "{path: \"" + ledger + "\"}", catalog, reservationTimeoutMs,
                simulatorOptions, team, limitUsd, teamRateLimits));
        URI base = URI.create("http://127.0.0.1:" + port);
        Process p = GatewayProcess.start(config, dir.resolve(name + ".log"), base, jvmArgs);
        processes.add(p);
        return new Instance(base, ledger, p);
    }

    private CompletableFuture<HttpResponse<String>> call(Instance on, String body) {
        return call(on, body, "tw-test-key");
    }

    private CompletableFuture<HttpResponse<String>> call(Instance on, String body, String key) {
        return http.sendAsync(HttpRequest.newBuilder(on.base.resolve("/v1/chat/completions"))
                .timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json")
                .header("Authorization", "Bearer " + key)
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private JsonNode get(Instance on, String path) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(on.base.resolve(path))
                .timeout(Duration.ofSeconds(5)).header("Authorization", "Bearer " + TestGateway.ADMIN_KEY).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        return TestGateway.JSON.readTree(r.body());
    }

    private long spentNanos(Instance on, String team) throws Exception {
        JsonNode spent = get(on, "/api/v1/teams/" + team).path("spent_usd");
        return spent.decimalValue().movePointRight(9).longValueExact();
    }

    @Test
    @Timeout(120)
    void twoInstancesOnOneRedisNeverSpendANanoPastTheTeamBudgetAndReportTheSameSpend(@TempDir Path dir)
            throws Exception {
        String team = "burst";
        Instance a = start(dir, "a", team, TEN_CALLS_USD, "chunk_delay_ms: 1", 60_000);
        Instance b = start(dir, "b", team, TEN_CALLS_USD, "chunk_delay_ms: 1", 60_000);
        List<CompletableFuture<HttpResponse<String>>> burst = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            burst.add(call(i % 2 == 0 ? a : b, CHAT));
        }
        List<String> served = new ArrayList<>();
        Map<Integer, Integer> statuses = new ConcurrentHashMap<>();
        for (CompletableFuture<HttpResponse<String>> f : burst) {
            HttpResponse<String> r = f.join();
            statuses.merge(r.statusCode(), 1, Integer::sum);
            if (r.statusCode() == 200) {
                served.add(r.headers().firstValue("x-request-id").orElseThrow());
            } else {
                assertEquals(402, r.statusCode(), r.body());
                assertTrue(r.body().contains("budget_exceeded"), r.body());
            }
        }
        assertTrue(served.size() >= 9, "about ten calls fit the budget: " + statuses);
        long limitNanos = new BigDecimal(TEN_CALLS_USD).movePointRight(9).longValueExact();

        // Both instances report the cluster's spend (read back from Redis about once a second).
        long deadline = System.currentTimeMillis() + 5_000;
        long spentA;
        long spentB;
        do {
            Thread.sleep(100);
            spentA = spentNanos(a, team);
            spentB = spentNanos(b, team);
        } while ((spentA != spentB || spentA == 0) && System.currentTimeMillis() < deadline);
        assertEquals(spentA, spentB, "both instances report the same spend");
        assertTrue(spentA <= limitNanos, "spent " + spentA + " of " + limitNanos + " nano-USD");

        // The ledgers (one per instance until they share one) hold every served call; their sum is what Redis holds.
        for (Instance i : List.of(a, b)) {
            i.process.destroy();
            assertTrue(i.process.waitFor(20, TimeUnit.SECONDS), "graceful shutdown");
        }
        long booked = 0;
        int found = 0;
        for (Instance i : List.of(a, b)) {
            try (SqliteLedger ledger = SqliteLedger.open(i.ledger, SqliteLedger.Sync.NORMAL)) {
                for (String id : served) {
                    Optional<UsageRecord> record = ledger.find(id);
                    if (record.isPresent()) {
                        booked += record.get().costNanos();
                        found++;
                    }
                }
            }
        }
        assertEquals(served.size(), found, "every served call is in one ledger");
        assertTrue(booked <= limitNanos, "booked " + booked + " of " + limitNanos + " nano-USD: never a nano over");
        assertEquals(booked, spentA, "Redis's spend is the ledgers' spend");

        // A new instance with an empty ledger of its own takes this period's spend from Redis as it starts.
        Instance c = start(dir, "c", team, TEN_CALLS_USD, "chunk_delay_ms: 1", 60_000);
        assertEquals(spentA, spentNanos(c, team), "Redis is authoritative at start-up");
    }

    @Test
    @Timeout(120)
    void refusesWithin2sWhileRedisIsDownSaysDegradedAndRecoversWhenItIsBack(@TempDir Path dir) throws Exception {
        Instance a = start(dir, "a", "down", "100", "chunk_delay_ms: 1", 60_000);
        assertEquals(200, call(a, CHAT).join().statusCode());
        assertEquals("ok", get(a, "/healthz").path("status").asText());
        redis.stop();
        long started = System.nanoTime();
        // A call the instance admits before it notices the connection is gone is admitted against the budget slice
        // it holds (reserved in Redis: still exact); once it knows, calls are refused.
        HttpResponse<String> refused;
        do {
            refused = call(a, CHAT).join();
        } while (refused.statusCode() == 200 && System.nanoTime() - started < TimeUnit.SECONDS.toNanos(2));
        long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        assertEquals(503, refused.statusCode(), refused.body());
        JsonNode error = TestGateway.JSON.readTree(refused.body()).path("error");
        assertEquals("budget_unavailable", error.path("type").asText());
        assertEquals("budget_unavailable", error.path("code").asText());
        assertTrue(tookMillis < 2_000, "refused after " + tookMillis + " ms");
        JsonNode health = awaitHealth(a, "degraded");
        assertEquals("a", health.path("instance_id").asText());
        assertEquals(false, health.path("cluster").path("redis_up").asBoolean());
        assertTrue(metrics(a).contains("tokenwise_cluster_redis_up 0.0"), "the metric says Redis is down");

        redis.restart();
        awaitHealth(a, "ok");
        long deadline = System.currentTimeMillis() + 5_000;
        int status;
        do {
            status = call(a, CHAT).join().statusCode();
        } while (status != 200 && System.currentTimeMillis() < deadline);
        assertEquals(200, status, "calls are admitted again once Redis is back");
        assertTrue(metrics(a).contains("tokenwise_cluster_redis_up 1.0"));
        deadline = System.currentTimeMillis() + 3_000;
        String log;
        do {
            Thread.sleep(50);
            log = Files.readString(dir.resolve("a.log"));
        } while (!log.contains("is reachable again") && System.currentTimeMillis() < deadline);
        assertEquals(1, count(log, "is unreachable ("), "one log line says Redis went away:\n" + log);
        assertEquals(1, count(log, "is reachable again"), "one says it is back");
    }

    private static int count(String text, String part) {
        int n = 0;
        for (int i = text.indexOf(part); i >= 0; i = text.indexOf(part, i + 1)) {
            n++;
        }
        return n;
    }

    private String metrics(Instance on) throws Exception {
        return http.send(HttpRequest.newBuilder(on.base.resolve("/metrics"))
                .header("Authorization", "Bearer " + TestGateway.ADMIN_KEY).GET().build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }

    private JsonNode awaitHealth(Instance on, String status) throws Exception {
        long deadline = System.currentTimeMillis() + 5_000;
        JsonNode health;
        do {
            health = get(on, "/healthz");
            if (status.equals(health.path("status").asText())) {
                return health;
            }
            Thread.sleep(50);
        } while (System.currentTimeMillis() < deadline);
        fail("/healthz never said " + status + ": " + health);
        return health;
    }

    @Test
    @Timeout(120)
    void theReservationsOfAKilledInstanceComeBackAfterTheReservationTimeout(@TempDir Path dir) throws Exception {
        String team = "killed";
        long timeoutMs = 3_000;
        Instance a = start(dir, "a", team, TEN_CALLS_USD, "chunk_delay_ms: 1", timeoutMs);
        // b answers slowly: its calls hold their reservations until it is killed.
        Instance b = start(dir, "b", team, TEN_CALLS_USD, "first_token_delay_ms: 60000", timeoutMs);
        List<CompletableFuture<HttpResponse<String>>> held = new ArrayList<>();
        for (int i = 0; i < 15; i++) {
            held.add(call(b, SLOW_CHAT));
        }
        long deadline = System.currentTimeMillis() + 10_000;
        HttpResponse<String> refused;
        do {
            Thread.sleep(100);
            refused = call(a, CHAT).join();
        } while (refused.statusCode() != 402 && System.currentTimeMillis() < deadline);
        assertEquals(402, refused.statusCode(), "b's open calls hold the whole budget: " + refused.body());

        b.process.destroyForcibly(); // kill -9: its reservations are never settled nor cancelled
        assertTrue(b.process.waitFor(10, TimeUnit.SECONDS));
        long killedAt = System.currentTimeMillis();
        deadline = killedAt + timeoutMs + 5_000;
        int status;
        do {
            Thread.sleep(200);
            status = call(a, CHAT).join().statusCode();
        } while (status != 200 && System.currentTimeMillis() < deadline);
        assertEquals(200, status, "the dead instance's reservations came back after the timeout");
        held.forEach(f -> f.cancel(true));
    }

    /**
     * The gap a {@code kill -9} leaves, closed from the shared ledger: instance a books its slice's calls late (a
     * minute of {@code booking_delay_ms}), serves calls, and is killed before any of them is booked in Redis. After
     * the reservation timeout its slice comes back to the team; b books a's spend from PostgreSQL, so Redis's spend
     * for the team is the ledger's, and b's calls stop (402) before the ledger passes the limit.
     */
    @Test
    @Timeout(180)
    void whatAKilledInstanceHadNotBookedInRedisIsBookedFromTheSharedLedgerSoTheBudgetHolds(@TempDir Path dir)
            throws Exception {
        String team = "reconciled";
        long timeoutMs = 2_000;
        long limitNanos = new BigDecimal(TEN_CALLS_USD).movePointRight(9).longValueExact();
        try (PostgresServer postgres = PostgresServer.start()) {
            String url = postgres.createDatabase();
            String storage = "{url: \"" + url + "\"}";
            Instance a = start(dir, "a", team, TEN_CALLS_USD, "chunk_delay_ms: 1", timeoutMs, "{}",
                    ", lease_percent: 50, booking_delay_ms: 60000", List.of(), storage);
            Instance b = start(dir, "b", team, TEN_CALLS_USD, "chunk_delay_ms: 1", timeoutMs, "{}", "", List.of(),
                    storage);
            for (int i = 0; i < 5; i++) {
                HttpResponse<String> r = call(a, CHAT).join();
                assertEquals(200, r.statusCode(), r.body());
                Thread.sleep(50); // the first call's lease is in place for the next ones
            }
            String window = "tw:{" + team + "}:budget:team:daily:"
                    + Periods.startMillis(BudgetPeriod.DAILY, System.currentTimeMillis(), ZoneOffset.UTC);
            long bookedBeforeKill = redisSpent(window);
            Thread.sleep(500); // every call completed more than 100 ms before the kill is in PostgreSQL
            a.process.destroyForcibly(); // kill -9: its slice's bookings never leave
            assertTrue(a.process.waitFor(10, TimeUnit.SECONDS));
            long aSpent;
            try (PostgresLedger ledger = PostgresLedger.open(url, SqliteLedger.Sync.NORMAL)) {
                aSpent = ledger.teamSpentNanos(team, 0);
            }
            assertTrue(aSpent > bookedBeforeKill, "a's calls against its slice were not booked in Redis before the kill:"
                    + " ledger " + aSpent + ", Redis " + bookedBeforeKill);

            Thread.sleep(timeoutMs + 500); // a's slice is past its deadline: b's next script reclaims it
            int served = 0;
            HttpResponse<String> last = null;
            for (int i = 0; i < 40; i++) {
                last = call(b, CHAT).join();
                if (last.statusCode() != 200) {
                    break;
                }
                served++;
                Thread.sleep(150); // b's refresh (once a second) reconciles a's spend meanwhile
            }
            assertEquals(402, last.statusCode(), "b stops once the team's budget is spent: " + last.body());
            assertTrue(last.body().contains("budget_exceeded"), last.body());

            long deadline = System.currentTimeMillis() + 10_000;
            long ledgerSpent;
            long redisSpent;
            do {
                Thread.sleep(200);
                try (PostgresLedger ledger = PostgresLedger.open(url, SqliteLedger.Sync.NORMAL)) {
                    ledgerSpent = ledger.teamSpentNanos(team, 0);
                }
                redisSpent = redisSpent(window);
            } while (ledgerSpent != redisSpent && System.currentTimeMillis() < deadline);
            assertEquals(ledgerSpent, redisSpent, "Redis's spend for the team is the shared ledger's (b served "
                    + served + " calls)");
            assertTrue(ledgerSpent <= limitNanos, "spent " + ledgerSpent + " of " + limitNanos
                    + " nano-USD: never a nano over");
            b.process.destroy();
            assertTrue(b.process.waitFor(20, TimeUnit.SECONDS), "graceful shutdown");
        }
    }

    private static long redisSpent(String window) {
        String v = redis.command("HGET", window, "spent");
        return v == null || v.isEmpty() ? 0 : Long.parseLong(v);
    }

    @Test
    @Timeout(120)
    void aKeyABudgetAKeysBudgetARateLimitAndARevocationMadeOnOneInstanceHoldOnTheOtherWithinASecond(@TempDir Path dir)
            throws Exception {
        String team = "admin";
        Instance a = start(dir, "a", team, "100", "chunk_delay_ms: 1", 60_000);
        Instance b = start(dir, "b", team, "100", "chunk_delay_ms: 1", 60_000);
        assertEquals(200, call(b, CHAT).join().statusCode());

        HttpResponse<String> created = admin(a, "POST", "/api/v1/teams/" + team + "/keys", "{\"name\": \"ci\"}");
        assertEquals(201, created.statusCode(), created.body());
        String secret = TestGateway.JSON.readTree(created.body()).path("key").asText();
        assertAnswersWithin(1_000, b, secret, 200, "the key made on one instance works on the other");

        assertEquals(200, admin(a, "PUT", "/api/v1/teams/" + team + "/budget",
                "{\"limit_usd\": 0.000001, \"period\": \"daily\"}").statusCode());
        assertAnswersWithin(1_000, b, "tw-test-key", 402, "the new budget holds on the other instance");

        // A call the budget refuses gives its request back (as on a single node): lift the budget again so that the
        // calls below reach the rate limit.
        assertEquals(200, admin(a, "PUT", "/api/v1/teams/" + team + "/budget",
                "{\"limit_usd\": 100, \"period\": \"daily\"}").statusCode());
        assertAnswersWithin(3_000, b, "tw-test-key", 200, "the budget lifted again on the other instance");

        // A key's own budget, set after the key was made, then removed.
        assertEquals(200, admin(a, "PUT", "/api/v1/keys/ci/budget",
                "{\"limit_usd\": 0.000001, \"period\": \"daily\"}").statusCode());
        assertAnswersWithin(1_000, b, secret, 402, "the key's new budget holds on the other instance");
        assertEquals(200, call(b, CHAT).join().statusCode(), "while its team still has money");
        assertEquals(200, admin(a, "DELETE", "/api/v1/keys/ci/budget", null).statusCode());
        assertAnswersWithin(1_000, b, secret, 200, "the key's budget removed on the other instance");

        assertEquals(200, admin(a, "PUT", "/api/v1/teams/" + team + "/rate_limits",
                "{\"requests_per_minute\": 1}").statusCode());
        assertAnswersWithin(1_000, b, "tw-test-key", 429, "the new rate limit holds on the other instance");

        assertEquals(200, admin(a, "DELETE", "/api/v1/keys/ci", null).statusCode());
        assertAnswersWithin(1_000, b, secret, 401, "the revoked key is refused on the other instance");
    }

    @Test
    @Timeout(120)
    void aRevocationAndABudgetMadeWhileRedisIsDownHoldOnTheOtherInstanceOnceRedisIsBack(@TempDir Path dir)
            throws Exception {
        String team = "outage";
        Instance a = start(dir, "a", team, "100", "chunk_delay_ms: 1", 60_000);
        Instance b = start(dir, "b", team, "100", "chunk_delay_ms: 1", 60_000);
        HttpResponse<String> created = admin(a, "POST", "/api/v1/teams/" + team + "/keys", "{\"name\": \"ops\"}");
        assertEquals(201, created.statusCode(), created.body());
        String secret = TestGateway.JSON.readTree(created.body()).path("key").asText();
        assertAnswersWithin(2_000, b, secret, 200, "the key made on one instance works on the other");

        redis.stop(); // a restart without persistence: Redis comes back empty, its version counter at 0 again
        awaitHealth(a, "degraded");
        assertEquals(200, admin(a, "DELETE", "/api/v1/keys/ops", null).statusCode(),
                "the admin API takes a revocation while Redis is down");
        assertEquals(200, admin(a, "PUT", "/api/v1/teams/" + team + "/budget",
                "{\"limit_usd\": 0.000001, \"period\": \"daily\"}").statusCode());
        assertEquals(401, call(a, CHAT, secret).join().statusCode(), "refused at once where it was revoked");

        redis.restart();
        awaitHealth(a, "ok");
        awaitHealth(b, "ok");
        assertAnswersWithin(2_000, b, secret, 401, "the key revoked while Redis was down is refused on the other instance");
        assertAnswersWithin(1_000, b, "tw-test-key", 402, "the budget set while Redis was down holds on the other instance");
    }

    /**
     * Calls {@code on} with {@code key} until it answers {@code expected} (at most three times {@code withinMillis}),
     * and asserts it did within {@code withinMillis}: how long a change made on one instance took to hold on another.
     */
    private void assertAnswersWithin(long withinMillis, Instance on, String key, int expected, String what)
            throws Exception {
        long started = System.nanoTime();
        int status;
        do {
            status = call(on, CHAT, key).join().statusCode();
        } while (status != expected && System.nanoTime() - started < TimeUnit.MILLISECONDS.toNanos(3 * withinMillis));
        long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        assertEquals(expected, status, what);
        assertTrue(tookMillis < withinMillis, what + ": after " + tookMillis + " ms");
    }

    private HttpResponse<String> admin(Instance on, String method, String path, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(on.base.resolve(path)).timeout(Duration.ofSeconds(5))
                .header("Authorization", "Bearer " + TestGateway.ADMIN_KEY).header("Content-Type", "application/json")
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    @Timeout(120)
    void aTeamLimitedToTenRequestsAMinuteGetsTenAcrossBothInstances(@TempDir Path dir) throws Exception {
        String team = "paced";
        Instance a = start(dir, "a", team, "100", "chunk_delay_ms: 1", 60_000, "{requests_per_minute: 10}");
        Instance b = start(dir, "b", team, "100", "chunk_delay_ms: 1", 60_000, "{requests_per_minute: 10}");
        Map<Integer, Integer> statuses = new ConcurrentHashMap<>();
        String refusal = null;
        for (int i = 0; i < 20; i++) {
            HttpResponse<String> r = call(i % 2 == 0 ? a : b, CHAT).join();
            statuses.merge(r.statusCode(), 1, Integer::sum);
            if (r.statusCode() == 429) {
                refusal = r.body();
                assertTrue(r.headers().firstValue("retry-after").isPresent(), "Retry-After on a 429");
            }
        }
        assertEquals(Map.of(200, 10, 429, 10), statuses, "ten in the minute across both instances, not ten each");
        assertTrue(refusal.contains("rate_limit_exceeded") && refusal.contains("across all instances"), refusal);
    }

    @Test
    @Timeout(120)
    void aTeamLimitedToNTokensAMinuteGetsNAcrossBothInstances(@TempDir Path dir) throws Exception {
        String team = "metered";
        long perMinute = 400;
        Instance a = start(dir, "a", team, "100", "chunk_delay_ms: 1", 60_000, "{tokens_per_minute: 400}");
        Instance b = start(dir, "b", team, "100", "chunk_delay_ms: 1", 60_000, "{tokens_per_minute: 400}");
        long used = 0;
        int admitted = 0;
        int refused = 0;
        String refusal = null;
        long startedNanos = System.nanoTime();
        for (int i = 0; i < 40; i++) {
            HttpResponse<String> r = call(i % 2 == 0 ? a : b, CHAT).join();
            if (r.statusCode() == 200) {
                admitted++;
                used += TestGateway.JSON.readTree(r.body()).path("usage").path("total_tokens").asLong();
            } else {
                assertEquals(429, r.statusCode(), r.body());
                refused++;
                refusal = r.body();
            }
        }
        // GCRA: a minute's worth at once, then the limit's pace (what flowed back while the calls ran).
        long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startedNanos);
        long allowed = perMinute + (perMinute * elapsedMs + 59_999) / 60_000;
        assertTrue(elapsedMs < 20_000, "the calls took " + elapsedMs + " ms");
        assertTrue(used <= allowed, used + " tokens used across both instances in " + elapsedMs + " ms, limit "
                + perMinute + " a minute");
        assertTrue(refused > 0 && admitted > 0, admitted + " admitted, " + refused + " refused");
        // Each call reserves at most 20 output tokens plus its input bound (well under 100) and settles to what it used:
        // a shared limit leaves less than one call's reservation unused, two local ones would admit twice as many.
        assertTrue(used > perMinute - 100, used + " tokens used: the limit was not shared but split");
        assertTrue(refusal.contains("tokens per minute across all instances"), refusal);
    }

    private long reservedNanos(Instance on, String team) throws Exception {
        return get(on, "/api/v1/teams/" + team).path("reserved_usd").decimalValue().movePointRight(9).longValueExact();
    }

    @Test
    @Timeout(120)
    void withLocalShareAnInstanceAdmitsWithinTheSliceItHoldsWhileRedisIsDownThenRecovers(@TempDir Path dir)
            throws Exception {
        String team = "sharing";
        // The slice is held for 30 s without calls (1 s by default), so that a loaded machine's pauses between the
        // steps below do not see it given back before Redis stops.
        Instance a = start(dir, "a", team, "0.0014", "chunk_delay_ms: 1", 60_000, "{}",
                ", on_redis_down: local_share, lease_percent: 50", List.of("-Dtokenwise.cluster.slice_idle_ms=30000"));
        assertEquals(200, call(a, CHAT).join().statusCode()); // reserves in Redis and leases a slice behind it
        long deadline = System.currentTimeMillis() + 5_000;
        long held;
        // The slice: half of what was free, far more than the first call's own reservation (a hundredth of the limit).
        while ((held = reservedNanos(a, team)) < new BigDecimal(TEN_CALLS_USD).movePointRight(9).longValueExact()) {
            assertTrue(System.currentTimeMillis() < deadline, "no slice leased");
            Thread.sleep(50);
        }
        long spentBefore = spentNanos(a, team);
        assertEquals(200, call(a, CHAT).join().statusCode());
        redis.stop();
        int admitted = 0;
        HttpResponse<String> refused = null;
        for (int i = 0; i < 400 && refused == null; i++) {
            HttpResponse<String> r = call(a, CHAT).join();
            if (r.statusCode() == 200) {
                admitted++;
            } else {
                refused = r;
            }
        }
        assertTrue(admitted > 0, "nothing admitted against the slice held of " + held + ": " + refused.body());
        assertEquals(503, refused.statusCode(), refused.body());
        assertTrue(refused.body().contains("budget_unavailable") && refused.body().contains("local_share"),
                refused.body());
        long spentDuring = spentNanos(a, team) - spentBefore; // the call before the stop included: the slice paid it
        assertTrue(spentDuring <= held, "spent " + spentDuring + " nano-USD while Redis was down, the slice held "
                + held);
        assertEquals("degraded", get(a, "/healthz").path("status").asText());

        redis.restart();
        awaitHealth(a, "ok");
        deadline = System.currentTimeMillis() + 5_000;
        int status;
        do {
            status = call(a, CHAT).join().statusCode();
        } while (status != 200 && System.currentTimeMillis() < deadline);
        assertEquals(200, status, "calls are admitted again once Redis is back");
        long limit = new BigDecimal("0.0014").movePointRight(9).longValueExact();
        assertTrue(spentNanos(a, team) <= limit, "never past the limit");
    }
}
