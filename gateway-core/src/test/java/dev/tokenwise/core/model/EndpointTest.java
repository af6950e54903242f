package dev.tokenwise.core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class EndpointTest {

    @Test
    void routesAnthropicsTokenCountAndGeminisEmbeddingAndCountingPaths() {
        assertEquals(Endpoint.MESSAGES_COUNT_TOKENS, Endpoint.ofPath("/v1/messages/count_tokens"));
        assertEquals(Endpoint.GEMINI_EMBED, Endpoint.ofPath("/v1beta/models/gemini-embedding-001:embedContent"));
        assertEquals(Endpoint.GEMINI_BATCH_EMBED,
                Endpoint.ofPath("/v1beta/models/gemini-embedding-001:batchEmbedContents"));
        assertEquals(Endpoint.GEMINI_COUNT_TOKENS, Endpoint.ofPath("/v1beta/models/gemini-2.5-flash:countTokens"));
        assertEquals("gemini-embedding-001",
                Endpoint.GEMINI_BATCH_EMBED.modelOf("/v1beta/models/gemini-embedding-001:batchEmbedContents"));
        assertNull(Endpoint.ofPath("/v1beta/models/gemini-2.5-flash:predict"));
    }

    @Test
    void billsEveryEndpointButTheTokenCounts() {
        assertFalse(Endpoint.MESSAGES_COUNT_TOKENS.billed());
        assertFalse(Endpoint.GEMINI_COUNT_TOKENS.billed());
        assertTrue(Endpoint.GEMINI_BATCH_EMBED.billed());
        assertTrue(Endpoint.MESSAGES.billed());
        assertTrue(Endpoint.GEMINI_COUNT_TOKENS.modelInPath());
        assertFalse(Endpoint.MESSAGES_COUNT_TOKENS.modelInPath());
    }
}
