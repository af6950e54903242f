package dev.tokenwise.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.NotFoundException;
import com.openai.errors.UnauthorizedException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import com.openai.models.models.Model;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.testing.LeakDetectingExtension;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The official OpenAI Java SDK, pointed at the gateway by its base URL, works unchanged. */
@ExtendWith(LeakDetectingExtension.class)
class OpenAiSdkEndToEndTest {
    static TestGateway gateway;
    static OpenAIClient client;

    @BeforeAll
    static void start() throws Exception {
        gateway = TestGateway.withSimulator();
        client = sdk("tw-test-key");
    }

    static OpenAIClient sdk(String key) {
        return OpenAIOkHttpClient.builder()
                .baseUrl("http://127.0.0.1:" + gateway.app.port() + "/v1")
                .apiKey(key)
                .maxRetries(0)
                .build();
    }

    @AfterAll
    static void stop() {
        client.close();
        gateway.close();
    }

    private static ChatCompletionCreateParams chat(String text) {
        return ChatCompletionCreateParams.builder()
                .model("sim-small")
                .addSystemMessage("You are a terse assistant.")
                .addUserMessage(text)
                .maxCompletionTokens(40)
                .build();
    }

    @Test
    void completesAChatAndTheRecordAgreesWithTheReportedUsage() throws Exception {
        ChatCompletion completion = client.chat().completions().create(chat("What does a gateway do?"));

        String text = completion.choices().get(0).message().content().orElseThrow();
        assertFalse(text.isBlank());
        long promptTokens = completion.usage().orElseThrow().promptTokens();
        long completionTokens = completion.usage().orElseThrow().completionTokens();

        UsageRecord record = gateway.awaitRecord(r -> r.usage().outputTokens() == completionTokens
                && r.usage().inputTokens() == promptTokens && !r.stream());
        assertEquals("demo", record.team());
        assertEquals(promptTokens, record.localInputTokens(), "local count equals the provider's prompt_tokens");
        assertEquals(completionTokens, record.localOutputTokens());
        // sim-small is priced at $0.15 / $0.60 per Mtok in config/prices.yaml
        assertEquals(promptTokens * 150 + completionTokens * 600, record.costNanos());
    }

    @Test
    void streamsAChatChunkByChunk() throws Exception {
        StringBuilder text = new StringBuilder();
        int chunks = 0;
        boolean sawUsage = false;
        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(chat("Stream please"))) {
            for (ChatCompletionChunk chunk : (Iterable<ChatCompletionChunk>) stream.stream()::iterator) {
                chunks++;
                sawUsage |= chunk.usage().isPresent();
                chunk.choices().forEach(c -> c.delta().content().ifPresent(text::append));
            }
        }
        assertTrue(chunks > 3, "several chunks, got " + chunks);
        assertFalse(text.toString().isBlank());
        assertFalse(sawUsage, "the usage chunk the gateway asked for is not shown to a client that did not ask");

        ChatCompletion same = client.chat().completions().create(chat("Stream please"));
        assertEquals(same.choices().get(0).message().content().orElseThrow(), text.toString(),
                "the simulator is deterministic: the stream carries the same text as the plain answer");
    }

    @Test
    void streamsUsageWhenTheClientAsksForIt() {
        ChatCompletionCreateParams params = chat("Usage too").toBuilder()
                .streamOptions(com.openai.models.chat.completions.ChatCompletionStreamOptions.builder()
                        .includeUsage(true).build())
                .build();
        boolean sawUsage = false;
        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(params)) {
            for (ChatCompletionChunk chunk : (Iterable<ChatCompletionChunk>) stream.stream()::iterator) {
                sawUsage |= chunk.usage().isPresent();
            }
        }
        assertTrue(sawUsage);
    }

    @Test
    void createsEmbeddings() {
        CreateEmbeddingResponse response = client.embeddings().create(EmbeddingCreateParams.builder()
                .model("sim-embed")
                .input("The food was delicious and the waiter was friendly.")
                .build());
        assertEquals(1, response.data().size());
        assertFalse(response.data().get(0).embedding().isEmpty());
        assertTrue(response.usage().promptTokens() > 0);
    }

    @Test
    void listsTheModelsItServesMarkedAsSimulated() throws Exception {
        List<String> ids = client.models().list().data().stream().map(Model::id).collect(Collectors.toList());
        assertEquals(List.of("sim-small", "sim-embed"), ids);
        JsonNode raw = TestGateway.json(gateway.get("/v1/models", "tw-test-key").body());
        assertEquals("tokenwise-simulator", raw.at("/data/0/owned_by").asText());
        assertTrue(raw.at("/data/0/simulated").asBoolean());
    }

    @Test
    void retrievesAModelItServesAndAnswers404InOpenAisShapeForOneItDoesNot() throws Exception {
        Model model = client.models().retrieve("sim-embed");
        assertEquals("sim-embed", model.id());
        assertEquals("tokenwise-simulator", model.ownedBy());

        NotFoundException missing = assertThrows(NotFoundException.class, () -> client.models().retrieve("gpt-nope"));
        assertTrue(missing.getMessage().contains("gpt-nope"), missing.getMessage());
        JsonNode raw = TestGateway.json(gateway.get("/v1/models/gpt-nope", "tw-test-key").body());
        assertEquals("model_not_found", raw.at("/error/code").asText(), raw.toString());
    }

    @Test
    void surfacesGatewayErrorsAsTheSdksOwnExceptions() {
        OpenAIClient wrongKey = sdk("tw-not-a-key");
        try {
            assertThrows(UnauthorizedException.class, () -> wrongKey.chat().completions().create(chat("hi")));
        } finally {
            wrongKey.close();
        }
        NotFoundException unknown = assertThrows(NotFoundException.class, () -> client.chat().completions()
                .create(chat("hi").toBuilder().model("gpt-9-imaginary").build()));
        assertTrue(unknown.getMessage().contains("gpt-9-imaginary"), unknown.getMessage());
    }
}
