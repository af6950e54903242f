package dev.tokenwise.core.error;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

class ErrorResponsesTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void answersInOpenAisShapeOnOpenAiRoutes() throws Exception {
        JsonNode body = JSON.readTree(ErrorResponses.body(ErrorShape.forPath("/v1/chat/completions"),
                ErrorType.INVALID_API_KEY, "invalid API key"));

        assertEquals(JSON.readTree("""
                {"error": {"message": "invalid API key", "type": "authentication_error", "code": "invalid_api_key"}}
                """), body);
    }

    @Test
    void answersInAnthropicsShapeOnTheMessagesRoutesKeepingOurCode() throws Exception {
        for (String path : new String[] {"/v1/messages", "/v1/messages/count_tokens"}) {
            JsonNode body = JSON.readTree(ErrorResponses.body(ErrorShape.forPath(path), ErrorType.BUDGET_EXCEEDED,
                    "budget exceeded"));

            assertEquals(JSON.readTree("""
                    {"type": "error",
                     "error": {"type": "billing_error", "message": "budget exceeded", "code": "budget_exceeded"}}
                    """), body, path);
        }
    }

    @Test
    void answersInGooglesShapeOnGeminiRoutes() throws Exception {
        JsonNode body = JSON.readTree(ErrorResponses.body(ErrorShape.forPath("/v1beta/models/gemini-2.5-flash:generateContent"),
                ErrorType.MODEL_NOT_FOUND, "model x is not served"));

        assertEquals(JSON.readTree("""
                {"error": {"code": 404, "message": "model x is not served", "status": "NOT_FOUND",
                           "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                        "reason": "MODEL_NOT_FOUND", "domain": "tokenwise"}]}}
                """), body);
    }

    @Test
    void namesAnthropicsAndGooglesKindOfEveryStatusTheGatewayAnswers() {
        for (ErrorType type : ErrorType.values()) {
            String anthropic = ErrorShape.anthropicType(type.status());
            String google = ErrorShape.googleStatus(type.status());
            switch (type.status()) {
                case 400 -> {
                    assertEquals("invalid_request_error", anthropic);
                    assertEquals("INVALID_ARGUMENT", google);
                }
                case 401 -> {
                    assertEquals("authentication_error", anthropic);
                    assertEquals("UNAUTHENTICATED", google);
                }
                case 403 -> {
                    assertEquals("permission_error", anthropic);
                    assertEquals("PERMISSION_DENIED", google);
                }
                case 429 -> {
                    assertEquals("rate_limit_error", anthropic);
                    assertEquals("RESOURCE_EXHAUSTED", google);
                }
                case 500, 502 -> assertEquals("api_error", anthropic);
                default -> {
                    // the rest are checked by the shapes above
                }
            }
        }
    }
}
