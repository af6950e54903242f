package dev.tokenwise.providers.gemini;

import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.ModelPrice;
import dev.tokenwise.core.model.TokenUsage;
import dev.tokenwise.core.spi.ProviderAdapter;
import dev.tokenwise.providers.ProviderContract;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Gemini's {@code generateContent}, in the shapes of its API reference: a {@code GenerateContentResponse} with
 * context caching and thinking ({@code cachedContentTokenCount}, {@code thoughtsTokenCount}), and a
 * {@code streamGenerateContent?alt=sse} stream whose events repeat a growing {@code usageMetadata} and end with the
 * finish reason (CRLF line ends, as Google's servers send them).
 */
class GeminiAdapterContractTest extends ProviderContract {

    @Override
    protected ProviderAdapter adapter() {
        return new GeminiAdapter("AIza-test");
    }

    @Override
    protected Endpoint endpoint() {
        return Endpoint.GEMINI_GENERATE;
    }

    @Override
    protected Set<Endpoint> supportedEndpoints() {
        return EnumSet.of(Endpoint.GEMINI_GENERATE, Endpoint.GEMINI_STREAM_GENERATE, Endpoint.GEMINI_EMBED,
                Endpoint.GEMINI_BATCH_EMBED, Endpoint.GEMINI_COUNT_TOKENS, Endpoint.CHAT_COMPLETIONS);
    }

    @Override
    protected String upstreamModel() {
        return "gemini-2.5-flash";
    }

    @Override
    protected String expectedUpstreamPath() {
        return "/models/gemini-2.5-flash:generateContent";
    }

    @Override
    protected Map<String, String> expectedAuthHeaders() {
        return Map.of("x-goog-api-key", "AIza-test");
    }

    @Override
    protected String requestBody(boolean stream) {
        return """
                {"contents": [{"role": "user", "parts": [{"text": "Why is the sky blue?"}]}],
                 "systemInstruction": {"parts": [{"text": "Answer briefly."}]},
                 "generationConfig": {"maxOutputTokens": 256, "thinkingConfig": {"thinkingBudget": 512}}}
                """;
    }

    @Override
    protected String jsonBody() {
        return """
                {
                  "candidates": [{
                    "content": {"parts": [{"text": "Rayleigh scattering."}], "role": "model"},
                    "finishReason": "STOP",
                    "index": 0,
                    "safetyRatings": [{"category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"}]
                  }],
                  "usageMetadata": {
                    "promptTokenCount": 1200,
                    "cachedContentTokenCount": 1000,
                    "candidatesTokenCount": 40,
                    "thoughtsTokenCount": 350,
                    "totalTokenCount": 1590,
                    "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 1200}],
                    "cacheTokensDetails": [{"modality": "TEXT", "tokenCount": 1000}]
                  },
                  "modelVersion": "gemini-2.5-flash",
                  "responseId": "mAitaPzRNOSV7M8PzNHxsQ8"
                }
                """;
    }

    @Override
    protected Expected json() {
        // 200 uncached × 300 + 1000 cached × 75 + (40 + 350 thinking) × 2500 nano-USD
        return new Expected(new TokenUsage(1200, 1000, 0, 390, 350), "Rayleigh scattering.", "stop",
                60_000 + 75_000 + 975_000);
    }

    @Override
    protected List<String> sseEvents() {
        return List.of(
                "data: " + compact("""
                        {"candidates": [{"content": {"parts": [{"text": "The sky"}], "role": "model"}, "index": 0}],
                         "usageMetadata": {"promptTokenCount": 9, "totalTokenCount": 9},
                         "modelVersion": "gemini-2.5-flash", "responseId": "r1"}
                        """) + "\r\n\r\n",
                "data: " + compact("""
                        {"candidates": [{"content": {"parts": [{"text": " is blue"}], "role": "model"}, "index": 0}],
                         "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 5, "totalTokenCount": 14},
                         "modelVersion": "gemini-2.5-flash", "responseId": "r1"}
                        """) + "\r\n\r\n",
                data("""
                        {"candidates": [{"content": {"parts": [{"text": " because"}], "role": "model"},
                                         "finishReason": "MAX_TOKENS", "index": 0}],
                         "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 8, "thoughtsTokenCount": 20,
                                           "totalTokenCount": 37},
                         "modelVersion": "gemini-2.5-flash", "responseId": "r1"}
                        """));
    }

    @Override
    protected Expected stream() {
        // 9 × 300 + (8 + 20 thinking) × 2500 nano-USD
        return new Expected(new TokenUsage(9, 0, 0, 28, 20), "The sky is blue because", "length", 2_700 + 70_000);
    }

    @Override
    protected ModelPrice price() {
        // Gemini 2.5 Flash: $0.30 in, $2.50 out (thinking included), $0.075 cached per Mtok
        return new ModelPrice(300_000_000L, 2_500_000_000L, 75_000_000L, 0, 2_500_000_000L, 65_535);
    }
}
