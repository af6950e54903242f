package dev.tokenwise.providers.openai;

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
 * DeepSeek through {@code type: openai}: its usage reports the prompt's cache hits and misses in its own fields
 * ({@code prompt_cache_hit_tokens}, {@code prompt_cache_miss_tokens}), which are priced separately.
 */
class DeepSeekContractTest extends ProviderContract {

    @Override
    protected ProviderAdapter adapter() {
        return new OpenAiAdapter("sk-test-deepseek");
    }

    @Override
    protected Endpoint endpoint() {
        return Endpoint.CHAT_COMPLETIONS;
    }

    @Override
    protected Set<Endpoint> supportedEndpoints() {
        return EnumSet.of(Endpoint.CHAT_COMPLETIONS, Endpoint.EMBEDDINGS, Endpoint.RESPONSES);
    }

    @Override
    protected String upstreamModel() {
        return "deepseek-chat";
    }

    @Override
    protected String expectedUpstreamPath() {
        return "/chat/completions";
    }

    @Override
    protected Map<String, String> expectedAuthHeaders() {
        return Map.of("authorization", "Bearer sk-test-deepseek");
    }

    @Override
    protected String requestBody(boolean stream) {
        return """
                {"model": "deepseek-chat", "stream": %s, "messages": [{"role": "user", "content": "Hi"}]}
                """.formatted(stream);
    }

    @Override
    protected String jsonBody() {
        return """
                {
                  "id": "930c60df-bf64-41c9-a88e-3ec75f81e00e",
                  "object": "chat.completion",
                  "created": 1705651092,
                  "model": "deepseek-chat",
                  "choices": [{
                    "index": 0,
                    "message": {"role": "assistant", "content": "Hello! How can I help you today?"},
                    "logprobs": null,
                    "finish_reason": "stop"
                  }],
                  "usage": {
                    "prompt_tokens": 1600,
                    "completion_tokens": 10,
                    "total_tokens": 1610,
                    "prompt_cache_hit_tokens": 1536,
                    "prompt_cache_miss_tokens": 64
                  },
                  "system_fingerprint": "fp_contract"
                }
                """;
    }

    @Override
    protected Expected json() {
        // 64 misses × 280 + 1536 hits × 28 + 10 output × 420 nano-USD
        return new Expected(new TokenUsage(1600, 1536, 0, 10, 0), "Hello! How can I help you today?", "stop",
                17_920 + 43_008 + 4_200);
    }

    @Override
    protected List<String> sseEvents() {
        String chunk = """
                {"id": "a1b2", "object": "chat.completion.chunk", "created": 1718345013, "model": "deepseek-chat",
                 "system_fingerprint": "fp_contract", "choices": [%s]%s}
                """;
        return List.of(
                data(chunk.formatted("""
                        {"index": 0, "delta": {"role": "assistant", "content": ""}, "logprobs": null, "finish_reason": null}""", "")),
                data(chunk.formatted("""
                        {"index": 0, "delta": {"content": "Hi"}, "logprobs": null, "finish_reason": null}""", "")),
                data(chunk.formatted("""
                        {"index": 0, "delta": {"content": " there"}, "logprobs": null, "finish_reason": "stop"}""", """
                        , "usage": {"prompt_tokens": 140, "completion_tokens": 2, "total_tokens": 142,
                                    "prompt_cache_hit_tokens": 128, "prompt_cache_miss_tokens": 12}""")),
                "data: [DONE]\n\n");
    }

    @Override
    protected Expected stream() {
        // 12 × 280 + 128 × 28 + 2 × 420
        return new Expected(new TokenUsage(140, 128, 0, 2, 0), "Hi there", "stop", 3_360 + 3_584 + 840);
    }

    @Override
    protected ModelPrice price() {
        // deepseek-chat: $0.28 cache miss, $0.028 cache hit, $0.42 output per Mtok
        return new ModelPrice(280_000_000L, 420_000_000L, 28_000_000L, 280_000_000L, 420_000_000L, 8_192);
    }
}
