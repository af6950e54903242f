package dev.tokenwise.providers.anthropic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.spi.ProviderAdapter;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import org.junit.jupiter.api.Test;

class AnthropicAdapterTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void keepsTheAnthropicVersionTheClientSent() {
        HttpHeaders headers = new DefaultHttpHeaders()
                .set("anthropic-version", "2024-01-01")
                .set("anthropic-beta", "prompt-caching-2024-07-31");
        new AnthropicAdapter("sk-ant").authorize(headers);

        assertEquals("2024-01-01", headers.get("anthropic-version"));
        assertEquals("prompt-caching-2024-07-31", headers.get("anthropic-beta"));
        assertEquals("sk-ant", headers.get("x-api-key"));
    }

    @Test
    void sendsNoKeyWhenNoneIsConfigured() {
        HttpHeaders headers = new DefaultHttpHeaders();
        new AnthropicAdapter(null).authorize(headers);

        assertNull(headers.get("x-api-key"));
        assertNull(headers.get("authorization"));
        assertEquals(AnthropicAdapter.DEFAULT_API_VERSION, headers.get("anthropic-version"));
    }

    @Test
    void servesMessagesAndChatCompletionsByTranslationButNothingElse() {
        AnthropicAdapter adapter = new AnthropicAdapter("k");
        assertTrue(adapter.supports(Endpoint.MESSAGES));
        assertTrue(adapter.supports(Endpoint.CHAT_COMPLETIONS));
        assertEquals("/messages", adapter.upstreamPath(Endpoint.CHAT_COMPLETIONS, "claude-sonnet-4-5"));
        assertFalse(adapter.supports(Endpoint.EMBEDDINGS));
        assertFalse(adapter.supports(Endpoint.RESPONSES));
    }

    @Test
    void rewritesOnlyARenamedModelAndNeverTheStreamOptions() throws Exception {
        AnthropicAdapter adapter = new AnthropicAdapter("k");
        ObjectNode body = (ObjectNode) JSON.readTree("{\"model\":\"claude\",\"stream\":true,\"max_tokens\":10}");

        ProviderAdapter.Rewrite rewrite = adapter.rewrite(Endpoint.MESSAGES, body, "claude-sonnet-4-5-20250929", true);

        assertTrue(rewrite.bodyChanged());
        assertFalse(rewrite.usageEventInjected());
        assertEquals("{\"model\":\"claude-sonnet-4-5-20250929\",\"stream\":true,\"max_tokens\":10}", body.toString());
        assertSame(ProviderAdapter.Rewrite.UNCHANGED,
                adapter.rewrite(Endpoint.MESSAGES, body, "claude-sonnet-4-5-20250929", true));
    }
}
