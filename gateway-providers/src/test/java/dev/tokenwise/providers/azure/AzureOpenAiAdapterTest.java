package dev.tokenwise.providers.azure;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.spi.ProviderAdapter;
import dev.tokenwise.core.spi.ResponseObserver;
import dev.tokenwise.core.testing.LeakDetectingExtension;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(LeakDetectingExtension.class)
class AzureOpenAiAdapterTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void buildsDeploymentPathsForChatAndEmbeddings() {
        AzureOpenAiAdapter adapter = new AzureOpenAiAdapter("k", "2024-10-21");

        assertEquals("/openai/deployments/text-embedding-3-small/embeddings?api-version=2024-10-21",
                adapter.upstreamPath(Endpoint.EMBEDDINGS, "text-embedding-3-small"));
        assertEquals("/openai/deployments/my%20gpt%2F4o/chat/completions?api-version=2025-04-01-preview",
                new AzureOpenAiAdapter("k", "2025-04-01-preview").upstreamPath(Endpoint.CHAT_COMPLETIONS, "my gpt/4o"));
        assertFalse(adapter.supports(Endpoint.RESPONSES));
        assertFalse(adapter.supports(Endpoint.MESSAGES));
    }

    @Test
    void sendsTheKeyAsApiKeyHeaderNotBearer() {
        HttpHeaders headers = new DefaultHttpHeaders();
        new AzureOpenAiAdapter("azure-key", "2024-10-21").authorize(headers);

        assertEquals("azure-key", headers.get("api-key"));
        assertFalse(headers.contains("authorization"));
    }

    @Test
    void asksForStreamUsageOnlyFromVersionsThatAcceptIt() throws Exception {
        assertTrue(AzureOpenAiAdapter.acceptsStreamOptions("2024-10-21"));
        assertTrue(AzureOpenAiAdapter.acceptsStreamOptions("2024-08-01-preview"));
        assertTrue(AzureOpenAiAdapter.acceptsStreamOptions("preview"));
        assertFalse(AzureOpenAiAdapter.acceptsStreamOptions("2024-06-01"));
        assertFalse(AzureOpenAiAdapter.acceptsStreamOptions("2023-05-15"));

        ObjectNode old = body(true);
        assertSame(ProviderAdapter.Rewrite.UNCHANGED,
                new AzureOpenAiAdapter("k", "2024-06-01").rewrite(Endpoint.CHAT_COMPLETIONS, old, "gpt-4o-prod", true));

        ObjectNode current = body(true);
        ProviderAdapter.Rewrite rewrite = new AzureOpenAiAdapter("k", "2024-10-21")
                .rewrite(Endpoint.CHAT_COMPLETIONS, current, "gpt-4o-prod", true);
        assertTrue(rewrite.usageEventInjected());
        assertEquals("gpt-4o", current.get("model").asText(), "the deployment is in the path, the body keeps its model");
        assertTrue(current.at("/stream_options/include_usage").asBoolean());
    }

    @Test
    void dropsTheInjectedUsageChunkButCountsIt() throws Exception {
        AzureOpenAiAdapter adapter = new AzureOpenAiAdapter("k", "2024-10-21");
        ProviderAdapter.Rewrite rewrite = adapter.rewrite(Endpoint.CHAT_COMPLETIONS, body(true), "gpt-4o-prod", true);
        ResponseObserver observer = adapter.observer(Endpoint.CHAT_COMPLETIONS, true, rewrite);

        assertTrue(onEvent(observer, "data: {\"choices\":[],\"created\":0,\"id\":\"\",\"model\":\"\",\"object\":\"\","
                + "\"prompt_filter_results\":[{\"prompt_index\":0,\"content_filter_results\":{}}]}\n\n"),
                "Azure's content filter chunk is not a usage chunk");
        assertFalse(onEvent(observer, "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2,"
                + "\"total_tokens\":11}}\n\n"));
        assertEquals(11, observer.usage().inputTokens() + observer.usage().outputTokens());
    }

    @Test
    void refusesABlankApiVersion() {
        assertThrows(IllegalArgumentException.class, () -> new AzureOpenAiAdapter("k", " "));
    }

    private static ObjectNode body(boolean stream) throws Exception {
        return (ObjectNode) JSON.readTree("{\"model\":\"gpt-4o\",\"stream\":" + stream
                + ",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}");
    }

    private static boolean onEvent(ResponseObserver observer, String event) {
        ByteBuf buf = Unpooled.copiedBuffer(event, StandardCharsets.UTF_8);
        try {
            return observer.onEvent(buf);
        } finally {
            buf.release();
        }
    }
}
