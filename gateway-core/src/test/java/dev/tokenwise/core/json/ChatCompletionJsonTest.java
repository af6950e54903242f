package dev.tokenwise.core.json;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenwise.core.model.TokenUsage;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The one writer of OpenAI chat completion shapes: exact bytes, field for field in OpenAI's order. */
class ChatCompletionJsonTest {

    private static String text(ObjectNode node) {
        return new String(ChatCompletionJson.bytes(node), StandardCharsets.UTF_8);
    }

    @Test
    void writesUsageWithAllInputAndOutputAndTheirCachedAndReasoningParts() {
        assertEquals("{\"prompt_tokens\":2112,\"completion_tokens\":40,\"total_tokens\":2152,"
                + "\"prompt_tokens_details\":{\"cached_tokens\":2000},\"completion_tokens_details\":{\"reasoning_tokens\":7}}",
                text(ChatCompletionJson.usage(new TokenUsage(2112, 2000, 100, 40, 7))));
    }

    @Test
    void writesACompletionWithEveryFieldStrictClientsExpectInOpenAisOrder() {
        ObjectNode completion = ChatCompletionJson.completion("chatcmpl-1", 1700000000L, "gpt-4o-mini",
                ChatCompletionJson.assistantMessage("Hi"), "stop", ChatCompletionJson.usage(TokenUsage.of(3, 1)));
        assertEquals("{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1700000000,\"model\":\"gpt-4o-mini\","
                + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hi\",\"refusal\":null},"
                + "\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,"
                + "\"total_tokens\":4,\"prompt_tokens_details\":{\"cached_tokens\":0},"
                + "\"completion_tokens_details\":{\"reasoning_tokens\":0}}}", text(completion));
    }

    @Test
    void leavesUsageOutOfACompletionWhenThereIsNoneAndWritesANullContent() {
        assertEquals("{\"id\":\"a\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,"
                + "\"message\":{\"role\":\"assistant\",\"content\":null,\"refusal\":null},\"logprobs\":null,"
                + "\"finish_reason\":\"tool_calls\"}]}",
                text(ChatCompletionJson.completion("a", 1, "m", ChatCompletionJson.assistantMessage(null), "tool_calls", null)));
    }

    @Test
    void writesChunkHeadsWithOptionalTierAndFingerprintAndChoicesThatCarryADelta() {
        ObjectNode plain = ChatCompletionJson.chunk("c", 5, "m", null, null);
        ChatCompletionJson.choice(plain, 0, ChatCompletionJson.contentDelta("Hi"), null);
        assertEquals("{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":5,\"model\":\"m\",\"choices\":[{\"index\":0,"
                + "\"delta\":{\"content\":\"Hi\"},\"logprobs\":null,\"finish_reason\":null}]}", text(plain));

        ObjectNode full = ChatCompletionJson.chunk("c", 5, "m", "default", "fp_1");
        ChatCompletionJson.choice(full, 2, ChatCompletionJson.roleDelta(), "stop");
        assertEquals("{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":5,\"model\":\"m\",\"service_tier\":\"default\","
                + "\"system_fingerprint\":\"fp_1\",\"choices\":[{\"index\":2,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
                + "\"logprobs\":null,\"finish_reason\":\"stop\"}]}", text(full));
    }

    @Test
    void writesTheUsageChunkWithEmptyChoices() {
        ObjectNode chunk = ChatCompletionJson.chunk("c", 5, "m", null, null);
        chunk.set("usage", ChatCompletionJson.usage(TokenUsage.of(1, 1)));
        assertEquals("{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":5,\"model\":\"m\",\"choices\":[],"
                + "\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1,\"total_tokens\":2,"
                + "\"prompt_tokens_details\":{\"cached_tokens\":0},\"completion_tokens_details\":{\"reasoning_tokens\":0}}}",
                text(chunk));
    }

    @Test
    void writesErrorsWithNullParamAndCodeWhenAbsent() {
        assertEquals("{\"error\":{\"message\":\"no\",\"type\":\"server_error\",\"param\":null,\"code\":null}}",
                text(ChatCompletionJson.error("no", "server_error", null, null)));
        assertEquals("{\"error\":{\"message\":\"no\",\"type\":\"invalid_request_error\",\"param\":\"model\",\"code\":\"x\"}}",
                text(ChatCompletionJson.error("no", "invalid_request_error", "model", "x")));
    }

    @Test
    void framesServerSentEventsAndTheDoneMarker() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ChatCompletionJson.writeEvent(out, ChatCompletionJson.contentDelta("x"));
        out.writeBytes(ChatCompletionJson.DONE_EVENT);
        assertEquals("data: {\"content\":\"x\"}\n\ndata: [DONE]\n\n", out.toString(StandardCharsets.UTF_8));
    }
}
