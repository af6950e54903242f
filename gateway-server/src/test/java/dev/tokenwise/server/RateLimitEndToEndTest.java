package dev.tokenwise.server;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.containing;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.tomakehurst.wiremock.WireMockServer;
import dev.tokenwise.core.testing.LeakDetectingExtension;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Rate limits through a running gateway: requests per minute (GCRA), tokens per minute and concurrent requests of
 * teams, keys and models; a refused call gets 429 {@code rate_limit_exceeded} with {@code Retry-After} and is not
 * forwarded, an admitted one carries OpenAI's {@code x-ratelimit-*} headers.
 */
@ExtendWith(LeakDetectingExtension.class)
class RateLimitEndToEndTest {
    static final String CHAT = "{\"model\":\"gpt-4o-mini\",\"max_tokens\":10,"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"Say hello, in a friendly way.\"}]}";

    WireMockServer upstream;
    TestGateway gateway;

    @BeforeEach
    void start() throws Exception {
        upstream = new WireMockServer(options().dynamicPort().containerThreads(40));
        upstream.start();
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody(BudgetEnforcementTest.COMPLETION)));
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).withRequestBody(containing("slowly"))
                .willReturn(aResponse().withStatus(200).withHeader("Content-Type", "application/json")
                        .withBody(BudgetEnforcementTest.COMPLETION).withFixedDelay(800)));
        gateway = TestGateway.start("""
                providers:
                  openai: {type: openai, base_url: "http://127.0.0.1:%d/v1", api_key: sk-upstream}
                models:
                  - {name: gpt-4o-mini, provider: openai}
                  - {name: gpt-4o, provider: openai, rate_limits: {requests_per_minute: 1}}
                """.formatted(upstream.port()), """
                teams:
                  - name: gamma
                    rate_limits: {requests_per_minute: 5}
                    keys:
                      - {key: tw-gamma, name: gamma-key}
                      - {key: tw-gamma-narrow, name: gamma-narrow, rate_limits: {requests_per_minute: 2}}
                  - name: delta
                    rate_limits: {concurrent_requests: 2, tokens_per_minute: 1000}
                    keys: [{key: tw-delta, name: delta-key}]
                  - name: poor
                    budget: {limit_usd: 0.000001, period: daily}
                    rate_limits: {requests_per_minute: 1}
                    keys: [{key: tw-poor, name: poor-key}]
                """);
    }

    @AfterEach
    void stop() {
        gateway.close();
        upstream.stop();
    }

    private HttpResponse<String> chat(String key) throws Exception {
        return gateway.post("/v1/chat/completions", key, CHAT);
    }

    @Test
    void refusesTheSixthOfFiveRequestsPerMinuteWith429AndRetryAfterForwardingNothing() throws Exception {
        for (int i = 0; i < 5; i++) {
            HttpResponse<String> ok = chat("tw-gamma");
            assertEquals(200, ok.statusCode(), ok.body());
            assertEquals(String.valueOf(4 - i), ok.headers().firstValue("x-ratelimit-remaining-requests").orElseThrow(),
                    "remaining after the call: the first of five gets 4");
            assertEquals("5", ok.headers().firstValue("x-ratelimit-limit-requests").orElseThrow());
        }
        HttpResponse<String> refused = chat("tw-gamma");
        assertEquals(429, refused.statusCode(), refused.body());
        JsonNode error = TestGateway.json(refused.body()).get("error");
        assertEquals("rate_limit_exceeded", error.get("type").asText());
        assertEquals("rate_limit_exceeded", error.get("code").asText());
        assertEquals("team gamma: 5 requests per minute; next allowed in 12 s", error.get("message").asText());
        assertEquals("12", refused.headers().firstValue("retry-after").orElseThrow());
        assertTrue(refused.headers().firstValue("x-request-id").isPresent());
        upstream.verify(5, postRequestedFor(urlEqualTo("/v1/chat/completions")));
        gateway.awaitSinks();
        assertEquals(5, gateway.sunk.size(), "a refused call is not booked");
    }

    @Test
    void holdsAKeyToItsOwnLimitInsideItsTeamsAndTellsItTheTighterOne() throws Exception {
        HttpResponse<String> first = chat("tw-gamma-narrow");
        assertEquals("2", first.headers().firstValue("x-ratelimit-limit-requests").orElseThrow());
        assertEquals("1", first.headers().firstValue("x-ratelimit-remaining-requests").orElseThrow());
        assertEquals("30s", first.headers().firstValue("x-ratelimit-reset-requests").orElseThrow());
        assertEquals(200, chat("tw-gamma-narrow").statusCode());
        HttpResponse<String> refused = chat("tw-gamma-narrow");
        assertEquals(429, refused.statusCode());
        assertTrue(refused.body().contains("key gamma-narrow: 2 requests per minute"), refused.body());
        // The team's other key still has the three left of the team's five.
        for (int i = 0; i < 3; i++) {
            assertEquals(200, chat("tw-gamma").statusCode());
        }
        assertEquals(429, chat("tw-gamma").statusCode());
    }

    @Test
    void limitsAModelForAllTeamsTogether() throws Exception {
        String body = CHAT.replace("gpt-4o-mini", "gpt-4o");
        assertEquals(200, gateway.post("/v1/chat/completions", "tw-gamma", body).statusCode());
        HttpResponse<String> refused = gateway.post("/v1/chat/completions", "tw-delta", body);
        assertEquals(429, refused.statusCode());
        assertTrue(refused.body().contains("model gpt-4o: 1 requests per minute; next allowed in 60 s"), refused.body());
    }

    @Test
    void holdsASlotPerCallInFlightAndFreesItWhenTheCallEnds() throws Exception {
        String slow = CHAT.replace("Say hello", "Say hello slowly");
        List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            calls.add(CompletableFuture.supplyAsync(() -> {
                try {
                    return gateway.post("/v1/chat/completions", "tw-delta", slow);
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            }));
            Thread.sleep(100);
        }
        List<Integer> statuses = new ArrayList<>();
        for (CompletableFuture<HttpResponse<String>> c : calls) {
            statuses.add(c.get().statusCode());
        }
        assertEquals(List.of(200, 200, 429), statuses);
        HttpResponse<String> after = gateway.post("/v1/chat/completions", "tw-delta", CHAT);
        assertEquals(200, after.statusCode(), "both slots came back: " + after.body());
    }

    @Test
    void reservesTokensForTheCallsBoundAndSettlesThemToWhatItUsed() throws Exception {
        // delta: 1,000 tokens a minute. A call reserves its input bound plus max_tokens (10), and uses 25.
        HttpResponse<String> first = chat("tw-delta");
        assertEquals(200, first.statusCode());
        assertEquals("1000", first.headers().firstValue("x-ratelimit-limit-tokens").orElseThrow());
        long remaining = Long.parseLong(first.headers().firstValue("x-ratelimit-remaining-tokens").orElseThrow());
        assertTrue(remaining < 1000 - 10, "the input bound and the cap were reserved: " + remaining);
        String large = CHAT.replace("\"max_tokens\":10", "\"max_tokens\":5000");
        HttpResponse<String> refused = gateway.post("/v1/chat/completions", "tw-delta", large);
        assertEquals(429, refused.statusCode());
        assertTrue(refused.body().contains("team delta: 1000 tokens per minute, and this call may use up to"),
                refused.body());
        assertFalse(refused.headers().firstValue("retry-after").isEmpty());
    }

    @Test
    void givesBackTheRequestOfACallTheBudgetRefused() throws Exception {
        // poor: one request a minute, and a budget too small for any call: the 402s do not use up the minute.
        for (int i = 0; i < 3; i++) {
            HttpResponse<String> refused = chat("tw-poor");
            assertEquals(402, refused.statusCode(), refused.body());
        }
        upstream.verify(0, postRequestedFor(urlEqualTo("/v1/chat/completions")));
    }

    @Test
    void appliesLimitsSetThroughTheAdminApiToTheNextCall() throws Exception {
        HttpResponse<String> put = gateway.send("PUT", "/api/v1/teams/delta/rate_limits", TestGateway.ADMIN_KEY,
                "{\"requests_per_minute\":1}");
        assertEquals(200, put.statusCode(), put.body());
        assertEquals(200, chat("tw-delta").statusCode());
        HttpResponse<String> refused = chat("tw-delta");
        assertEquals(429, refused.statusCode());
        assertTrue(refused.body().contains("team delta: 1 requests per minute"), refused.body());
    }
}
