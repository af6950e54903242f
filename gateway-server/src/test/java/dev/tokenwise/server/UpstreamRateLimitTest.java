package dev.tokenwise.server;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.containing;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.tomakehurst.wiremock.WireMockServer;
import dev.tokenwise.core.testing.LeakDetectingExtension;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * When a provider says its own rate limit is reached (a 429, or {@code x-ratelimit-remaining-*: 0}), the gateway
 * holds further calls to it until the reset it announced, up to {@code rate_limits.upstream_max_wait_ms}, instead
 * of hammering it; a longer reset answers 429 at once (or goes to a fallback).
 */
@ExtendWith(LeakDetectingExtension.class)
class UpstreamRateLimitTest {
    static final String CHAT = BudgetEnforcementTest.CHAT;

    WireMockServer upstream;
    TestGateway gateway;

    @BeforeEach
    void start() throws Exception {
        upstream = new WireMockServer(options().dynamicPort());
        upstream.start();
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody(BudgetEnforcementTest.COMPLETION)));
        gateway = TestGateway.fromYaml("""
                server: {host: 127.0.0.1, port: 0}
                admin: {key: %s}
                storage: {path: %s}
                pricing: {catalog: ../config/prices.yaml}
                rate_limits: {upstream_max_wait_ms: 1500}
                providers:
                  openai: {type: openai, base_url: "http://127.0.0.1:%d/v1", api_key: sk-upstream}
                models:
                  - {name: gpt-4o-mini, provider: openai}
                teams:
                  - {name: demo, keys: [{key: tw-test-key, name: demo-key}]}
                """.formatted(TestGateway.ADMIN_KEY, TestGateway.freshLedgerPath(), upstream.port()));
    }

    @AfterEach
    void stop() {
        gateway.close();
        upstream.stop();
    }

    @Test
    void answers429AtOnceWhileTheProvidersAnnouncedResetIsLongerThanTheWaitAllowed() throws Exception {
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).withRequestBody(containing("friendly"))
                .willReturn(aResponse().withStatus(429).withHeader("Retry-After", "30")
                        .withHeader("Content-Type", "application/json")
                        .withBody("{\"error\":{\"message\":\"Rate limit reached\",\"type\":\"requests\"}}")));
        HttpResponse<String> relayed = gateway.post("/v1/chat/completions", "tw-test-key", CHAT);
        assertEquals(429, relayed.statusCode(), "the provider's own 429 is relayed");

        HttpResponse<String> held = gateway.post("/v1/chat/completions", "tw-test-key", CHAT);
        assertEquals(429, held.statusCode(), held.body());
        assertTrue(held.body().contains("provider openai announced that its rate limit is reached; it resets in"),
                held.body());
        long retryAfter = Long.parseLong(held.headers().firstValue("retry-after").orElseThrow());
        assertTrue(retryAfter >= 28 && retryAfter <= 30, "retry-after " + retryAfter);
        upstream.verify(1, postRequestedFor(urlEqualTo("/v1/chat/completions")));
        gateway.awaitSinks();
        assertEquals("upstream_unreachable", gateway.record(held).get("status").asText());
        assertEquals(0, gateway.record(held).get("cost_nanos").asLong());
        assertEquals(1, gateway.app.server().providerHealth().get("openai").heldCalls());
    }

    @Test
    void waitsForAShortResetWhenTheProviderSaysNothingRemains() throws Exception {
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).withRequestBody(containing("friendly"))
                .willReturn(aResponse().withStatus(200).withHeader("Content-Type", "application/json")
                        .withHeader("x-ratelimit-remaining-requests", "0")
                        .withHeader("x-ratelimit-reset-requests", "800ms")
                        .withBody(BudgetEnforcementTest.COMPLETION)));
        assertEquals(200, gateway.post("/v1/chat/completions", "tw-test-key", CHAT).statusCode());
        long start = System.nanoTime();
        HttpResponse<String> waited = gateway.post("/v1/chat/completions", "tw-test-key",
                CHAT.replace("friendly", "kind"));
        long tookMillis = (System.nanoTime() - start) / 1_000_000;
        assertEquals(200, waited.statusCode(), waited.body());
        assertTrue(tookMillis >= 700, "held until the provider's reset: " + tookMillis + " ms");
        upstream.verify(2, postRequestedFor(urlEqualTo("/v1/chat/completions")));
    }
}
