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

/** OpenAI chat completions, in the shapes of OpenAI's API reference (object and chunks with include_usage). */
class OpenAiAdapterContractTest extends ProviderContract {

    @Override
    protected ProviderAdapter adapter() {
        return new OpenAiAdapter("sk-test-openai");
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
        return "gpt-4o-2024-08-06";
    }

    @Override
    protected String expectedUpstreamPath() {
        return "/chat/completions";
    }

    @Override
    protected Map<String, String> expectedAuthHeaders() {
        return Map.of("authorization", "Bearer sk-test-openai");
    }

    @Override
    protected String requestBody(boolean stream) {
        return """
                {"model": "gpt-4o-2024-08-06", "stream": %s,
                 "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello!"}]}
                """.formatted(stream);
    }

    @Override
    protected String jsonBody() {
        return """
                {
                  "id": "chatcmpl-contract-1",
                  "object": "chat.completion",
                  "created": 1741569952,
                  "model": "gpt-4o-2024-08-06",
                  "choices": [{
                    "index": 0,
                    "message": {"role": "assistant", "content": "Hello! How can I help?", "refusal": null, "annotations": []},
                    "logprobs": null,
                    "finish_reason": "stop"
                  }],
                  "usage": {
                    "prompt_tokens": 1117,
                    "completion_tokens": 46,
                    "total_tokens": 1163,
                    "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
                    "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                      "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
                  },
                  "service_tier": "default",
                  "system_fingerprint": "fp_contract"
                }
                """;
    }

    @Override
    protected Expected json() {
        // 93 uncached × 2500 + 1024 cached × 1250 + 46 output × 10000 nano-USD
        return new Expected(new TokenUsage(1117, 1024, 0, 46, 0), "Hello! How can I help?", "stop",
                232_500 + 1_280_000 + 460_000);
    }

    @Override
    protected List<String> sseEvents() {
        String chunk = """
                {"id": "chatcmpl-contract-2", "object": "chat.completion.chunk", "created": 1741569952,
                 "model": "gpt-4o-2024-08-06", "system_fingerprint": "fp_contract", "choices": [%s], "usage": null}
                """;
        return List.of(
                data(chunk.formatted("""
                        {"index": 0, "delta": {"role": "assistant", "content": "", "refusal": null},
                         "logprobs": null, "finish_reason": null}""")),
                data(chunk.formatted("""
                        {"index": 0, "delta": {"content": "Hello"}, "logprobs": null, "finish_reason": null}""")),
                data(chunk.formatted("""
                        {"index": 0, "delta": {"content": "!"}, "logprobs": null, "finish_reason": null}""")),
                data(chunk.formatted("""
                        {"index": 0, "delta": {}, "logprobs": null, "finish_reason": "length"}""")),
                data("""
                        {"id": "chatcmpl-contract-2", "object": "chat.completion.chunk", "created": 1741569952,
                         "model": "gpt-4o-2024-08-06", "system_fingerprint": "fp_contract", "choices": [],
                         "usage": {"prompt_tokens": 19, "completion_tokens": 2, "total_tokens": 21,
                                   "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                                   "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                     "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}}
                        """),
                "data: [DONE]\n\n");
    }

    @Override
    protected Expected stream() {
        // 19 × 2500 + 2 × 10000
        return new Expected(TokenUsage.of(19, 2), "Hello!", "length", 47_500 + 20_000);
    }

    @Override
    protected ModelPrice price() {
        // gpt-4o: $2.50 in, $10.00 out, $1.25 cached per Mtok
        return new ModelPrice(2_500_000_000L, 10_000_000_000L, 1_250_000_000L, 2_500_000_000L, 10_000_000_000L, 16_384);
    }
}
