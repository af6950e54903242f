package dev.tokenwise.server;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.tomakehurst.wiremock.WireMockServer;
import dev.tokenwise.providers.pricing.YamlPriceCatalog;
import dev.tokenwise.server.cli.TokenwiseCli;
import dev.tokenwise.server.config.ConfigLoader;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code tokenwise reprice} on the ledger of a running gateway that charged a deliberately wrong price ($25 per million
 * input tokens instead of $2.50): the report shows the difference per team and model and writes nothing; {@code --apply}
 * writes adjusting entries that {@code /api/v1/usage} totals include while the calls' own rows stay as they were; a
 * second run finds nothing left to correct.
 */
class RepriceEndToEndTest {
    private static final String CONFIG = """
            server: {host: 127.0.0.1, port: 0}
            admin: {key: %s}
            storage: {%s}
            providers:
              openai: {type: openai, base_url: "http://127.0.0.1:%d/v1", api_key: sk-upstream}
            models:
              - {name: gpt-x, provider: openai, price: {input_per_mtok: %s, output_per_mtok: 15}}
            teams:
              - name: demo
                keys: [{key: tw-test-key, name: demo-key}]
              - name: other
                keys: [{key: tw-other-key, name: other-key}]
            """;

    @TempDir
    Path dir;
    WireMockServer upstream;
    TestGateway gateway;
    /** The {@code storage:} entries of the gateway and of the reprice command: one ledger for both. */
    String ledger;

    @BeforeEach
    void start() throws Exception {
        upstream = new WireMockServer(options().dynamicPort());
        upstream.start();
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody("""
                        {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-x",
                         "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello"},
                         "finish_reason": "stop"}], "usage": {"prompt_tokens": 1000, "completion_tokens": 500},
                         "service_tier": "default"}""")));
        ledger = storage();
        Path wrong = Files.writeString(dir.resolve("wrong.yaml"), config("25"));
        gateway = new TestGateway(ConfigLoader.load(wrong, Map.of(), YamlPriceCatalog::load));
    }

    /** A new ledger: a SQLite file here, a PostgreSQL database in {@link PostgresRepriceEndToEndTest}. */
    String storage() {
        return "path: " + TestGateway.freshLedgerPath();
    }

    private String config(String inputPerMtok) {
        return CONFIG.formatted(TestGateway.ADMIN_KEY, ledger, upstream.port(), inputPerMtok);
    }

    @AfterEach
    void stop() {
        gateway.close();
        upstream.stop();
    }

    @Test
    void correctsAWrongPriceWithAdjustingEntriesOnlyWhenAskedAndNeverTwice() throws Exception {
        for (String key : new String[] {"tw-test-key", "tw-test-key", "tw-test-key", "tw-other-key"}) {
            assertEquals(200, gateway.post("/v1/chat/completions", key, """
                    {"model": "gpt-x", "messages": [{"role": "user", "content": "Hi"}]}""").statusCode());
        }
        gateway.awaitRecords(4);
        assertTrue(gateway.app.ledger().flush(Duration.ofSeconds(10)));
        String callId = gateway.sunk.get(0).id();
        // Charged 1,000 x $25 + 500 x $15 = $0.0325 a call; the right price is 1,000 x $2.50 + 500 x $15 = $0.01.
        assertEquals(32_500_000L, gateway.sunk.get(0).costNanos());
        Path fixed = Files.writeString(dir.resolve("fixed.yaml"), config("2.50"));
        String to = LocalDate.now(ZoneOffset.UTC).plusDays(1).toString();
        String[] reprice = {"reprice", "--config", fixed.toString(), "--from", "2000-01-01", "--to", to};

        String report = run(reprice);
        assertTrue(report.matches("(?s).*\\ndemo +gpt-x +3 +0\\.0975 +0\\.03 +-0\\.0675\\n.*"), report);
        assertTrue(report.matches("(?s).*\\nother +gpt-x +1 +0\\.0325 +0\\.01 +-0\\.0225\\n.*"), report);
        assertTrue(report.matches("(?s).*\\ntotal +4 +0\\.13 +0\\.04 +-0\\.09\\n.*"), report);
        assertTrue(report.contains("Report only: 4 call(s) would be adjusted"), report);
        assertEquals("0.0975", teamCost("demo"), "a report changes nothing");

        String applied = run(concat(reprice, "--apply"));
        assertTrue(applied.contains("Applied: 4 adjusting entries written as reprice rp_"), applied);
        assertEquals("0.03", teamCost("demo"));
        assertEquals("0.01", teamCost("other"));
        assertEquals(3, teamRow("demo").get("requests").asInt(), "an adjustment is not a request");
        assertEquals("0.0325", gateway.record(callId).get("cost_usd").decimalValue().toPlainString(),
                "the call's own row is unchanged");

        String again = run(concat(reprice, "--apply"));
        assertTrue(again.matches("(?s).*\\ntotal +4 +0\\.04 +0\\.04 +0\\n.*"), again);
        assertTrue(again.contains("Nothing to correct: no entry written."), again);
        assertEquals("0.03", teamCost("demo"));
    }

    @Test
    void answersHelpAndRefusesWhatItDoesNotUnderstand() throws Exception {
        assertEquals(0, TokenwiseCli.run(new String[] {"--help"}, sink(), sink()));
        assertEquals(0, TokenwiseCli.run(new String[] {"reprice", "--help"}, sink(), sink()));
        assertEquals(2, TokenwiseCli.run(new String[] {}, sink(), sink()));
        assertEquals(2, TokenwiseCli.run(new String[] {"rerate"}, sink(), sink()));
        assertEquals(2, TokenwiseCli.run(new String[] {"reprice", "--from", "2026-01-01"}, sink(), sink()));
        assertEquals(2, TokenwiseCli.run(new String[] {"reprice", "--from", "yesterday", "--to", "2026-01-01"}, sink(),
                sink()));
        assertEquals(1, TokenwiseCli.run(new String[] {"reprice", "--config", dir.resolve("absent.yaml").toString(),
                "--from", "2026-01-01", "--to", "2026-01-02"}, sink(), sink()));
    }

    private static String run(String[] args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = TokenwiseCli.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(0, status, err.toString(StandardCharsets.UTF_8));
        return out.toString(StandardCharsets.UTF_8);
    }

    private static String[] concat(String[] args, String more) {
        String[] all = java.util.Arrays.copyOf(args, args.length + 1);
        all[args.length] = more;
        return all;
    }

    private static PrintStream sink() {
        return new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    }

    private JsonNode teamRow(String team) throws Exception {
        for (JsonNode row : TestGateway.json(gateway.get("/api/v1/usage?group_by=team", TestGateway.ADMIN_KEY).body())
                .get("data")) {
            if (team.equals(row.get("team").asText())) {
                return row;
            }
        }
        throw new AssertionError("no usage row for team " + team);
    }

    private String teamCost(String team) throws Exception {
        return teamRow(team).get("cost_usd").decimalValue().toPlainString();
    }
}
