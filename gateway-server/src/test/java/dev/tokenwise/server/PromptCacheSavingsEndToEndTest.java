package dev.tokenwise.server;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.tomakehurst.wiremock.WireMockServer;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.testing.LeakDetectingExtension;
import java.math.BigDecimal;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What a provider's prompt cache saved, through a running gateway: each call's {@code prompt_cache_saved_nanos} is its
 * cached input tokens at the input price minus the cached price, the usage API sums it and says what share of the
 * input came from the cache, and every long prompt's record carries the hash of its first bytes that the missed-savings
 * watch counts.
 */
@ExtendWith(LeakDetectingExtension.class)
class PromptCacheSavingsEndToEndTest {
    /** 2,000 prompt tokens of which 1,536 were read from OpenAI's prompt cache. */
    static final String CACHED = "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"gpt-4o\","
            + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Done.\"},\"finish_reason\":\"stop\"}],"
            + "\"usage\":{\"prompt_tokens\":2000,\"completion_tokens\":5,\"total_tokens\":2005,"
            + "\"prompt_tokens_details\":{\"cached_tokens\":1536}}}";

    WireMockServer upstream;
    TestGateway gateway;

    @BeforeEach
    void start() throws Exception {
        upstream = new WireMockServer(options().dynamicPort());
        upstream.start();
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody(CACHED)));
        gateway = TestGateway.start("""
                providers:
                  openai: {type: openai, base_url: "http://127.0.0.1:%d/v1", api_key: sk-upstream}
                models:
                  - name: gpt-4o
                    provider: openai
                    price: {input_per_mtok: 2.50, output_per_mtok: 10, cached_input_per_mtok: 1.25}
                """.formatted(upstream.port()));
    }

    @AfterEach
    void stop() {
        gateway.close();
        upstream.stop();
    }

    static String ask(String date, String question) {
        return "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"system\",\"content\":\"Today is " + date + ". "
                + "You answer questions about the tax code, citing the section you rely on. ".repeat(80) + "\"},"
                + "{\"role\":\"user\",\"content\":\"" + question + "\"}]}";
    }

    @Test
    void valuesWhatThePromptCacheSavedPerCallAndPerTeam() throws Exception {
        HttpResponse<String> first = gateway.post("/v1/chat/completions", "tw-test-key", ask("2026-11-28", "Q one?"));
        assertEquals(200, first.statusCode(), first.body());
        gateway.post("/v1/chat/completions", "tw-test-key", ask("2026-11-29", "Another question?"));

        // 1,536 cached tokens x ($2.50 - $1.25) per Mtok = $0.00192, computed here from the prices in the config.
        long expectedNanos = new BigDecimal(1_536).multiply(new BigDecimal("2.50").subtract(new BigDecimal("1.25")))
                .movePointRight(9).movePointLeft(6).longValueExact();
        assertEquals(1_920_000, expectedNanos);
        JsonNode record = gateway.record(first);
        assertEquals(1_536, record.get("cached_input_tokens").asLong());
        assertEquals(expectedNanos, record.get("prompt_cache_saved_nanos").asLong());
        assertEquals(0, new BigDecimal("0.00192").compareTo(record.get("prompt_cache_saved_usd").decimalValue()));
        // The cost is the cached price for the cached part: 464 x 2.50 + 1,536 x 1.25 + 5 x 10 per Mtok.
        assertEquals(464 * 2_500 + 1_536 * 1_250 + 5 * 10_000, record.get("cost_nanos").asLong());

        gateway.flushLedger();
        JsonNode demo = TestGateway.json(gateway.get("/api/v1/usage?group_by=team", "tw-test-key").body())
                .get("data").get(0);
        assertEquals(0, new BigDecimal(2 * expectedNanos).movePointLeft(9).compareTo(
                demo.get("prompt_cache_saved_usd").decimalValue()));
        assertEquals(0, new BigDecimal("0.768").compareTo(demo.get("cached_input_share").decimalValue()),
                "3,072 of 4,000 input tokens");

        // The two prompts begin alike but for the date: the records carry the same prefix hash for the watch.
        gateway.awaitSinks();
        UsageRecord a = gateway.sunk.get(0);
        UsageRecord b = gateway.sunk.get(1);
        assertNotEquals(0, a.promptPrefixHash());
        assertEquals(a.promptPrefixHash(), b.promptPrefixHash());
        assertTrue(a.promptHash() != b.promptHash(), "the prompts themselves differ");
    }
}
