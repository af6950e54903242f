package dev.tokenwise.server;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import dev.tokenwise.core.testing.LeakDetectingExtension;
import java.net.ServerSocket;
import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A client cannot steer the gateway's shared provider account: its {@code OpenAI-Organization} and
 * {@code OpenAI-Project} headers reach a provider only when that provider's config says
 * {@code forward_client_org_headers: true}.
 */
@ExtendWith(LeakDetectingExtension.class)
class ClientOrgHeadersTest {
    static final String[] ORG_HEADERS = {"OpenAI-Organization", "org-client", "OpenAI-Project", "proj-client"};

    static WireMockServer upstream;
    static TestGateway gateway;

    @BeforeAll
    static void start() throws Exception {
        upstream = new WireMockServer(options().dynamicPort());
        upstream.start();
        for (String path : new String[] {"/v1/chat/completions", "/own/v1/chat/completions"}) {
            upstream.stubFor(post(urlEqualTo(path)).willReturn(aResponse().withStatus(200)
                    .withHeader("Content-Type", "application/json").withBody(BudgetEnforcementTest.COMPLETION)));
        }
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        gateway = TestGateway.start("""
                providers:
                  shared: {type: openai, base_url: "http://127.0.0.1:%1$d/v1", api_key: sk-shared}
                  own: {type: openai, base_url: "http://127.0.0.1:%1$d/own/v1", api_key: sk-own,
                        forward_client_org_headers: true}
                  down: {type: openai, base_url: "http://127.0.0.1:%2$d/v1", api_key: sk-down, max_retries: 0,
                         forward_client_org_headers: true}
                models:
                  - {name: gpt-4o-mini, provider: shared}
                  - {name: own-mini, provider: own, upstream_name: gpt-4o-mini}
                  - {name: down-mini, provider: down, upstream_name: gpt-4o-mini, fallbacks: [gpt-4o-mini]}
                """.formatted(upstream.port(), closedPort));
    }

    @AfterAll
    static void stop() {
        gateway.close();
        upstream.stop();
    }

    @BeforeEach
    void forgetRequests() {
        upstream.resetRequests();
    }

    private static void call(String model) throws Exception {
        HttpResponse<String> r = gateway.post("/v1/chat/completions", "tw-test-key",
                BudgetEnforcementTest.CHAT.replace("\"gpt-4o-mini\"", "\"" + model + "\""), ORG_HEADERS);
        assertEquals(200, r.statusCode(), r.body());
    }

    private static List<LoggedRequest> received(String path) {
        return upstream.findAll(postRequestedFor(urlEqualTo(path)));
    }

    @Test
    void dropsTheClientsOrganizationAndProjectHeadersBeforeTheSharedProviderKey() throws Exception {
        call("gpt-4o-mini");
        List<LoggedRequest> requests = received("/v1/chat/completions");
        assertEquals(1, requests.size());
        LoggedRequest request = requests.get(0);
        assertEquals("Bearer sk-shared", request.getHeader("Authorization"));
        assertFalse(request.containsHeader("OpenAI-Organization"), request.getHeaders().toString());
        assertFalse(request.containsHeader("OpenAI-Project"), request.getHeaders().toString());
    }

    @Test
    void forwardsThemToAProviderThatAllowsIt() throws Exception {
        call("own-mini");
        upstream.verify(1, postRequestedFor(urlEqualTo("/own/v1/chat/completions"))
                .withHeader("Authorization", equalTo("Bearer sk-own"))
                .withHeader("OpenAI-Organization", equalTo("org-client"))
                .withHeader("OpenAI-Project", equalTo("proj-client")));
    }

    @Test
    void dropsThemOnAFallbackToAProviderThatDoesNotAllowIt() throws Exception {
        call("down-mini"); // its provider allows them but is down; the fallback's does not
        List<LoggedRequest> requests = received("/v1/chat/completions");
        assertEquals(1, requests.size());
        assertEquals("Bearer sk-shared", requests.get(0).getHeader("Authorization"));
        assertFalse(requests.get(0).containsHeader("OpenAI-Organization"));
        assertFalse(requests.get(0).containsHeader("OpenAI-Project"));
    }
}
