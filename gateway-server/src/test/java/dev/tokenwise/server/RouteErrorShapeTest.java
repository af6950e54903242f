package dev.tokenwise.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tokenwise.core.testing.LeakDetectingExtension;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The gateway's own errors (401, 402, 404, 405) in the shape of the API whose route was called, so that each client
 * library shows their message: Anthropic's on {@code /v1/messages} and {@code /v1/messages/count_tokens}, Google's on
 * Gemini's routes, OpenAI's everywhere else. Nothing here reaches a provider.
 */
@ExtendWith(LeakDetectingExtension.class)
class RouteErrorShapeTest {
    static TestGateway gateway;

    static final String MESSAGE = """
            {"model": "claude-sonnet-4-5", "max_tokens": 1024, "messages": [{"role": "user", "content": "Hi"}]}""";
    static final String GENERATE = "/v1beta/models/gemini-2.5-flash:generateContent";
    static final String CONTENTS = "{\"contents\": [{\"parts\": [{\"text\": \"Hi\"}]}]}";

    @BeforeAll
    static void start() throws Exception {
        gateway = TestGateway.start("""
                providers:
                  anthropic: {type: anthropic, base_url: "http://127.0.0.1:9/v1", api_key: sk-ant-x}
                  google: {type: gemini, base_url: "http://127.0.0.1:9/v1beta", api_key: AIza-x}
                models:
                  - {name: claude-sonnet-4-5, provider: anthropic}
                  - {name: gemini-2.5-flash, provider: google}
                """, """
                teams:
                  - name: broke
                    budget: {limit_usd: 0.000001, period: daily}
                    keys: [{key: tw-broke-key, name: broke-key}]
                """);
    }

    @AfterAll
    static void stop() {
        gateway.close();
    }

    private static JsonNode error(HttpResponse<String> r, int status) throws Exception {
        assertEquals(status, r.statusCode(), r.body());
        return TestGateway.json(r.body());
    }

    @Test
    void answersAnthropicRoutesInAnthropicsErrorShape() throws Exception {
        JsonNode unauthorized = error(gateway.post("/v1/messages", "tw-wrong", MESSAGE), 401);
        assertEquals("error", unauthorized.path("type").asText(), unauthorized.toString());
        assertEquals("authentication_error", unauthorized.at("/error/type").asText());
        assertEquals("invalid API key", unauthorized.at("/error/message").asText());
        assertEquals("invalid_api_key", unauthorized.at("/error/code").asText(), "our code kept");

        JsonNode broke = error(gateway.post("/v1/messages", "tw-broke-key", MESSAGE), 402);
        assertEquals("billing_error", broke.at("/error/type").asText(), broke.toString());
        assertTrue(broke.at("/error/message").asText().contains("budget"), broke.toString());

        JsonNode unknown = error(gateway.post("/v1/messages", "tw-broke-key",
                MESSAGE.replace("claude-sonnet-4-5", "claude-nope")), 404);
        assertEquals("not_found_error", unknown.at("/error/type").asText(), unknown.toString());

        JsonNode counted = error(gateway.post("/v1/messages/count_tokens", "tw-wrong", MESSAGE), 401);
        assertEquals("authentication_error", counted.at("/error/type").asText(), counted.toString());

        JsonNode wrongMethod = error(gateway.get("/v1/messages", "tw-broke-key"), 405);
        assertEquals("invalid_request_error", wrongMethod.at("/error/type").asText(), wrongMethod.toString());
    }

    @Test
    void answersGeminiRoutesInGooglesErrorShape() throws Exception {
        JsonNode unauthorized = error(gateway.post(GENERATE, "tw-wrong", CONTENTS), 401);
        assertEquals(401, unauthorized.at("/error/code").asInt(), unauthorized.toString());
        assertEquals("UNAUTHENTICATED", unauthorized.at("/error/status").asText());
        assertEquals("invalid API key", unauthorized.at("/error/message").asText());
        assertEquals("INVALID_API_KEY", unauthorized.at("/error/details/0/reason").asText());

        JsonNode broke = error(gateway.post(GENERATE, "tw-broke-key", CONTENTS), 402);
        assertEquals("RESOURCE_EXHAUSTED", broke.at("/error/status").asText(), broke.toString());

        JsonNode unknown = error(gateway.post("/v1beta/models/gemini-nope:generateContent", "tw-broke-key", CONTENTS), 404);
        assertEquals("NOT_FOUND", unknown.at("/error/status").asText(), unknown.toString());
    }

    @Test
    void keepsOpenAisShapeOnOpenAiRoutes() throws Exception {
        JsonNode unauthorized = error(gateway.post("/v1/chat/completions", "tw-wrong",
                "{\"model\": \"claude-sonnet-4-5\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}"), 401);
        assertEquals("invalid_api_key", unauthorized.at("/error/code").asText(), unauthorized.toString());
        assertEquals("authentication_error", unauthorized.at("/error/type").asText());
        assertTrue(unauthorized.path("type").isMissingNode());
    }
}
