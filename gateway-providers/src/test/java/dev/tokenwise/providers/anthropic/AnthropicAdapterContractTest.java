package dev.tokenwise.providers.anthropic;

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
 * Anthropic's Messages API, in the shapes of its API reference and streaming guide: a {@code message} object,
 * and a stream of {@code message_start}, content block events, {@code ping}, {@code message_delta} (cumulative
 * {@code output_tokens}) and {@code message_stop}. Prompt caching is on, so the usage has cache reads and writes.
 */
class AnthropicAdapterContractTest extends ProviderContract {

    @Override
    protected ProviderAdapter adapter() {
        return new AnthropicAdapter("sk-ant-test");
    }

    @Override
    protected Endpoint endpoint() {
        return Endpoint.MESSAGES;
    }

    @Override
    protected Set<Endpoint> supportedEndpoints() {
        return EnumSet.of(Endpoint.MESSAGES, Endpoint.MESSAGES_COUNT_TOKENS, Endpoint.CHAT_COMPLETIONS); // chat by translation
    }

    @Override
    protected String upstreamModel() {
        return "claude-sonnet-4-5-20250929";
    }

    @Override
    protected String expectedUpstreamPath() {
        return "/messages";
    }

    @Override
    protected Map<String, String> expectedAuthHeaders() {
        return Map.of("x-api-key", "sk-ant-test", "anthropic-version", "2023-06-01");
    }

    @Override
    protected String requestBody(boolean stream) {
        return """
                {"model": "claude-sonnet-4-5-20250929", "max_tokens": 1024, "stream": %s,
                 "system": [{"type": "text", "text": "You answer briefly.", "cache_control": {"type": "ephemeral"}}],
                 "messages": [{"role": "user", "content": "Hello, Claude"}]}
                """.formatted(stream);
    }

    @Override
    protected String jsonBody() {
        return """
                {
                  "id": "msg_013Zva2CMHLNnXjNJJKqJ2EF",
                  "type": "message",
                  "role": "assistant",
                  "model": "claude-sonnet-4-5-20250929",
                  "content": [{"type": "text", "text": "Hi! My name is Claude."}],
                  "stop_reason": "end_turn",
                  "stop_sequence": null,
                  "usage": {
                    "input_tokens": 21,
                    "cache_creation_input_tokens": 188,
                    "cache_read_input_tokens": 2048,
                    "cache_creation": {"ephemeral_5m_input_tokens": 188, "ephemeral_1h_input_tokens": 0},
                    "output_tokens": 12,
                    "service_tier": "standard"
                  }
                }
                """;
    }

    @Override
    protected Expected json() {
        // 21 × 3000 + 188 written × 3750 + 2048 read × 300 + 12 × 15000 nano-USD
        return new Expected(new TokenUsage(21 + 188 + 2048, 2048, 188, 12, 0), "Hi! My name is Claude.", "stop",
                63_000 + 705_000 + 614_400 + 180_000);
    }

    @Override
    protected List<String> sseEvents() {
        return List.of(
                event("message_start", """
                        {"type": "message_start", "message": {"id": "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY",
                         "type": "message", "role": "assistant", "content": [], "model": "claude-sonnet-4-5-20250929",
                         "stop_reason": null, "stop_sequence": null,
                         "usage": {"input_tokens": 25, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 1800,
                                   "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
                                   "output_tokens": 1, "service_tier": "standard"}}}
                        """),
                event("content_block_start", """
                        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
                        """),
                event("ping", """
                        {"type": "ping"}
                        """),
                event("content_block_delta", """
                        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}}
                        """),
                event("content_block_delta", """
                        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "!"}}
                        """),
                event("content_block_stop", """
                        {"type": "content_block_stop", "index": 0}
                        """),
                event("message_delta", """
                        {"type": "message_delta", "delta": {"stop_reason": "max_tokens", "stop_sequence": null},
                         "usage": {"output_tokens": 15}}
                        """),
                event("message_stop", """
                        {"type": "message_stop"}
                        """));
    }

    @Override
    protected Expected stream() {
        // 25 × 3000 + 1800 read × 300 + 15 × 15000
        return new Expected(new TokenUsage(25 + 1800, 1800, 0, 15, 0), "Hello!", "length", 75_000 + 540_000 + 225_000);
    }

    @Override
    protected ModelPrice price() {
        // Claude Sonnet 4.5: $3 in, $15 out, $0.30 cache read, $3.75 cache write (5 min) per Mtok
        return new ModelPrice(3_000_000_000L, 15_000_000_000L, 300_000_000L, 3_750_000_000L, 15_000_000_000L, 64_000);
    }
}
