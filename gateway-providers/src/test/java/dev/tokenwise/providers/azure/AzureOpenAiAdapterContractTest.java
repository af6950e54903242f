package dev.tokenwise.providers.azure;

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
 * Azure OpenAI chat completions: OpenAI's shapes plus Azure's content-filter annotations, including the first
 * stream chunk that carries only {@code prompt_filter_results} and no choices.
 */
class AzureOpenAiAdapterContractTest extends ProviderContract {

    @Override
    protected ProviderAdapter adapter() {
        return new AzureOpenAiAdapter("azure-test-key", "2024-10-21");
    }

    @Override
    protected Endpoint endpoint() {
        return Endpoint.CHAT_COMPLETIONS;
    }

    @Override
    protected Set<Endpoint> supportedEndpoints() {
        return EnumSet.of(Endpoint.CHAT_COMPLETIONS, Endpoint.EMBEDDINGS);
    }

    @Override
    protected String upstreamModel() {
        return "gpt-4o-prod";
    }

    @Override
    protected String expectedUpstreamPath() {
        return "/openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-10-21";
    }

    @Override
    protected Map<String, String> expectedAuthHeaders() {
        return Map.of("api-key", "azure-test-key");
    }

    @Override
    protected String requestBody(boolean stream) {
        // The client's model name stays in the body: Azure routes by the deployment in the path.
        return """
                {"model": "gpt-4o", "stream": %s, "messages": [{"role": "user", "content": "Hello"}]}
                """.formatted(stream);
    }

    private static final String FILTERS = """
            {"hate": {"filtered": false, "severity": "safe"}, "self_harm": {"filtered": false, "severity": "safe"},
             "sexual": {"filtered": false, "severity": "safe"}, "violence": {"filtered": false, "severity": "safe"}}""";

    @Override
    protected String jsonBody() {
        return """
                {
                  "id": "chatcmpl-azure-1",
                  "object": "chat.completion",
                  "created": 1679072642,
                  "model": "gpt-4o-2024-08-06",
                  "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": %s}],
                  "choices": [{
                    "index": 0,
                    "finish_reason": "stop",
                    "logprobs": null,
                    "message": {"role": "assistant", "content": "Hello there."},
                    "content_filter_results": %s
                  }],
                  "usage": {"prompt_tokens": 2048, "completion_tokens": 12, "total_tokens": 2060,
                            "prompt_tokens_details": {"cached_tokens": 1920}},
                  "system_fingerprint": "fp_azure"
                }
                """.formatted(FILTERS, FILTERS);
    }

    @Override
    protected Expected json() {
        // 128 uncached × 2500 + 1920 cached × 1250 + 12 × 10000 nano-USD
        return new Expected(new TokenUsage(2048, 1920, 0, 12, 0), "Hello there.", "stop", 320_000 + 2_400_000 + 120_000);
    }

    @Override
    protected List<String> sseEvents() {
        return List.of(
                data("""
                        {"choices": [], "created": 0, "id": "", "model": "", "object": "",
                         "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": %s}]}
                        """.formatted(FILTERS)),
                data("""
                        {"choices": [{"content_filter_results": {}, "delta": {"content": "", "role": "assistant"},
                          "finish_reason": null, "index": 0, "logprobs": null}],
                         "created": 1727000000, "id": "chatcmpl-azure-2", "model": "gpt-4o-2024-08-06",
                         "object": "chat.completion.chunk", "system_fingerprint": "fp_azure", "usage": null}
                        """),
                data("""
                        {"choices": [{"content_filter_results": %s, "delta": {"content": "Hi!"},
                          "finish_reason": null, "index": 0, "logprobs": null}],
                         "created": 1727000000, "id": "chatcmpl-azure-2", "model": "gpt-4o-2024-08-06",
                         "object": "chat.completion.chunk", "system_fingerprint": "fp_azure", "usage": null}
                        """.formatted(FILTERS)),
                data("""
                        {"choices": [{"content_filter_results": {}, "delta": {}, "finish_reason": "stop",
                          "index": 0, "logprobs": null}],
                         "created": 1727000000, "id": "chatcmpl-azure-2", "model": "gpt-4o-2024-08-06",
                         "object": "chat.completion.chunk", "system_fingerprint": "fp_azure", "usage": null}
                        """),
                data("""
                        {"choices": [], "created": 1727000000, "id": "chatcmpl-azure-2", "model": "gpt-4o-2024-08-06",
                         "object": "chat.completion.chunk", "system_fingerprint": "fp_azure",
                         "usage": {"completion_tokens": 2, "prompt_tokens": 9, "total_tokens": 11,
                                   "prompt_tokens_details": {"cached_tokens": 0}}}
                        """),
                "data: [DONE]\n\n");
    }

    @Override
    protected Expected stream() {
        return new Expected(TokenUsage.of(9, 2), "Hi!", "stop", 22_500 + 20_000);
    }

    @Override
    protected ModelPrice price() {
        // gpt-4o global standard deployment, priced like OpenAI's: $2.50 in, $10.00 out, $1.25 cached per Mtok
        return new ModelPrice(2_500_000_000L, 10_000_000_000L, 1_250_000_000L, 2_500_000_000L, 10_000_000_000L, 16_384);
    }
}
