package dev.tokenwise.server;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.http.Fault;
import dev.tokenwise.core.testing.LeakDetectingExtension;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** WireMock's faults, the first-byte and total timeouts, and a client that never finishes its request. */
@ExtendWith(LeakDetectingExtension.class)
class UpstreamFaultsTest {
    static final String CHAT = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}";

    WireMockServer upstream;
    TestGateway gateway;

    @BeforeEach
    void start() throws Exception {
        upstream = new WireMockServer(options().dynamicPort());
        upstream.start();
        gateway = TestGateway.start("""
                providers:
                  openai: {type: openai, base_url: "http://127.0.0.1:%d/v1", api_key: sk-up, max_retries: 0,
                           read_timeout_ms: 5000, first_byte_timeout_ms: 1000, total_timeout_ms: 1500}
                models:
                  - {name: gpt-4o-mini, provider: openai}
                """.formatted(upstream.port()));
    }

    @AfterEach
    void stop() {
        gateway.close();
        upstream.stop();
    }

    @ParameterizedTest
    @EnumSource(value = Fault.class, names = {"CONNECTION_RESET_BY_PEER", "EMPTY_RESPONSE", "RANDOM_DATA_THEN_CLOSE"})
    void answersAProviderFaultWithA502JsonError(Fault fault) throws Exception {
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withFault(fault)));

        HttpResponse<String> response = gateway.post("/v1/chat/completions", "tw-test-key", CHAT);

        assertEquals(502, response.statusCode(), fault + ": " + response.body());
        JsonNode error = TestGateway.json(response.body()).get("error");
        assertEquals("upstream_failed", error.get("code").asText());
        JsonNode record = gateway.record(response);
        assertTrue(record.get("status").asText().startsWith("upstream_"), record.toString());
        assertEquals(0, record.get("cost_nanos").asLong(), "nothing was produced");
        // The gateway is unharmed: the next call is answered.
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody(OpenAiRelayTest.COMPLETION)));
        assertEquals(200, gateway.post("/v1/chat/completions", "tw-test-key", CHAT).statusCode());
    }

    @Test
    void answers504WhenTheFirstByteTakesLongerThanItsTimeout() throws Exception {
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody(OpenAiRelayTest.COMPLETION).withFixedDelay(3000)));

        long start = System.nanoTime();
        HttpResponse<String> response = gateway.post("/v1/chat/completions", "tw-test-key", CHAT);
        long tookMillis = (System.nanoTime() - start) / 1_000_000;

        assertEquals(504, response.statusCode());
        assertTrue(tookMillis < 2000, "gave up after the first-byte timeout, not the read timeout: " + tookMillis + " ms");
        assertEquals("upstream_timeout", gateway.record(response).get("status").asText());
    }

    @Test
    void cutsAStreamThatOutlastsTheTotalTimeout() throws Exception {
        StringBuilder events = new StringBuilder();
        for (int i = 0; i < 20; i++) {
            events.append("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"word").append(i).append(" \"}}]}\n\n");
        }
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "text/event-stream").withBody(events.toString())
                .withChunkedDribbleDelay(20, 4000)));

        // The first-byte timeout (1 s) leaves a loaded machine time to start the stream; the total (1.5 s) cuts it.
        long start = System.nanoTime();
        HttpResponse<String> whole = null;
        IOException cut = null;
        try {
            whole = gateway.post("/v1/chat/completions", "tw-test-key",
                    CHAT.replace("\"messages\"", "\"stream\":true,\"messages\""));
        } catch (IOException e) {
            cut = e;
        }
        HttpResponse<String> answered = whole;
        assertNotNull(cut, () -> "the stream ends without its last chunk, but came whole: " + answered.statusCode()
                + " " + answered.body());
        long tookMillis = (System.nanoTime() - start) / 1_000_000;
        assertTrue(tookMillis < 3500, "cut at the total timeout: " + tookMillis + " ms");
        gateway.awaitSinks();
        var record = gateway.awaitRecord(r -> r.stream());
        assertEquals("upstream_timeout", record.status().label());
        assertTrue(record.usage().outputTokens() > 0, "charged for what was streamed");
    }

    @Test
    void answers408AndClosesAConnectionWhoseRequestNeverCompletes() throws Exception {
        String yaml = """
                server: {host: 127.0.0.1, port: 0, request_read_timeout_ms: 300}
                storage: {path: %s}
                providers:
                  sim: {type: simulator}
                models:
                  - {name: sim-small, provider: sim, price: {input_per_mtok: 1, output_per_mtok: 1}}
                teams:
                  - name: demo
                    keys: [{key: tw-test-key}]
                """.formatted(TestGateway.freshLedgerPath());
        try (TestGateway slow = TestGateway.fromYaml(yaml);
             Socket socket = new Socket("127.0.0.1", slow.app.port())) {
            // Half a request, then nothing: a slow or stuck client must not hold the connection.
            socket.getOutputStream().write("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Len"
                    .getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
            socket.setSoTimeout(10_000);
            long start = System.nanoTime();
            InputStream in = socket.getInputStream();
            String answer = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
            long tookMillis = (System.nanoTime() - start) / 1_000_000;
            assertTrue(answer.startsWith("HTTP/1.1 408 "), "a 408, then the close: " + answer);
            assertTrue(answer.contains("\"code\":\"request_timeout\""), answer);
            assertTrue(tookMillis < 3_000, "closed after the request read timeout: " + tookMillis + " ms");
            assertEquals(0, slow.app.accounting().inFlightCount());
        }
    }
}
