package dev.tokenwise.providers.openai;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenwise.core.model.TokenUsage;
import org.junit.jupiter.api.Test;

class OpenAiUsageTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static TokenUsage usage(String json) throws Exception {
        return OpenAiResponseObserver.parseUsage(JSON.readTree(json));
    }

    @Test
    void readsDeepSeekCacheHitsAsCachedInput() throws Exception {
        assertEquals(new TokenUsage(1600, 1536, 0, 10, 0), usage("""
                {"prompt_tokens": 1600, "completion_tokens": 10, "total_tokens": 1610,
                 "prompt_cache_hit_tokens": 1536, "prompt_cache_miss_tokens": 64}"""));
    }

    @Test
    void addsDeepSeekHitsAndMissesWhenPromptTokensAreMissing() throws Exception {
        assertEquals(new TokenUsage(200, 128, 0, 5, 0), usage("""
                {"completion_tokens": 5, "prompt_cache_hit_tokens": 128, "prompt_cache_miss_tokens": 72}"""));
    }

    @Test
    void readsDeepSeekReasonerReasoningTokens() throws Exception {
        assertEquals(new TokenUsage(20, 0, 0, 300, 250), usage("""
                {"prompt_tokens": 20, "completion_tokens": 300, "total_tokens": 320,
                 "prompt_cache_hit_tokens": 0, "prompt_cache_miss_tokens": 20,
                 "completion_tokens_details": {"reasoning_tokens": 250}}"""));
    }

    @Test
    void neverCountsMoreCachedTokensThanInput() throws Exception {
        assertEquals(new TokenUsage(10, 10, 0, 1, 0), usage("""
                {"prompt_tokens": 10, "completion_tokens": 1, "prompt_cache_hit_tokens": 64}"""));
    }
}
