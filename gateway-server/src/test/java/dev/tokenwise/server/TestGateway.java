package dev.tokenwise.server;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenwise.core.config.GatewayConfig;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.spi.UsageSink;
import dev.tokenwise.providers.pricing.YamlPriceCatalog;
import dev.tokenwise.server.config.ConfigLoader;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/** A real gateway on a random port, configured from YAML, plus a plain HTTP client to call it. */
final class TestGateway implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper()
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);
    static final String ADMIN_KEY = "tw-admin-test";

    final GatewayApp app;
    final List<UsageRecord> sunk = new CopyOnWriteArrayList<>();
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    TestGateway(GatewayConfig config) throws InterruptedException {
        this(config, List.of());
    }

    /** A gateway whose records also go to {@code sinks}, after {@link #sunk}. */
    TestGateway(GatewayConfig config, List<UsageSink> sinks) throws InterruptedException {
        List<UsageSink> all = new java.util.ArrayList<>();
        all.add(sunk::add);
        all.addAll(sinks);
        this.app = GatewayApp.start(config, all);
    }

    /** Team {@code demo} ($5 a day) with key {@code tw-test-key}, team {@code other} with key {@code tw-other-key}. */
    static final String DEFAULT_TEAMS = """
            teams:
              - name: demo
                budget: {limit_usd: 5, period: daily}
                keys: [{key: tw-test-key, name: demo-key}]
              - name: other
                keys: [{key: tw-other-key, name: other-key}]
            """;

    /** Each gateway gets its own ledger file, so no test sees another's teams, keys or spend. */
    static String freshLedgerPath() {
        return "target/test-ledgers/" + java.util.UUID.randomUUID() + ".db";
    }

    static TestGateway start(String providersAndModels) throws InterruptedException {
        return start(providersAndModels, DEFAULT_TEAMS);
    }

    /** Starts a gateway from YAML: fixed server/admin/pricing sections plus the given providers, models and teams. */
    static TestGateway start(String providersAndModels, String teams) throws InterruptedException {
        String yaml = """
                server: {host: 127.0.0.1, port: 0, max_request_bytes: 65536, max_header_bytes: 8192}
                admin: {key: %s}
                storage: {path: %s}
                pricing: {catalog: ../config/prices.yaml}
                %s
                %s
                """.formatted(ADMIN_KEY, freshLedgerPath(), providersAndModels, teams);
        return fromYaml(yaml);
    }

    /** Starts a gateway from a whole configuration, parsed with an empty environment and the shipped price catalog. */
    static TestGateway fromYaml(String yaml) throws InterruptedException {
        return new TestGateway(ConfigLoader.parse(yaml, Path.of("."), Map.of(), YamlPriceCatalog::load));
    }

    static TestGateway withSimulator() throws InterruptedException {
        return start("""
                providers:
                  sim: {type: simulator, chunk_delay_ms: 2, first_token_delay_ms: 5}
                models:
                  - {name: sim-small, provider: sim}
                  - {name: sim-embed, provider: sim}
                """);
    }

    URI uri(String path) {
        return URI.create("http://127.0.0.1:" + app.port() + path);
    }

    HttpResponse<String> post(String path, String key, String body, String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(20))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        if (headers.length > 0) {
            b.headers(headers);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> send(String method, String path, String key, String body) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(20))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            b.header("Content-Type", "application/json");
        }
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> get(String path, String key) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(20)).GET();
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The record of a call, as the API returns it. */
    JsonNode record(HttpResponse<?> response) throws IOException, InterruptedException {
        return record(response.headers().firstValue("x-request-id").orElseThrow());
    }

    /** The usage record of call {@code id}, through the admin API. */
    JsonNode record(String id) throws IOException, InterruptedException {
        HttpResponse<String> r = get("/api/v1/requests/" + id, ADMIN_KEY);
        assertTrue(r.statusCode() == 200, "record lookup: " + r.statusCode() + " " + r.body());
        return JSON.readTree(r.body());
    }

    /**
     * Waits until every call begun so far has settled (a call is booked just after its response) and the
     * sinks have seen its record.
     */
    void awaitSinks() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (app.accounting().inFlightCount() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(2);
        }
        assertTrue(app.accounting().dispatcher().awaitDrained(10, TimeUnit.SECONDS));
    }

    /**
     * Waits until every call begun so far is committed to the ledger: settled, handed to the ledger by the
     * record dispatcher (which naps between polls) and written. {@code ledger().flush} alone covers only the
     * records the ledger has already accepted.
     */
    void flushLedger() throws InterruptedException {
        awaitSinks();
        assertTrue(app.ledger().flush(Duration.ofSeconds(10)), "ledger flush");
    }

    /** The first sunk record matching {@code match}, waiting up to 10 s for it to settle and reach the sinks. */
    UsageRecord awaitRecord(java.util.function.Predicate<UsageRecord> match) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            for (UsageRecord r : sunk) {
                if (match.test(r)) {
                    return r;
                }
            }
            Thread.sleep(5);
        }
        throw new AssertionError("no matching record among " + sunk.size());
    }

    /** The first {@code n} sunk records, waiting up to 10 s for them. */
    List<UsageRecord> awaitRecords(int n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (sunk.size() < n && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertTrue(sunk.size() >= n, "expected " + n + " records, got " + sunk.size());
        return List.copyOf(sunk.subList(0, n));
    }

    static JsonNode json(String body) throws IOException {
        return JSON.readTree(body);
    }

    @Override
    public void close() {
        app.close();
    }
}
