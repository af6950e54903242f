package dev.tokenwise.providers.openai;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenwise.core.model.TokenUsage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

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

    private static ByteBuf completion(String usage) {
        return Unpooled.copiedBuffer("{\"id\":\"c1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,"
                + "\"message\":{\"role\":\"assistant\",\"content\":\"hi\"},\"finish_reason\":\"stop\"}],\"usage\":"
                + usage + "}", StandardCharsets.UTF_8);
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "{\"prompt_tokens\": 19, \"completion_tokens\": 10, \"total_tokens\": 29, \"prompt_tokens_details\":"
                    + " {\"cached_tokens\": 0, \"audio_tokens\": 0}, \"completion_tokens_details\": {\"reasoning_tokens\": 4,"
                    + " \"audio_tokens\": 0, \"accepted_prediction_tokens\": 0, \"rejected_prediction_tokens\": 0}}",
            "{\"input_tokens\": 30, \"output_tokens\": 7, \"input_tokens_details\": {\"cached_tokens\": 12},"
                    + " \"output_tokens_details\": {\"reasoning_tokens\": 3}}",
            "{\"prompt_tokens\": null, \"input_tokens\": 30, \"completion_tokens\": null, \"output_tokens\": null}",
            "{\"completion_tokens\": 5, \"prompt_cache_hit_tokens\": 128, \"prompt_cache_miss_tokens\": 72}",
            "{\"completion_tokens\": 5, \"prompt_cache_hit_tokens\": null}",
            "{\"prompt_tokens\": 0, \"prompt_cache_miss_tokens\": 9}",
            "{\"prompt_tokens\": 50, \"prompt_tokens_details\": null, \"completion_tokens_details\": [1, 2]}",
            "{\"prompt_tokens\": 50, \"prompt_tokens_details\": {\"cached_tokens\": 40}, \"prompt_tokens_details\": {}}",
            "{\"prompt_tokens\": 50, \"prompt_tokens\": 60, \"prompt_tokens_details\": {\"cached_tokens\": null}}",
            "{\"total_tokens\": {\"deep\": [1, {\"prompt_tokens\": 99}]}, \"prompt_tokens\": 3}",
            "{}"})
    void readsTheSameUsageInOnePassAsFromATree(String usage) throws Exception {
        ChatCompletionScanner scanner = new ChatCompletionScanner();
        ByteBuf body = completion(usage);
        try {
            assertTrue(scanner.scan(body, false, new StringBuilder()), "read in one pass: " + usage);
            assertEquals(usage(usage), scanner.usage, usage);
        } finally {
            body.release();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "{\"prompt_tokens\": \"12\", \"input_tokens\": 30}",
            "{\"prompt_tokens\": 12.7, \"completion_tokens\": 3}",
            "{\"prompt_tokens\": 12.0, \"completion_tokens\": 3}",
            "{\"prompt_tokens\": 12, \"prompt_cache_hit_tokens\": \"8\"}",
            "{\"prompt_tokens\": 12, \"prompt_tokens_details\": {\"cached_tokens\": true}}",
            "{\"prompt_tokens\": 99999999999999999999, \"completion_tokens\": 3}",
            "{\"prompt_tokens\": -9223372036854775808}",
            "{\"prompt_tokens\": -5, \"completion_tokens\": 9}",
            "{\"prompt_tokens\": 5, \"completion_tokens\": 9, \"completion_tokens_details\": {\"reasoning_tokens\": -1}}",
            "{\"prompt_tokens\": 5, \"completion_tokens\": 9223372036854775807}",
            "{\"prompt_tokens\": 1000000001, \"completion_tokens\": 9}",
            "{\"input_tokens\": 5, \"output_tokens\": 9, \"input_tokens_details\": {\"cached_tokens\": \"2\"}}"})
    void rejectsUsageWithATokenCountThatIsNotABelievableInteger(String usage) throws Exception {
        ByteBuf body = completion(usage);
        try {
            assertFalse(new ChatCompletionScanner().scan(body, false, new StringBuilder()), "left to the tree: " + usage);
            assertNull(usage(usage), usage);
            OpenAiResponseObserver observer = new OpenAiResponseObserver(false);
            observer.onBody(body);
            assertNull(observer.usage(), usage);
            assertTrue(observer.usageRejected(), usage);
            assertEquals("hi", observer.outputText(), "the rest of the answer is still read");
        } finally {
            body.release();
        }
    }

    @Test
    void keepsAStreamsUsageRejectedOnceAnyReportOfItWasImpossible() {
        OpenAiResponseObserver observer = new OpenAiResponseObserver(false);
        ByteBuf bad = Unpooled.copiedBuffer("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":-1,\"completion_tokens\":2}}\n\n",
                StandardCharsets.UTF_8);
        ByteBuf good = Unpooled.copiedBuffer("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}\n\n",
                StandardCharsets.UTF_8);
        try {
            observer.onEvent(bad);
            observer.onEvent(good);
            assertNull(observer.usage());
            assertTrue(observer.usageRejected());
        } finally {
            bad.release();
            good.release();
        }
    }

    @Test
    void believesTheLargestPlausibleCount() throws Exception {
        assertEquals(TokenUsage.of(TokenUsage.MAX_PLAUSIBLE_TOKENS, 0), usage("{\"prompt_tokens\": 1000000000, \"completion_tokens\": 0}"));
    }

    /** OpenAI's Predicted Outputs guide: rejected prediction tokens are billed as completion tokens. */
    @Test
    void readsRejectedPredictionTokensOfABodyAndOfAStream() {
        String usage = "{\"prompt_tokens\": 100, \"completion_tokens\": 40, \"completion_tokens_details\":"
                + " {\"reasoning_tokens\": 0, \"accepted_prediction_tokens\": 18, \"rejected_prediction_tokens\": 12}}";
        ByteBuf body = completion(usage);
        ByteBuf chunk = Unpooled.copiedBuffer("data: {\"choices\":[],\"usage\":" + usage + "}\n\n", StandardCharsets.UTF_8);
        ByteBuf none = completion("{\"prompt_tokens\": 100, \"completion_tokens\": 40, \"completion_tokens_details\":"
                + " {\"rejected_prediction_tokens\": 0}}");
        try {
            OpenAiResponseObserver observer = new OpenAiResponseObserver(false);
            observer.onBody(body);
            assertEquals(new TokenUsage(100, 0, 0, 40, 0), observer.usage());
            assertEquals(12, observer.rejectedPredictionTokens());
            assertEquals("hi", observer.outputText());

            OpenAiResponseObserver stream = new OpenAiResponseObserver(false);
            stream.onEvent(chunk);
            assertEquals(12, stream.rejectedPredictionTokens());

            OpenAiResponseObserver zero = new OpenAiResponseObserver(false);
            assertTrue(new ChatCompletionScanner().scan(none, false, new StringBuilder()), "no rejected tokens: one pass");
            zero.onBody(none);
            assertEquals(0, zero.rejectedPredictionTokens());
        } finally {
            body.release();
            chunk.release();
            none.release();
        }
    }
}
